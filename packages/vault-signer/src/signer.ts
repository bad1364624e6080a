/**
 * `@certloop/vault-signer` VaultCertificateAuthority: core's CertificateAuthority (and KeyIssuingAuthority) on Vault's
 * PKI secrets engine, through node-vault.
 *
 * `sign` reads the CSR and checks core's identity binding before Vault is asked (Vault checks proof of possession), sends it to
 * `{mount}/sign/{role}` (or `{mount}/issuer/{ref}/sign/{role}`), and checks Vault's answer before returning it.
 * Transient failures retry with backoff; a 403 `invalid token` logs in again once.
 */

import { createHash, createPublicKey } from 'node:crypto';
import {
  type CaCallOptions,
  type CertificateProfile,
  CertloopError,
  type Clock,
  canonicalIpAddress,
  checkIdentityBinding,
  type KeyIssuingAuthority,
  type SignRequest,
  type SignResult,
  systemClock,
  throwIfAborted,
} from '@certloop/core';
import { type ExpectedCertificate, parseAnswer, ValidatedChains, verifyAnswer } from './answer.js';
import type { VaultAnswer, VaultClient } from './client.js';
import { isInvalidTokenError } from './errors.js';
import type { VaultSignerEvent } from './events.js';
import type { VaultCertificateAuthorityOptions } from './options.js';
import { withRetry } from './retry.js';
import { openVault } from './session.js';
import { prepareSign } from './sign-request.js';
import type { TokenLifecycle } from './token-lifecycle.js';
import { fingerprint, TrustBundleCache } from './trust-bundle.js';

type IssueRequest = Parameters<KeyIssuingAuthority['issue']>[0] & {
  readonly ipAddresses?: readonly string[];
  readonly uris?: readonly string[];
};

const LEAF_PROFILES: readonly CertificateProfile[] = ['server', 'client', 'server+client'];
const trimSlashes = (s: string) => s.replace(/^\/+|\/+$/g, '');

/**
 * Contract: as core's {@link KeyIssuingAuthority}; safe for concurrent use (one login shared by concurrent calls);
 * every call honours its `AbortSignal`. The `intermediate` profile is refused (`CERTLOOP_POLICY_PROFILE_REJECTED`):
 * Vault roles issue leaves. `close()` stops token renewal; later calls fail with `CERTLOOP_CLOSED`.
 */
export class VaultCertificateAuthority implements KeyIssuingAuthority {
  readonly #o: VaultCertificateAuthorityOptions;
  readonly #client: VaultClient;
  readonly #tokens: TokenLifecycle;
  readonly #bundle: TrustBundleCache;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #mount: string;
  readonly #listeners = new Set<(event: VaultSignerEvent) => void>();
  readonly #validated = new ValidatedChains();

