/**
 * `@certloop/vault-signer` VaultPkiAdmin: the small primitives a CA rotation needs on Vault's multi-issuer PKI API
 * (Vault 1.11+), the keys never leaving Vault: list and read issuers, generate a root issuer, generate an intermediate
 * issuer (a CSR on its mount, signed by an issuer of another mount, imported with `set-signed`), cross-sign a key
 * under another issuer, set the default issuer, name keys, and retire an issuer (delete it, then its key).
 *
 * Every answer is checked before it is returned: certificates parse, a new root is self-signed, an intermediate
 * carries the key of its CSR and verifies under the issuer that signed it, and the issuer Vault reports is the one
 * asked for. Anything else is `CERTLOOP_CA_RESPONSE_INVALID`. Needs a token whose policy grants the mounts' issuer,
 * key and config paths (see the README).
 */
import { X509Certificate } from 'node:crypto';
import { CertloopError, isCertloopError, type KeyAlgorithm, pemDecode, splitPemBundle } from '@certloop/core';
import type { VaultAnswer } from './client.js';
import { csrSpki } from './der-lite.js';
import { VaultSession, type VaultSessionOptions } from './session.js';

/** An issuer as `{mount}/issuer/{ref}` gives it. */
export interface VaultIssuer {
  readonly mount: string;
  readonly id: string;
  /** '' when unnamed. */
  readonly name: string;
  /** '' for a keyless issuer (e.g. a root imported beside its intermediate). */
  readonly keyId: string;
  /** PEM, trimmed. */
  readonly certificatePem: string;
  /** Vault's `ca_chain`: the issuer first, then the mount issuers above it (PEM each, trimmed). */
  readonly caChain: readonly string[];
  readonly selfSigned: boolean;
  readonly notAfter: Date;
  readonly usage: string;
}

/** One entry of `LIST {mount}/issuers`. */
export interface VaultIssuerSummary {
  readonly id: string;
  readonly name: string;
  readonly keyId: string;
  readonly isDefault: boolean;
  readonly serialNumber: string;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface GenerateRootRequest {
  readonly mount: string;
  readonly commonName: string;
  readonly ttlSeconds: number;
  readonly keyAlgorithm?: KeyAlgorithm;
  readonly issuerName?: string;
  readonly keyName?: string;
  readonly maxPathLength?: number;
}

export interface GenerateIntermediateRequest {
  /** The mount that keeps the new key and issuer. */
  readonly mount: string;
  /** The mount and issuer that sign it. */
  readonly parentMount: string;
  readonly parentRef: string;
  readonly commonName: string;
  readonly ttlSeconds: number;
  readonly keyAlgorithm?: KeyAlgorithm;
  /** Use this stored key (`intermediate/generate/existing`) instead of a new one. */
  readonly keyRef?: string;
  readonly issuerName?: string;
  /** Name of a new key. */
  readonly keyName?: string;
  readonly maxPathLength?: number;
}

export interface CrossSignRequest {
  /** The mount keeping the key to certify, and that key. */
  readonly mount: string;
  readonly keyRef: string;
  /** Subject of the new certificate (default: that of the issuer using the key). */
  readonly commonName?: string;
  /** The issuer that certifies it. */
  readonly signerMount: string;
  readonly signerRef: string;
  readonly ttlSeconds: number;
  readonly maxPathLength?: number;
  /** Import the cross-signed certificate into `mount` as an issuer (so Vault serves it in chains). Default true. */
  readonly import?: boolean;
  readonly issuerName?: string;
}

const KEY_PARAMS: Record<KeyAlgorithm, { key_type: string; key_bits?: number }> = {
  'ECDSA-P256': { key_type: 'ec', key_bits: 256 },
  'ECDSA-P384': { key_type: 'ec', key_bits: 384 },
  'RSA-2048': { key_type: 'rsa', key_bits: 2048 },
  'RSA-3072': { key_type: 'rsa', key_bits: 3072 },
  'RSA-4096': { key_type: 'rsa', key_bits: 4096 },
  Ed25519: { key_type: 'ed25519' },
};

const trimSlashes = (s: string) => s.replace(/^\/+|\/+$/g, '');
const seg = (s: string) => encodeURIComponent(s);

function invalid(message: string, details?: Record<string, unknown>): never {
  throw new CertloopError('CERTLOOP_CA_RESPONSE_INVALID', message, details ? { details } : {});
}

function x509(pem: unknown, what: string): X509Certificate {
  if (typeof pem !== 'string' || !pem.includes('BEGIN CERTIFICATE')) invalid(`vault returned no ${what}`);
  try {
    return new X509Certificate(pem);
  } catch {
    invalid(`vault returned an unreadable ${what}`);
  }
}

const selfSigned = (cert: X509Certificate) => cert.checkIssued(cert) && cert.verify(cert.publicKey);
const dataOf = (answer: VaultAnswer) => (answer.data ?? {}) as Record<string, unknown>;

export class VaultPkiAdmin {
  readonly #session: VaultSession;

