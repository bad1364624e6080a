/**
 * `@certloop/core` ca-rotation: an optional capability of a {@link CaKeyBackend} that keeps its own copy of the
 * trust bundle beside its CAs (Vault: the roots published as issuers of the signing mount, which
 * `VaultCertificateAuthority.trustBundle()` serves and which the CA secrets of the store do not hold).
 *
 * Contract: `publishTrustBundle` makes the backend's copy hold exactly the bundle's roots (idempotent, honours
 * `signal`); `readTrustBundle` resolves that copy, or `undefined` when the backend holds none. `CaRotation` publishes
 * every bundle there after its {@link TrustBundlePublisher}, and reads the bundle in force from it when the
 * publisher finds none (no root or signing secret in the store: the CAs live in the backend).
 */
import type { BackendCallOptions, CaKeyBackend } from './types.js';

export interface TrustBundleBackend {
  readTrustBundle(options?: BackendCallOptions): Promise<string | undefined>;
  publishTrustBundle(bundlePem: string, options?: BackendCallOptions): Promise<void>;
}

export function holdsTrustBundle(backend: CaKeyBackend): backend is CaKeyBackend & TrustBundleBackend {
  const b = backend as Partial<TrustBundleBackend>;
  return typeof b.readTrustBundle === 'function' && typeof b.publishTrustBundle === 'function';
}