  constructor(options: VaultCertificateAuthorityOptions) {
    if (!options.endpoint || !/^https?:\/\//.test(options.endpoint)) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'endpoint must be an http(s) URL');
    }
    if (!options.mount || !options.role)
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'mount and role are required');
    if (!options.auth || !['token', 'kubernetes', 'approle'].includes(options.auth.method)) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'auth.method must be token, kubernetes or approle');
    }
    this.#o = options;
    this.#mount = trimSlashes(options.mount);
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    const emit = (event: VaultSignerEvent) => this.#emit(event);
    const vault = openVault(options, this.#clock, this.#random, emit);
    this.#client = vault.client;
    this.#tokens = vault.tokens;
    this.#bundle = new TrustBundleCache({
      client: this.#client,
      mount: this.#mount,
      issuer: options.issuer,
      fixedPem: options.trustBundlePem,
      emit,
    });
  }

  /** Listens to warnings, logins, renewals and retries; returns the unsubscribe function. */
  subscribe(listener: (event: VaultSignerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async trustBundle(options: CaCallOptions = {}): Promise<string> {
    throwIfAborted(options.signal);
    return withRetry(this.#retryContext(), `${this.#mount}/ca_chain`, options.signal, () =>
      this.#bundle.get(options.signal),
    );
  }

  async sign(request: SignRequest, options: CaCallOptions = {}): Promise<SignResult> {
    const { signal } = options;
    throwIfAborted(signal);
    this.#checkRequest(request);
    const { body, expected } = prepareSign(request, this.#o.sendCsrNames ?? false);
    return this.#issueAndVerify('sign', body, expected, request.lifetimeSeconds, signal);
  }

  async issue(
    request: IssueRequest,
    options: CaCallOptions = {},
  ): Promise<SignResult & { readonly privateKeyPem: string }> {
    const { signal } = options;
    throwIfAborted(signal);
    this.#checkRequest(request);
    if (!request.commonName) throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'commonName is required');
    const dnsNames = [...(request.dnsNames ?? [])];
    const ipAddresses = [...(request.ipAddresses ?? [])];
    const uris = [...(request.uris ?? [])];
    if (request.identity) {
      const canonicalIps = ipAddresses.map((ip) => canonicalIpAddress(ip) ?? ip);
      checkIdentityBinding(
        request.identity,
        { commonName: request.commonName },
        { dnsNames, ipAddresses: canonicalIps, uris, emails: [] },
      );
    }
    const body: Record<string, unknown> = {
      common_name: request.commonName,
      ttl: `${Math.floor(request.lifetimeSeconds)}s`,
      format: 'pem',
      private_key_format: 'pkcs8',
      exclude_cn_from_sans: true,
      ...(dnsNames.length ? { alt_names: dnsNames.join(',') } : {}),
      ...(ipAddresses.length ? { ip_sans: ipAddresses.join(',') } : {}),
      ...(uris.length ? { uri_sans: uris.join(',') } : {}),
    };
    let privateKeyPem = '';
    const result = await this.#issueAndVerify(
      'issue',
      body,
      {
        publicKeySpki: Buffer.alloc(0),
        commonName: request.commonName,
        dnsNames,
        ipAddresses,
        uris,
        profile: request.profile,
      },
      request.lifetimeSeconds,
      signal,
      (key) => {
        privateKeyPem = key;
      },
    );
    return { ...result, privateKeyPem };
  }

  /** Resolves when no background token renewal or login is in flight (for tests on a ManualClock). */
  settled(): Promise<void> {
    return this.#tokens.settled();
  }

  /** Stops token renewal and closes idle connections. */
  close(): void {
    this.#tokens.close();
    this.#client.close();
  }

  #lastBundle: { readonly pem: string; readonly digest: string } | undefined;

  #bundleDigest(pem: string): string {
    if (this.#lastBundle?.pem !== pem) {
      this.#lastBundle = { pem, digest: createHash('sha256').update(pem).digest('hex') };
    }
    return this.#lastBundle.digest;
  }

  #emit(event: VaultSignerEvent): void {
    this.#o.onEvent?.(event);
    for (const listener of this.#listeners) listener(event);
  }

  #retryContext() {
    return {
      clock: this.#clock,
      random: this.#random,
      retry: this.#o.retry,
      emit: (e: VaultSignerEvent) => this.#emit(e),
    };
  }

  #checkRequest(request: { readonly profile: CertificateProfile; readonly lifetimeSeconds: number }): void {
    if (request.profile === 'intermediate') {
      throw new CertloopError('CERTLOOP_POLICY_PROFILE_REJECTED', 'a Vault role issues leaf certificates only', {
        details: { profile: request.profile },
      });
    }
    if (!LEAF_PROFILES.includes(request.profile)) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'unknown certificate profile', {
        details: { profile: request.profile },
      });
    }
    const lifetime = request.lifetimeSeconds;
    if (typeof lifetime !== 'number' || !Number.isFinite(lifetime) || lifetime < 1) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'lifetimeSeconds must be a positive number', {
        details: { lifetimeSeconds: lifetime },
      });
    }
  }

  #path(verb: 'sign' | 'issue'): string {
    const role = encodeURIComponent(this.#o.role);
    return this.#o.issuer
      ? `${this.#mount}/issuer/${encodeURIComponent(this.#o.issuer)}/${verb}/${role}`
      : `${this.#mount}/${verb}/${role}`;
  }

  async #issueAndVerify(
    verb: 'sign' | 'issue',
    body: Record<string, unknown>,
    expected: ExpectedCertificate,
    requestedSeconds: number,
    signal: AbortSignal | undefined,
    onKey?: (privateKeyPem: string) => void,
  ): Promise<SignResult> {
    const path = this.#path(verb);
    const answer = await this.#write(path, body, signal);
    if (answer.warnings && answer.warnings.length > 0) {
      this.#emit({ type: 'warning', path, warnings: [...answer.warnings] });
    }
    const parsed = parseAnswer(answer.data);
    let want = expected;
    if (verb === 'issue') {
      if (!parsed.privateKeyPem) {
        throw new CertloopError('CERTLOOP_CA_RESPONSE_INVALID', 'vault returned no private key');
      }
      want = {
        ...expected,
        publicKeySpki: createPublicKey(parsed.privateKeyPem).export({ type: 'spki', format: 'der' }),
      };
      onKey?.(parsed.privateKeyPem);
    }
    // an issuer the cached bundle does not know: Vault's issuer was rotated, read the chain again
    let trustBundlePem = this.#bundle.knownBundle(parsed.caChain);
    if (trustBundlePem === undefined) {
      if (!(await this.#bundle.knows(parsed.caChain, signal))) await this.#bundle.refresh(signal);
      trustBundlePem = await this.#bundle.get(signal);
    }
    const result = await verifyAnswer({
      answer: parsed,
      expected: want,
      trustBundlePem,
      includeRoot: this.#o.includeRootInChain ?? false,
      at: this.#clock.now(),
      validated: this.#validated,
      chainKey: [...parsed.caChain.map(fingerprint), this.#bundleDigest(trustBundlePem)].join(','),
    });
    const issuedSeconds = Math.round((result.notAfter.getTime() - this.#clock.now().getTime()) / 1000);
    if (issuedSeconds < Math.floor(requestedSeconds) - 1) {
      this.#emit({
        type: 'lifetime-shortened',
        requestedSeconds: Math.floor(requestedSeconds),
        issuedSeconds,
        notAfter: result.notAfter,
      });
    }
    return result;
  }

  /** A token-bearing write with retries; a 403 `invalid token` logs in again once. */
  async #write(path: string, body: Record<string, unknown>, signal: AbortSignal | undefined): Promise<VaultAnswer> {
    let reloggedIn = false;
    return withRetry(this.#retryContext(), path, signal, async () => {
      const token = await this.#tokens.token(signal);
      try {
        return await this.#client.write(path, body, { token, signal });
      } catch (err) {
        if (!isInvalidTokenError(err) || reloggedIn) throw err;
        reloggedIn = true;
        this.#tokens.invalidate(token);
        const fresh = await this.#tokens.token(signal);
        return this.#client.write(path, body, { token: fresh, signal });
      }
    });
  }
}
