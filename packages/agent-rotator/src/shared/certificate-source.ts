/**
 * `@certloop/agent-rotator` certificate source: core's `CredentialProvider` as a grpc-js `CertificateProvider`, so
 * `experimental.createCertificateProviderServerCredentials` / `createCertificateProviderChannelCredentials` always
 * use the provider's current, validated material: new handshakes take a swapped certificate, established
 * connections are untouched.
 */

import type { CredentialProvider, TlsMaterial } from '@certloop/core';
import type { experimental } from '@grpc/grpc-js';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export interface CertificateSourceOptions {
  /** Identity (certificate and key) comes from this provider's current material. */
  readonly provider?: CredentialProvider;
  /** The roots used to verify the peer; without it, the provider material's trust bundle. */
  readonly trustBundlePem?: string;
}

/**
 * Contract: listeners get the latest known value on a microtask after they are added (nothing while none is known), then every
 * change, synchronously, in order. `close()` detaches from the provider; listeners keep the last value.
 */
export class CertificateSource implements experimental.CertificateProvider {
  readonly #caListeners = new Set<CaListener>();
  readonly #identityListeners = new Set<IdentityListener>();
  #ca: experimental.CaCertificateUpdate | undefined;
  #identity: experimental.IdentityCertificateUpdate | undefined;
  #fixedTrust: boolean;
  #unsubscribe: (() => void) | undefined;

  constructor(options: CertificateSourceOptions = {}) {
    this.#fixedTrust = options.trustBundlePem !== undefined;
    if (options.trustBundlePem !== undefined) this.#ca = { caCertificate: Buffer.from(options.trustBundlePem) };
    const provider = options.provider;
    if (provider) {
      const current = provider.current();
      if (current) this.setMaterial(current);
      this.#unsubscribe = provider.subscribe((event) => {
        if (event.type === 'updated') this.setMaterial(event.material);
      });
    }
  }

  /** Takes new identity material (and its trust bundle, unless a fixed one was configured). */
  setMaterial(material: TlsMaterial): void {
    this.#identity = {
      certificate: Buffer.from(material.certificatePem),
      privateKey: Buffer.from(material.privateKeyPem),
    };
    for (const listener of this.#identityListeners) listener(this.#identity);
    if (!this.#fixedTrust && material.trustBundlePem) this.#setCa(material.trustBundlePem);
  }

  /** Replaces the roots peers are verified with (and fixes them: material updates no longer change them). */
  setTrustBundle(trustBundlePem: string): void {
    this.#fixedTrust = true;
    this.#setCa(trustBundlePem);
  }

  #setCa(pem: string): void {
    if (this.#ca && this.#ca.caCertificate.toString() === pem) return;
    this.#ca = { caCertificate: Buffer.from(pem) };
    for (const listener of this.#caListeners) listener(this.#ca);
  }

  // The first value is delivered on a microtask, not synchronously: grpc-js's server credentials register their
  // own watcher only after adding these listeners, and would miss a synchronous first value.
  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    queueMicrotask(() => {
      if (this.#ca && this.#caListeners.has(listener)) listener(this.#ca);
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.#identity && this.#identityListeners.has(listener)) listener(this.#identity);
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}
