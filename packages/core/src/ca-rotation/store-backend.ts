/**
 * `@certloop/core` StoreCaKeyBackend: CA keys kept in the secret store (files, Kubernetes Secrets), as bootstrap
 * keeps them.
 *
 * The CA in force lives where it always does (`relay-root-tls-secret`, `relay-tls-signing-secret`), so
 * `RelayServer` and `LocalCertificateAuthority` follow it unchanged. Every other CA of a rotation lives in a secret
 * of its own named after its slot (`relay-ca-rotation-<rotation id>-<purpose>`): the new CA from `create`, the
 * old one from `snapshot` (kept so that abort can put it back after activate). Each is created once, with
 * compare-and-swap on absence, so a resumed step finds what an interrupted one made. `destroy` deletes that secret.
 *
 * With a {@link CaKeySource} (`keys`, say a PKCS#11 token) the keys are made and kept there instead: every secret
 * holds certificates only (no `tls.key`), each key is found by its certificate's public key, a new CA's key is
 * named after its slot, and `destroy` also destroys the slot's key where it lives unless it is in force (the root
 * or signing secret's certificate certifies it). Without one, a managed CA secret with no `tls.key` (its key is held
 * elsewhere) is refused `no-key` by `current`, so a rotation never moves a CA key from a token into the store.
 */

import type { LocalCertificateAuthority } from '../ca/local-ca.js';
import { REVOCATION_KEYS } from '../ca/revocation.js';
import type { Clock } from '../clock/clock.js';
import { systemClock } from '../clock/clock.js';
import { CertloopError, isCertloopError, throwIfAborted } from '../errors.js';
import { authorityFromSecret } from '../relay/bootstrap.js';
import { DEFAULT_RELAY_SECRET_NAMES, type RelaySecretNames } from '../relay/layout.js';
import {
  isManagedSecret,
  managedAnnotations,
  readTlsMaterial,
  SECRET_KEYS,
  tlsSecretData,
} from '../secret/tls-layout.js';
import type { Secret, SecretInput, SecretStore } from '../store/types.js';
import { parseCertificate } from '../x509/certificate.js';
import type { CryptoEngine, ExternalPrivateKey } from '../x509/crypto-engine.js';
import { createCsr } from '../x509/csr.js';
import { inspectCertificate } from '../x509/inspect.js';
import { generateKeyPair } from '../x509/keys.js';
import { joinPemBundle, pemDecode, splitPemBundle } from '../x509/pem.js';
import { createSelfSignedCa } from '../x509/self-signed.js';
import { DEFAULT_CA_ROTATION_SECRET } from './options.js';
import { refuse } from './refusal.js';
import type {
  BackendCallOptions,
  CaHandle,
  CaKeyBackend,
  CaKeySource,
  CaSlot,
  CreateCaRequest,
  CrossSignRequest,
  InstallRequest,
} from './types.js';

export interface StoreCaKeyBackendOptions {
  readonly store: SecretStore;
  readonly names?: Partial<RelaySecretNames>;
  /** Prefix of the slot secrets (default `relay-ca-rotation`). */
  readonly slotPrefix?: string;
  readonly clock?: Clock;
  readonly engine?: CryptoEngine;
  /** Where CA keys are made and kept instead of the secrets (default: PEM keys in the secrets). */
  readonly keys?: CaKeySource;
}

/** Optional ability: the backend gives a `CertificateAuthority` for a CA it holds (used to re-issue leaves). */
export interface AuthorityBackend extends CaKeyBackend {
  authority(handle: CaHandle, options?: BackendCallOptions): Promise<LocalCertificateAuthority>;
}

export function isAuthorityBackend(backend: CaKeyBackend): backend is AuthorityBackend {
  return typeof (backend as Partial<AuthorityBackend>).authority === 'function';
}

const SLOT_ANNOTATION = 'certloop.io/ca-rotation-slot';
const decoder = new TextDecoder();
const encoder = new TextEncoder();
const MAX_ATTEMPTS = 8;
const CENTURY = 100 * 365 * 86_400;

export class StoreCaKeyBackend implements AuthorityBackend {
  readonly kind = 'store';
  readonly #store: SecretStore;
  readonly #names: RelaySecretNames;
  readonly #prefix: string;
  readonly #clock: Clock;
  readonly #engine: CryptoEngine | undefined;
  readonly #keys: CaKeySource | undefined;

  constructor(options: StoreCaKeyBackendOptions) {
    this.#store = options.store;
    this.#names = { ...DEFAULT_RELAY_SECRET_NAMES, ...options.names };
    this.#prefix = options.slotPrefix ?? DEFAULT_CA_ROTATION_SECRET;
    this.#clock = options.clock ?? systemClock;
    this.#engine = options.engine;
    this.#keys = options.keys;
  }

