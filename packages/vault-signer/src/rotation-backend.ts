/**
 * `@certloop/vault-signer` VaultCaRotationBackend: where a CA rotation (core's `ca-rotation/`) finds, creates,
 * switches and destroys CA keys when the CA lives in Vault. The keys never leave Vault: a new root is
 * `root/generate/internal` on the root mount, a new intermediate is generated on the signing mount and signed by a
 * root issuer, a cross-signed certificate is made with `intermediate/cross-sign`, "install" sets a mount's default
 * issuer (what `{mount}/sign/{role}` and so {@link VaultCertificateAuthority} sign with) and publishes the trust
 * bundle's roots in the signing mount, and "destroy" deletes issuers and then their keys.
 *
 * It implements core's `CaKeyBackend` contract (`@certloop/core` ca-rotation) with core's own request and handle
 * types: a `VaultCaRotationBackend` is passed where core takes a `CaKeyBackend`.
 *
 * Idempotence lives in Vault itself, so any replica resumes a rotation another one started: what `create` and
 * `crossSign` make is named after the slot id (issuer name and key name, unique per mount), and `snapshot` names the
 * key of the CA in force; a second call finds it by that name. Key refs are Vault paths: `<mount>/issuer/<issuer id>`.
 */
import { X509Certificate } from 'node:crypto';
import {
  type BackendCallOptions,
  type CaHandle,
  type CaKeyBackend,
  type CaSlot,
  CertloopError,
  type CreateCaRequest,
  type CrossSignRequest,
  type InstallRequest,
  splitPemBundle,
  throwIfAborted,
} from '@certloop/core';
import { type VaultIssuer, VaultPkiAdmin } from './admin.js';
import type { VaultSessionOptions } from './session.js';

/** The backend contract's types are core's (`@certloop/core` ca-rotation), re-exported from this package. */
export type { BackendCallOptions, CaHandle, CaSlot, CreateCaRequest, InstallRequest };
/** The request of `crossSign` (core's `CrossSignRequest`). */
export type CrossSignCaRequest = CrossSignRequest;

export interface VaultCaRotationBackendOptions extends VaultSessionOptions {
  /** The mount whose issuers are the roots (Vault's tutorial: `pki`). */
  readonly rootMount: string;
  /** The mount that signs leaves (`pki_int`): the signing intermediate is its default issuer. */
  readonly mount: string;
}

const trimSlashes = (s: string) => s.replace(/^\/+|\/+$/g, '');

function refused(refusal: 'no-key' | 'bring-your-own', message: string, hint: string): never {
  throw new CertloopError('CERTLOOP_CA_ROTATION_REFUSED', message, { details: { refusal, hint } });
}

/** `<mount>/issuer/<id>`, parsed. */
function parseKeyRef(keyRef: string): { mount: string; issuerId: string } {
  const at = keyRef.lastIndexOf('/issuer/');
  if (at <= 0) throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', `not a Vault issuer reference: ${keyRef}`);
  return { mount: keyRef.slice(0, at), issuerId: keyRef.slice(at + '/issuer/'.length) };
}

const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;

/**
 * Contract: core's `CaKeyBackend` (concurrency-safe, every call honours `signal`, `create`/`crossSign`/`snapshot`/
 * `install`/`destroy` idempotent). `current` refuses `no-key` for a slot whose default issuer has no key in Vault.
 */
export class VaultCaRotationBackend implements CaKeyBackend {
  readonly kind = 'vault';
  readonly #admin: VaultPkiAdmin;
  readonly #rootMount: string;
  readonly #mount: string;

