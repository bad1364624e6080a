/**
 * `@certloop/core` StoreTrustBundlePublisher: the trust bundle in `ca.crt` of the relay's managed secrets.
 *
 * Targets: the root, signing and server secrets (and any others given). Bring-your-own targets are never written;
 * missing ones are skipped. Each write is a compare-and-swap of that one secret, retried on conflict, and skipped
 * when the secret already holds the bundle (same {@link trustBundleDigest}), so publishing is idempotent.
 */
import { CertloopError, isCertloopError, throwIfAborted } from '../errors.js';
import { DEFAULT_RELAY_SECRET_NAMES, type RelaySecretNames } from '../relay/layout.js';
import { isManagedSecret, readTlsMaterial, SECRET_KEYS } from '../secret/tls-layout.js';
import type { SecretStore } from '../store/types.js';
import { splitPemBundle } from '../x509/pem.js';
import { trustBundleDigest } from './bundle-digest.js';
import type { BackendCallOptions, TrustBundlePublisher } from './types.js';

export interface StoreTrustBundlePublisherOptions {
  readonly store: SecretStore;
  readonly names?: Partial<RelaySecretNames>;
  /** More secrets whose `ca.crt` is published. */
  readonly extra?: readonly string[];
}

const encoder = new TextEncoder();
const MAX_ATTEMPTS = 8;

export class StoreTrustBundlePublisher implements TrustBundlePublisher {
  readonly #store: SecretStore;
  readonly #names: RelaySecretNames;
  readonly targets: readonly string[];

  constructor(options: StoreTrustBundlePublisherOptions) {
    this.#store = options.store;
    this.#names = { ...DEFAULT_RELAY_SECRET_NAMES, ...options.names };
    this.targets = [...new Set([this.#names.root, this.#names.signing, this.#names.server, ...(options.extra ?? [])])];
  }

  /** The bundle in force: `ca.crt` of the root secret (else its certificate), else of the signing secret. */
  async read(options: BackendCallOptions = {}): Promise<string> {
    for (const name of [this.#names.root, this.#names.signing]) {
      const secret = await this.#store.get(name, { signal: options.signal });
      if (!secret) continue;
      const m = readTlsMaterial(secret);
      if (m.trustBundlePem) return m.trustBundlePem;
      if (name === this.#names.root && m.certificatePem) return splitPemBundle(m.certificatePem)[0]!;
    }
    throw new CertloopError('CERTLOOP_NOT_FOUND', 'no trust bundle is published (no root or signing secret)');
  }

  async publish(bundlePem: string, options: BackendCallOptions = {}) {
    const digest = trustBundleDigest(bundlePem);
    const written: string[] = [];
    const skipped: string[] = [];
    for (const name of this.targets) {
      for (let attempt = 1; ; attempt++) {
        throwIfAborted(options.signal);
        const secret = await this.#store.get(name, { signal: options.signal });
        if (!secret || !isManagedSecret(secret)) {
          if (secret) skipped.push(name);
          break;
        }
        const current = readTlsMaterial(secret).trustBundlePem;
        if (current !== undefined && trustBundleDigest(current) === digest) break;
        try {
          await this.#store.put(
            name,
            {
              type: secret.type,
              data: { ...secret.data, [SECRET_KEYS.trustBundle]: encoder.encode(bundlePem) },
              labels: secret.labels,
              annotations: secret.annotations,
            },
            { expectedVersion: secret.version, signal: options.signal },
          );
          written.push(name);
          break;
        } catch (err) {
          if (!isCertloopError(err, 'CERTLOOP_CONFLICT') || attempt >= MAX_ATTEMPTS) throw err;
        }
      }
    }
    return { written, skipped };
  }
}