  #slotName(slotId: string): string {
    if (!/^[a-z0-9][a-z0-9-]{0,80}$/.test(slotId)) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'a slot id is lower-case alphanumerics and dashes');
    }
    return `${this.#prefix}-${slotId}`;
  }

  #liveName(slot: CaSlot): string {
    return slot === 'root' ? this.#names.root : this.#names.signing;
  }

  async current(slot: CaSlot, options: BackendCallOptions = {}): Promise<CaHandle | undefined> {
    const name = this.#liveName(slot);
    const secret = await this.#store.get(name, { signal: options.signal });
    if (!secret) return undefined;
    if (!isManagedSecret(secret)) {
      refuse('bring-your-own', `${name} is bring-your-own: certloop never writes it`, 'rotate it where it is issued');
    }
    if (!this.#keys && !readTlsMaterial(secret).privateKeyPem) {
      // its key is held elsewhere (a token): rotating it here would put the new CA's key in the store
      refuse(
        'no-key',
        `${name} holds no key: its key is held elsewhere`,
        'rotate with the key source where the keys are (keys: pkcs11CaKeySource(token), --key-store pkcs11)',
      );
    }
    return handleOf(secret, name);
  }

  async snapshot(slot: CaSlot, slotId: string, options: BackendCallOptions = {}): Promise<CaHandle> {
    const name = this.#slotName(slotId);
    return this.#once(name, slotId, options, async () => {
      const live = await this.current(slot, options);
      if (!live) throw new CertloopError('CERTLOOP_NOT_FOUND', `${this.#liveName(slot)} is missing`);
      const secret = await this.#store.get(this.#liveName(slot), { signal: options.signal });
      const m = readTlsMaterial(secret!);
      return this.#slotSecret(slotId, m.certificatePem!, m.privateKeyPem, m.trustBundlePem);
    });
  }

  async create(request: CreateCaRequest, options: BackendCallOptions = {}): Promise<CaHandle> {
    const name = this.#slotName(request.slotId);
    return this.#once(name, request.slotId, options, async () => {
      // a key source makes the key where it lives (named after the slot, so a resumed create finds it again)
      const external = this.#keys
        ? await this.#keys.create({ name, algorithm: request.keyAlgorithm }, options)
        : undefined;
      const key = external
        ? { signer: external, privateKeyPem: undefined }
        : await generateKeyPair({ algorithm: request.keyAlgorithm, engine: this.#engine }).then((k) => ({
            signer: k.privateKeyPem,
            privateKeyPem: k.privateKeyPem,
          }));
      if (!request.parent) {
        const ca = await createSelfSignedCa({
          privateKeyPem: key.signer,
          subject: { commonName: request.commonName },
          lifetimeSeconds: request.lifetimeSeconds,
          pathLength: request.pathLength ?? 1,
          clock: this.#clock,
          engine: this.#engine,
        });
        return this.#slotSecret(request.slotId, ca.certificatePem, key.privateKeyPem, ca.certificatePem);
      }
      const issued = await this.#certifyIntermediate(
        await this.authority(request.parent, options),
        key.signer,
        { commonName: request.commonName },
        request,
        options,
      );
      return this.#slotSecret(
        request.slotId,
        joinPemBundle([issued.certificatePem, issued.chainPem]),
        key.privateKeyPem,
        issued.trustBundlePem,
      );
    });
  }

  async crossSign(request: CrossSignRequest, options: BackendCallOptions = {}): Promise<string> {
    const name = this.#slotName(request.slotId);
    const handle = await this.#once(name, request.slotId, options, async () => {
      const subject = await this.#read(request.subject.keyRef, options);
      const subjectKey = await this.#keyOf(subject, options);
      const issued = await this.#certifyIntermediate(
        await this.authority(request.issuer, options),
        subjectKey,
        inspectCertificate(request.subject.certificatePem).subject as { commonName: string },
        request,
        options,
      );
      // a certificate only: the key stays in the subject's own slot
      return {
        type: 'Opaque',
        data: { [SECRET_KEYS.certificate]: encoder.encode(issued.certificatePem) },
        annotations: { ...managedAnnotations({ role: 'intermediate' }), [SLOT_ANNOTATION]: request.slotId },
      };
    });
    return handle.certificatePem;
  }

  async install(request: InstallRequest, options: BackendCallOptions = {}): Promise<void> {
    const name = this.#liveName(request.slot);
    let source = await this.#store.get(request.ca.keyRef, { signal: options.signal });
    if (!source) {
      // the slot was already removed (a resumed retire or abort): fine when the CA is already the one in force
      const live = await this.#store.get(name, { signal: options.signal });
      const liveCert = live ? readTlsMaterial(live).certificatePem : undefined;
      if (!live || !liveCert || !sameFirstCertificate(liveCert, request.ca.certificatePem)) {
        throw new CertloopError('CERTLOOP_NOT_FOUND', `the CA secret ${request.ca.keyRef} is missing`, {
          details: { name: request.ca.keyRef },
        });
      }
      source = live;
    }
    const privateKeyPem = readTlsMaterial(source).privateKeyPem;
    if (!privateKeyPem && !(this.#keys && (await this.#keys.find(spkiOf(request.ca.certificatePem), options)))) {
      refuse('no-key', `${request.ca.keyRef} holds no key`, 'the key was destroyed');
    }
    const certificatePem = joinPemBundle(
      [request.ca.certificatePem, request.ca.chainPem, request.extraChainPem ?? ''].filter((p) => p.trim()),
    );
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(options.signal);
      const live = await this.#store.get(name, { signal: options.signal });
      if (live && !isManagedSecret(live)) {
        refuse('bring-your-own', `${name} is bring-your-own: certloop never writes it`, 'rotate it where it is issued');
      }
      const m = live ? readTlsMaterial(live) : undefined;
      if (
        m &&
        m.privateKeyPem === privateKeyPem &&
        m.certificatePem === certificatePem &&
        m.trustBundlePem === request.trustBundlePem
      ) {
        return;
      }
      // the same key: the CA's revocations and CRL stay (held elsewhere, the key is compared by its public half)
      const sameKey = privateKeyPem
        ? m?.privateKeyPem === privateKeyPem
        : m?.certificatePem !== undefined && sameSpki(m.certificatePem, request.ca.certificatePem);
      const data: Record<string, Uint8Array> = {
        ...(sameKey ? (live?.data ?? {}) : keepOther(live)),
        ...tlsSecretData({ certificatePem, privateKeyPem, trustBundlePem: request.trustBundlePem }),
      };
      if (!privateKeyPem) delete data[SECRET_KEYS.privateKey];
      const leaf = inspectCertificate(request.ca.certificatePem);
      const input: SecretInput = {
        type: live?.type ?? 'kubernetes.io/tls',
        data,
        labels: live?.labels ?? {},
        annotations: {
          ...(live?.annotations ?? {}),
          ...managedAnnotations({
            role: request.slot === 'root' ? 'root' : 'intermediate',
            serialNumber: leaf.serialNumber,
            notAfter: leaf.notAfter,
          }),
        },
      };
      try {
        await this.#store.put(name, input, { expectedVersion: live?.version ?? null, signal: options.signal });
        return;
      } catch (err) {
        if (!isCertloopError(err, 'CERTLOOP_CONFLICT') || attempt >= MAX_ATTEMPTS) throw err;
      }
    }
  }

  async destroy(slotId: string, options: BackendCallOptions = {}): Promise<boolean> {
    // every slot secret is a copy or a staging place: the key in force lives in the root or signing secret
    const name = this.#slotName(slotId);
    let destroyed = false;
    if (this.#keys) {
      // the key where it lives first, then the secret that names it (so a resumed destroy still finds the key)
      const secret = await this.#store.get(name, { signal: options.signal });
      const certificatePem = secret ? readTlsMaterial(secret).certificatePem : undefined;
      if (secret && certificatePem && !readTlsMaterial(secret).privateKeyPem) {
        const spki = spkiOf(certificatePem);
        if (!(await this.#inForce(spki, options))) destroyed = await this.#keys.destroy(spki, options);
      }
    }
    return (await this.#store.delete(name, { signal: options.signal })) || destroyed;
  }

  /** True when the root or signing secret's certificate certifies the key whose public half is `spki`. */
  async #inForce(spki: Uint8Array, options: BackendCallOptions): Promise<boolean> {
    for (const slot of ['root', 'signing'] as const) {
      const live = await this.#store.get(this.#liveName(slot), { signal: options.signal });
      const pem = live ? readTlsMaterial(live).certificatePem : undefined;
      if (pem && Buffer.from(spkiOf(pem)).equals(spki)) return true;
    }
    return false;
  }

  /** The CA key of `secret`: its `tls.key`, or the key source's key for its certificate. */
  /** `issuer`'s intermediate certificate for `key` under `subject` (a CSR made with the key, signed as an intermediate). */
  async #certifyIntermediate(
    issuer: LocalCertificateAuthority,
    key: string | ExternalPrivateKey,
    subject: { commonName: string },
    request: { readonly lifetimeSeconds: number; readonly pathLength?: number },
    options: BackendCallOptions,
  ) {
    const { csrPem } = await createCsr({ privateKeyPem: key, subject, engine: this.#engine });
    return issuer.sign(
      {
        csrPem,
        profile: 'intermediate',
        lifetimeSeconds: request.lifetimeSeconds,
        pathLength: request.pathLength ?? 0,
      },
      options,
    );
  }

  async #keyOf(secret: Secret, options: BackendCallOptions): Promise<string | ExternalPrivateKey> {
    const m = readTlsMaterial(secret);
    if (m.privateKeyPem) return m.privateKeyPem;
    const key = m.certificatePem && this.#keys ? await this.#keys.find(spkiOf(m.certificatePem), options) : undefined;
    if (!key) {
      refuse(
        'no-key',
        `no key for the CA in ${secret.name}${this.#keys ? ` in ${this.#keys.description}` : ''}`,
        'the key was destroyed, or is held where certloop does not look',
      );
    }
    return key;
  }

  async authority(handle: CaHandle, options: BackendCallOptions = {}): Promise<LocalCertificateAuthority> {
    const secret = await this.#read(handle.keyRef, options);
    const key = this.#keys ? await this.#keyOf(secret, options) : undefined;
    return authorityFromSecret(secret, {
      ...(typeof key === 'object' ? { privateKey: key } : {}),
      clock: this.#clock,
      engine: this.#engine,
      policy: {
        beyondCaNotAfter: 'truncate',
        maxLifetimeSeconds: { intermediate: CENTURY, server: CENTURY, client: CENTURY, 'server+client': CENTURY },
      },
    });
  }

  async #read(name: string, options: BackendCallOptions): Promise<Secret> {
    const secret = await this.#store.get(name, { signal: options.signal });
    if (!secret)
      throw new CertloopError('CERTLOOP_NOT_FOUND', `the CA secret ${name} is missing`, { details: { name } });
    return secret;
  }

  #slotSecret(slotId: string, certificatePem: string, privateKeyPem: string | undefined, bundle?: string): SecretInput {
    const leaf = inspectCertificate(certificatePem);
    return {
      type: 'kubernetes.io/tls',
      data: tlsSecretData({ certificatePem, privateKeyPem, trustBundlePem: bundle }),
      annotations: {
        ...managedAnnotations({
          role: leaf.selfSigned ? 'root' : 'intermediate',
          serialNumber: leaf.serialNumber,
          notAfter: leaf.notAfter,
        }),
        [SLOT_ANNOTATION]: slotId,
      },
    };
  }

  /** The slot's secret: the one already there, or the one `make` builds, created with compare-and-swap on absence. */
  async #once(
    name: string,
    slotId: string,
    options: BackendCallOptions,
    make: () => Promise<SecretInput>,
  ): Promise<CaHandle> {
    throwIfAborted(options.signal);
    const found = await this.#store.get(name, { signal: options.signal });
    if (found) return handleOf(found, name);
    const input = await make();
    throwIfAborted(options.signal);
    try {
      return handleOf(await this.#store.put(name, input, { expectedVersion: null, signal: options.signal }), name);
    } catch (err) {
      if (!isCertloopError(err, 'CERTLOOP_CONFLICT')) throw err;
      const raced = await this.#read(name, options);
      if (raced.annotations[SLOT_ANNOTATION] !== slotId) throw err;
      return handleOf(raced, name);
    }
  }
}