  constructor(options: VaultSessionOptions) {
    this.#session = new VaultSession(options);
  }

  /** `LIST {mount}/issuers`; empty when the mount has none. */
  async listIssuers(mount: string, options: CallOptions = {}): Promise<VaultIssuerSummary[]> {
    let answer: VaultAnswer;
    try {
      answer = await this.#session.list(`${trimSlashes(mount)}/issuers`, options.signal);
    } catch (err) {
      if (isCertloopError(err, 'CERTLOOP_NOT_FOUND')) return [];
      throw err;
    }
    const data = dataOf(answer) as { keys?: unknown; key_info?: Record<string, Record<string, unknown>> };
    if (!Array.isArray(data.keys)) invalid('vault listed no issuer ids');
    return data.keys.map((id) => {
      const info = data.key_info?.[String(id)] ?? {};
      return {
        id: String(id),
        name: String(info.issuer_name ?? ''),
        keyId: String(info.key_id ?? ''),
        isDefault: info.is_default === true,
        serialNumber: String(info.serial_number ?? ''),
      };
    });
  }

  /** `GET {mount}/issuer/{ref}` (`default`, an id or a name); `CERTLOOP_NOT_FOUND` when there is none. */
  async readIssuer(mount: string, ref: string, options: CallOptions = {}): Promise<VaultIssuer> {
    const m = trimSlashes(mount);
    const data = dataOf(await this.#session.read(`${m}/issuer/${seg(ref)}`, options.signal));
    const cert = x509(data.certificate, 'issuer certificate');
    const chain = Array.isArray(data.ca_chain) ? data.ca_chain.flatMap((p) => splitPemBundle(String(p))) : [];
    const caChain = chain.map((p) => p.trim());
    if (caChain.length === 0 || !new X509Certificate(caChain[0]!).raw.equals(cert.raw)) {
      invalid("vault's ca_chain does not start with the issuer", { mount: m, ref });
    }
    if (typeof data.issuer_id !== 'string' || !data.issuer_id) invalid('vault returned no issuer_id');
    if (ref !== 'default' && ref !== data.issuer_id && ref !== data.issuer_name) {
      invalid('vault returned another issuer than the one asked for', { ref, issuerId: data.issuer_id });
    }
    return {
      mount: m,
      id: data.issuer_id,
      name: String(data.issuer_name ?? ''),
      keyId: String(data.key_id ?? ''),
      certificatePem: String(data.certificate).trim(),
      caChain,
      selfSigned: selfSigned(cert),
      notAfter: new Date(cert.validTo),
      usage: String(data.usage ?? ''),
    };
  }

  /** The mount's default issuer, or undefined when none is configured. */
  async defaultIssuer(mount: string, options: CallOptions = {}): Promise<VaultIssuer | undefined> {
    try {
      return await this.readIssuer(mount, 'default', options);
    } catch (err) {
      if (isCertloopError(err, 'CERTLOOP_NOT_FOUND')) return undefined;
      throw err;
    }
  }

  /** `POST {mount}/root/generate/internal`: a new self-signed root issuer with a new key kept in Vault. */
  async generateRoot(request: GenerateRootRequest, options: CallOptions = {}): Promise<VaultIssuer> {
    const m = trimSlashes(request.mount);
    const data = dataOf(
      await this.#session.write(
        `${m}/root/generate/internal`,
        {
          common_name: request.commonName,
          ttl: `${Math.floor(request.ttlSeconds)}s`,
          ...KEY_PARAMS[request.keyAlgorithm ?? 'ECDSA-P256'],
          ...(request.issuerName ? { issuer_name: request.issuerName } : {}),
          ...(request.keyName ? { key_name: request.keyName } : {}),
          ...(request.maxPathLength === undefined ? {} : { max_path_length: request.maxPathLength }),
        },
        options.signal,
      ),
    );
    const cert = x509(data.certificate, 'root certificate');
    if (!selfSigned(cert)) invalid('the root vault generated is not self-signed');
    if (data.private_key !== undefined) invalid('vault returned a private key for an internal root');
    const issuer = await this.readIssuer(m, String(data.issuer_id ?? ''), options);
    if (!new X509Certificate(issuer.certificatePem).raw.equals(cert.raw)) invalid('vault stored another root');
    return issuer;
  }