  constructor(options: VaultCaRotationBackendOptions) {
    if (!options.rootMount || !options.mount) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'rootMount and mount are required');
    }
    this.#admin = new VaultPkiAdmin(options);
    this.#rootMount = trimSlashes(options.rootMount);
    this.#mount = trimSlashes(options.mount);
  }

  /** The primitives underneath, for what the rotation does not cover (listing, reading chains). */
  get admin(): VaultPkiAdmin {
    return this.#admin;
  }

  async current(slot: CaSlot, options: BackendCallOptions = {}): Promise<CaHandle | undefined> {
    const issuer = await this.#admin.defaultIssuer(this.#mountOf(slot), options);
    if (!issuer) return undefined;
    if (!issuer.keyId) {
      refused(
        'no-key',
        `the default issuer of ${issuer.mount} has no key in Vault`,
        'import or generate a keyed issuer',
      );
    }
    return handleOf(issuer);
  }

  async snapshot(slot: CaSlot, slotId: string, options: BackendCallOptions = {}): Promise<CaHandle> {
    const mount = this.#mountOf(slot);
    const keys = await this.#admin.listKeys(mount, options);
    const named = keys.find((k) => k.name === slotId);
    if (named) {
      const issuer = (await this.#admin.listIssuers(mount, options)).find((i) => i.keyId === named.id);
      if (issuer) return handleOf(await this.#admin.readIssuer(mount, issuer.id, options));
    }
    const current = await this.#admin.defaultIssuer(mount, options);
    if (!current?.keyId) refused('no-key', `${mount} has no keyed default issuer`, 'generate or import one');
    await this.#admin.nameKey(mount, current.keyId, slotId, options);
    return handleOf(current);
  }

  async create(request: CreateCaRequest, options: BackendCallOptions = {}): Promise<CaHandle> {
    throwIfAborted(options.signal);
    const mount = request.parent ? this.#mount : this.#rootMount;
    const existing = await this.#named(mount, request.slotId, options);
    if (existing) return handleOf(existing);
    if (!request.parent) {
      return handleOf(
        await this.#admin.generateRoot(
          {
            mount,
            commonName: request.commonName,
            ttlSeconds: request.lifetimeSeconds,
            keyAlgorithm: request.keyAlgorithm,
            issuerName: request.slotId,
            keyName: request.slotId,
            maxPathLength: request.pathLength ?? 1,
          },
          options,
        ),
      );
    }
    const parent = parseKeyRef(request.parent.keyRef);
    // an interrupted earlier call may have made the key (named after the slot) already: sign for that one
    const key = (await this.#admin.listKeys(mount, options)).find((k) => k.name === request.slotId);
    const keyed = key
      ? (await this.#admin.listIssuers(mount, options)).find((i) => i.keyId === key.id && i.name === '')
      : undefined;
    if (keyed) {
      await this.#admin.readIssuer(mount, keyed.id, options);
      return handleOf(await this.#rename(mount, keyed.id, request.slotId, options));
    }
    return handleOf(
      await this.#admin.generateIntermediate(
        {
          mount,
          parentMount: parent.mount,
          parentRef: parent.issuerId,
          commonName: request.commonName,
          ttlSeconds: request.lifetimeSeconds,
          keyAlgorithm: request.keyAlgorithm,
          ...(key ? { keyRef: key.id } : { keyName: request.slotId }),
          issuerName: request.slotId,
          maxPathLength: request.pathLength ?? 0,
        },
        options,
      ),
    );
  }

  async crossSign(request: CrossSignRequest, options: BackendCallOptions = {}): Promise<string> {
    const subject = parseKeyRef(request.subject.keyRef);
    const existing = await this.#named(subject.mount, request.slotId, options);
    if (existing) return `${existing.certificatePem}\n`;
    const issuer = await this.#admin.readIssuer(subject.mount, subject.issuerId, options);
    const signer = parseKeyRef(request.issuer.keyRef);
    const { certificatePem } = await this.#admin.crossSign(
      {
        mount: subject.mount,
        keyRef: issuer.keyId,
        signerMount: signer.mount,
        signerRef: signer.issuerId,
        ttlSeconds: request.lifetimeSeconds,
        maxPathLength: request.pathLength ?? 0,
        issuerName: request.slotId,
      },
      options,
    );
    return `${certificatePem}\n`;
  }

  async install(request: InstallRequest, options: BackendCallOptions = {}): Promise<void> {
    const { mount, issuerId } = parseKeyRef(request.ca.keyRef);
    const current = await this.#admin.defaultIssuer(mount, options);
    if (current?.id !== issuerId) await this.#admin.setDefaultIssuer(mount, issuerId, options);
    await this.#publishRoots(request.trustBundlePem, options);
  }

  async destroy(slotId: string, options: BackendCallOptions = {}): Promise<boolean> {
    let removed = false;
    for (const mount of new Set([this.#rootMount, this.#mount])) {
      const issuers = await this.#admin.listIssuers(mount, options);
      const keys = await this.#admin.listKeys(mount, options);
      const key = keys.find((k) => k.name === slotId);
      const inForce = issuers.find((i) => i.isDefault);
      for (const issuer of issuers) {
        const ours = issuer.name === slotId || (key !== undefined && issuer.keyId === key.id);
        if (!ours || issuer.isDefault) continue;
        // a twin of the CA in force (its cross-signed certificate) goes; the key in force stays
        await this.#admin.deleteIssuer(mount, issuer.id, options);
        removed = true;
      }
      if (key && inForce?.keyId !== key.id) {
        await this.#admin.deleteKey(mount, key.id, options);
        removed = true;
      }
    }
    return removed;
  }

  /**
   * Core's optional `TrustBundleBackend` capability: the roots published in the signing mount (what
   * {@link VaultCertificateAuthority} serves as its trust bundle), so a rotation publishes {A, B} there at prepare,
   * before anything is installed.
   */
  async publishTrustBundle(bundlePem: string, options: BackendCallOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    await this.#publishRoots(bundlePem, options);
  }

  /** The self-signed issuers of the signing mount, PEM, or `undefined` when it has none. */
  async readTrustBundle(options: BackendCallOptions = {}): Promise<string | undefined> {
    const roots: string[] = [];
    for (const summary of await this.#admin.listIssuers(this.#mount, options)) {
      const issuer = await this.#admin.readIssuer(this.#mount, summary.id, options);
      if (issuer.selfSigned) roots.push(`${issuer.certificatePem.trim()}\n`);
    }
    return roots.length > 0 ? roots.join('') : undefined;
  }

  settled(): Promise<void> {
    return this.#admin.settled();
  }

  close(): void {
    this.#admin.close();
  }

  #mountOf(slot: CaSlot): string {
    return slot === 'root' ? this.#rootMount : this.#mount;
  }

  async #named(mount: string, name: string, options: BackendCallOptions): Promise<VaultIssuer | undefined> {
    const found = (await this.#admin.listIssuers(mount, options)).find((i) => i.name === name);
    return found ? this.#admin.readIssuer(mount, found.id, options) : undefined;
  }

  async #rename(mount: string, issuerId: string, name: string, options: BackendCallOptions): Promise<VaultIssuer> {
    await this.#admin.nameIssuer(mount, issuerId, name, options);
    return this.#admin.readIssuer(mount, issuerId, options);
  }

  /**
   * The signing mount publishes exactly the bundle's roots as issuers: the missing ones are imported (keyless), and
   * keyless roots the bundle no longer holds are deleted (a keyed issuer is never touched). `VaultCertificateAuthority`
   * reads its trust bundle from there.
   */
  async #publishRoots(bundlePem: string, options: BackendCallOptions): Promise<void> {
    const wanted = new Map(
      splitPemBundle(bundlePem)
        .map((p) => p.trim())
        .filter((p) => {
          const c = new X509Certificate(p);
          return c.checkIssued(c) && c.verify(c.publicKey);
        })
        .map((p) => [fingerprintOf(p), p] as const),
    );
    if (wanted.size === 0) return;
    const present = new Set<string>();
    for (const summary of await this.#admin.listIssuers(this.#mount, options)) {
      const issuer = await this.#admin.readIssuer(this.#mount, summary.id, options);
      const fingerprint = fingerprintOf(issuer.certificatePem);
      if (!issuer.selfSigned) continue;
      if (wanted.has(fingerprint)) present.add(fingerprint);
      else if (!issuer.keyId) await this.#admin.deleteIssuer(this.#mount, issuer.id, options);
    }
    const missing = [...wanted].filter(([fp]) => !present.has(fp)).map(([, pem]) => pem);
    if (missing.length > 0) await this.#admin.importCertificates(this.#mount, missing.join('\n'), options);
  }
}

function handleOf(issuer: VaultIssuer): CaHandle {
  return {
    keyRef: `${issuer.mount}/issuer/${issuer.id}`,
    certificatePem: `${issuer.certificatePem}\n`,
    chainPem: issuer.caChain
      .slice(1)
      .map((p) => `${p}\n`)
      .join(''),
  };
}