/** A live secret's data minus what belonged to its old key (the CRL and the revocations of that CA). */
function keepOther(live: Secret | undefined): Record<string, Uint8Array> {
  if (!live) return {};
  const out: Record<string, Uint8Array> = { ...live.data };
  delete out[REVOCATION_KEYS.crl];
  delete out[REVOCATION_KEYS.revocations];
  return out;
}

/** The SubjectPublicKeyInfo (DER) of the first certificate of `pem`. */
function spkiOf(pem: string): Uint8Array {
  const [first] = splitPemBundle(pem);
  return parseCertificate(pemDecode(first ?? '', ['CERTIFICATE']).der).spkiDer;
}

function sameSpki(a: string, b: string): boolean {
  return Buffer.from(spkiOf(a)).equals(spkiOf(b));
}

function sameFirstCertificate(a: string, b: string): boolean {
  return inspectCertificate(a).fingerprintSha256 === inspectCertificate(b).fingerprintSha256;
}

function handleOf(secret: Secret, keyRef: string): CaHandle {
  const pem = secret.data[SECRET_KEYS.certificate];
  if (!pem || pem.length === 0) {
    throw new CertloopError('CERTLOOP_CREDENTIAL_INVALID', `secret ${secret.name} has no certificate`);
  }
  const [certificatePem, ...chain] = splitPemBundle(decoder.decode(pem));
  return { keyRef, certificatePem: certificatePem!, chainPem: joinPemBundle(chain) };
}