  /**
   * A new intermediate issuer: a CSR on `mount` (new key, or `keyRef`), signed by `parentRef` on `parentMount`
   * (`format=pem_bundle`, so the signer's chain comes along), imported with `set-signed`, then named.
   */
  async generateIntermediate(request: GenerateIntermediateRequest, options: CallOptions = {}): Promise<VaultIssuer> {
    const m = trimSlashes(request.mount);
    const csrAnswer = dataOf(
      await this.#session.write(
        `${m}/intermediate/generate/${request.keyRef ? 'existing' : 'internal'}`,
        {
          common_name: request.commonName,
          ...(request.keyRef ? { key_ref: request.keyRef } : KEY_PARAMS[request.keyAlgorithm ?? 'ECDSA-P256']),
          ...(request.keyName && !request.keyRef ? { key_name: request.keyName } : {}),
        },
        options.signal,
      ),
    );
    const keyId = String(csrAnswer.key_id ?? '');
    const certificate = await this.#signCsr(
      request.parentMount,
      request.parentRef,
      String(csrAnswer.csr ?? ''),
      request.ttlSeconds,
      request.maxPathLength ?? 0,
      request.commonName,
      options,
    );
    const issuerId = await this.#importKeyed(m, certificate.bundle, keyId, options);
    if (request.issuerName) await this.nameIssuer(m, issuerId, request.issuerName, options);
    return this.readIssuer(m, issuerId, options);
  }

  /**
   * Certifies a stored key under another issuer (`intermediate/cross-sign` on `mount`, `sign-intermediate` by the
   * signer), and by default imports the certificate into `mount`, where Vault then serves it in the chains of the
   * issuers using that key. Gives the certificate (PEM) and the issuer id it was imported as.
   */
  async crossSign(
    request: CrossSignRequest,
    options: CallOptions = {},
  ): Promise<{ readonly certificatePem: string; readonly issuerId?: string }> {
    const m = trimSlashes(request.mount);
    const csrAnswer = dataOf(
      await this.#session.write(
        `${m}/intermediate/cross-sign`,
        { key_ref: request.keyRef, ...(request.commonName ? { common_name: request.commonName } : {}) },
        options.signal,
      ),
    );
    const keyId = String(csrAnswer.key_id ?? '');
    const signed = await this.#signCsr(
      request.signerMount,
      request.signerRef,
      String(csrAnswer.csr ?? ''),
      request.ttlSeconds,
      request.maxPathLength ?? 0,
      request.commonName,
      options,
    );
    if (request.import === false) return { certificatePem: signed.certificatePem };
    const issuerId = await this.#importKeyed(m, signed.certificatePem, keyId, options);
    if (request.issuerName) await this.nameIssuer(m, issuerId, request.issuerName, options);
    return { certificatePem: signed.certificatePem, issuerId };
  }

  /** `POST {mount}/config/issuers {default}`: what `{mount}/sign/{role}` now signs with. */
  async setDefaultIssuer(mount: string, ref: string, options: CallOptions = {}): Promise<void> {
    const data = dataOf(
      await this.#session.write(`${trimSlashes(mount)}/config/issuers`, { default: ref }, options.signal),
    );
    if (typeof data.default !== 'string' || !data.default) invalid('vault did not report the new default issuer');
  }

  /** Names a key (`POST {mount}/key/{ref} {key_name}`). */
  async nameKey(mount: string, keyRef: string, name: string, options: CallOptions = {}): Promise<void> {
    await this.#session.write(`${trimSlashes(mount)}/key/${seg(keyRef)}`, { key_name: name }, options.signal);
  }

  /** `LIST {mount}/keys`: ids with names. */
  async listKeys(
    mount: string,
    options: CallOptions = {},
  ): Promise<{ id: string; name: string; isDefault: boolean }[]> {
    let answer: VaultAnswer;
    try {
      answer = await this.#session.list(`${trimSlashes(mount)}/keys`, options.signal);
    } catch (err) {
      if (isCertloopError(err, 'CERTLOOP_NOT_FOUND')) return [];
      throw err;
    }
    const data = dataOf(answer) as { keys?: unknown; key_info?: Record<string, Record<string, unknown>> };
    if (!Array.isArray(data.keys)) invalid('vault listed no key ids');
    return data.keys.map((id) => ({
      id: String(id),
      name: String(data.key_info?.[String(id)]?.key_name ?? ''),
      isDefault: data.key_info?.[String(id)]?.is_default === true,
    }));
  }

  /** `DELETE {mount}/issuer/{ref}` (its key stays). Resolves Vault's warnings. */
  async deleteIssuer(mount: string, ref: string, options: CallOptions = {}): Promise<readonly string[]> {
    const answer = await this.#session.delete(`${trimSlashes(mount)}/issuer/${seg(ref)}`, options.signal);
    return answer.warnings ?? [];
  }

  /** `DELETE {mount}/key/{ref}`: Vault refuses (400) while an issuer uses the key. */
  async deleteKey(mount: string, keyRef: string, options: CallOptions = {}): Promise<void> {
    await this.#session.delete(`${trimSlashes(mount)}/key/${seg(keyRef)}`, options.signal);
  }

  /**
   * Retires an issuer: deletes it and every other issuer using its key (cross-signed twins), then the key itself, so
   * the key is gone from Vault. Refuses (`CERTLOOP_INVALID_ARGUMENT`) when one of them is the mount's default.
   */
  async retireIssuer(mount: string, ref: string, options: CallOptions = {}): Promise<void> {
    const m = trimSlashes(mount);
    const issuer = await this.readIssuer(m, ref, options);
    const all = await this.listIssuers(m, options);
    const users = all.filter((i) => i.id === issuer.id || (issuer.keyId !== '' && i.keyId === issuer.keyId));
    if (users.some((i) => i.isDefault)) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'the issuer (or one using its key) is the default', {
        details: { mount: m, issuerId: issuer.id },
      });
    }
    for (const user of users) await this.deleteIssuer(m, user.id, options);
    if (issuer.keyId) await this.deleteKey(m, issuer.keyId, options);
  }

  settled(): Promise<void> {
    return this.#session.settled();
  }

  close(): void {
    this.#session.close();
  }

  /** `issuer/{ref}/sign-intermediate` with `format=pem_bundle`, checked against the CSR and the signer. */
  async #signCsr(
    mount: string,
    ref: string,
    csr: string,
    ttlSeconds: number,
    maxPathLength: number,
    commonName: string | undefined,
    options: CallOptions,
  ): Promise<{ readonly certificatePem: string; readonly bundle: string }> {
    if (!csr.includes('CERTIFICATE REQUEST')) invalid('vault returned no CSR');
    const m = trimSlashes(mount);
    const signer = await this.readIssuer(m, ref, options);
    const data = dataOf(
      await this.#session.write(
        `${m}/issuer/${seg(signer.id)}/sign-intermediate`,
        {
          csr,
          ttl: `${Math.floor(ttlSeconds)}s`,
          max_path_length: maxPathLength,
          format: 'pem_bundle',
          ...(commonName ? { common_name: commonName } : {}),
        },
        options.signal,
      ),
    );
    const bundle = splitPemBundle(String(data.certificate ?? '')).map((p) => p.trim());
    const cert = x509(bundle[0], 'signed certificate');
    const csrKey = csrPublicKey(csr);
    if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(csrKey)) {
      invalid('the certificate vault signed is not for the CSR');
    }
    const signerCert = new X509Certificate(signer.certificatePem);
    if (!cert.checkIssued(signerCert) || !cert.verify(signerCert.publicKey)) {
      invalid('the certificate vault signed does not verify under the issuer asked for');
    }
    if (!cert.ca) invalid('the certificate vault signed is not a CA');
    return { certificatePem: bundle[0]!, bundle: bundle.join('\n') };
  }

  /** Imports `bundle` into `mount` and gives the issuer id of its first certificate, which must be keyed by `keyId`. */
  async #importKeyed(mount: string, bundle: string, keyId: string, options: CallOptions): Promise<string> {
    const data = dataOf(
      await this.#session.write(`${mount}/intermediate/set-signed`, { certificate: bundle }, options.signal),
    );
    const mapping = (data.mapping ?? {}) as Record<string, string>;
    const first = new X509Certificate(splitPemBundle(bundle)[0]!);
    for (const [issuerId, mappedKey] of Object.entries(mapping)) {
      if (mappedKey !== keyId) continue;
      const issuer = await this.readIssuer(mount, issuerId, options);
      if (new X509Certificate(issuer.certificatePem).raw.equals(first.raw)) return issuerId;
    }
    invalid('vault did not import the certificate against its key', { mount, keyId });
  }

  /**
   * Names an issuer. `POST {mount}/issuer/{ref}` rewrites every field: meant for issuers that hold Vault's defaults
   * (those this class creates), not for ones whose usage or chain was configured.
   */
  async nameIssuer(mount: string, issuerId: string, name: string, options: CallOptions = {}): Promise<void> {
    await this.#session.write(`${trimSlashes(mount)}/issuer/${seg(issuerId)}`, { issuer_name: name }, options.signal);
  }

  /** Imports CA certificates (`intermediate/set-signed`): each becomes an issuer, keyed when a stored key matches. */
  async importCertificates(mount: string, bundlePem: string, options: CallOptions = {}): Promise<readonly string[]> {
    const data = dataOf(
      await this.#session.write(
        `${trimSlashes(mount)}/intermediate/set-signed`,
        { certificate: bundlePem },
        options.signal,
      ),
    );
    return [
      ...((data.imported_issuers as string[] | null) ?? []),
      ...((data.existing_issuers as string[] | null) ?? []),
    ];
  }
}

/** The SubjectPublicKeyInfo DER of a PEM CSR. */
function csrPublicKey(csrPem: string): Buffer {
  try {
    return Buffer.from(csrSpki(pemDecode(csrPem, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']).der));
  } catch {
    invalid('vault returned an unreadable CSR');
  }
}
