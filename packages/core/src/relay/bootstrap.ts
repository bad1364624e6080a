/**
 * `@certloop/core` bootstrapRelayPki: creates the relay's PKI in a store, each secret only if it is missing.
 *
 * Root CA (`relay-root-tls-secret`), intermediate signing CA (`relay-tls-signing-secret`), management-server
 * certificate (`relay-server-tls-secret`) and bootstrap token (`relay-identity-token-secret`). An existing secret
 * is never replaced, so running it twice changes nothing, and a bring-your-own root or intermediate (say from
 * cert-manager or an offline root) is used as it is: with an existing intermediate no root is created at all.
 */
import { randomBytes } from 'node:crypto';
import { LocalCertificateAuthority } from '../ca/local-ca.js';
import type { IssuancePolicyInput } from '../ca/policy.js';
import type { CertificateProfile } from '../ca/types.js';
import { type Clock, systemClock } from '../clock/clock.js';
import { CertloopError, isCertloopError } from '../errors.js';
import { issuedTlsSecret, managedAnnotations, readTlsMaterial, SECRET_KEYS } from '../secret/tls-layout.js';
import type { Secret, SecretInput, SecretStore } from '../store/types.js';
import type { CryptoEngine } from '../x509/crypto-engine.js';
import { generateKeyPair } from '../x509/keys.js';
import { joinPemBundle, splitPemBundle } from '../x509/pem.js';
import { createSelfSignedCa } from '../x509/self-signed.js';
import type { KeyAlgorithm } from '../x509/types.js';
import { DEFAULT_RELAY_SECRET_NAMES, type RelaySecretNames } from './layout.js';

const YEAR = 365 * 24 * 3600;

export interface BootstrapRelayOptions {
  readonly store: SecretStore;
  readonly names?: Partial<RelaySecretNames>;
  /** Key algorithm of every key bootstrap makes (default ECDSA-P256). */
  readonly keyAlgorithm?: KeyAlgorithm;
  readonly rootLifetimeSeconds?: number;
  readonly intermediateLifetimeSeconds?: number;
  readonly serverLifetimeSeconds?: number;
  readonly rootCommonName?: string;
  readonly intermediateCommonName?: string;
  /** The management server's identity (default CN `relay-server`, DNS `localhost`, IP `127.0.0.1`). */
  readonly server?: { readonly commonName: string; readonly dnsNames?: string[]; readonly ipAddresses?: string[] };
  /** The bootstrap token to store; `false` skips the token secret; default a random 256-bit token. */
  readonly token?: string | false;
  readonly clock?: Clock;
  readonly engine?: CryptoEngine;
  readonly signal?: AbortSignal;
}

export interface BootstrapRelayResult {
  readonly created: string[];
  readonly existing: string[];
  /** The CA that signs agents' CSRs: the intermediate in the signing secret. */
  readonly signingCa: LocalCertificateAuthority;
  readonly trustBundlePem: string;
  readonly names: RelaySecretNames;
}

function bootstrapError(message: string, cause?: unknown): CertloopError {
  return new CertloopError('CERTLOOP_BOOTSTRAP_FAILED', message, { cause });
}

/** Builds a LocalCertificateAuthority from a CA secret (`tls.crt` CA then chain, `tls.key`, `ca.crt`). */
export function authorityFromSecret(
  secret: Secret,
  options: { clock?: Clock; engine?: CryptoEngine; policy?: IssuancePolicyInput } = {},
): LocalCertificateAuthority {
  const m = readTlsMaterial(secret);
  if (!m.certificatePem || !m.privateKeyPem) {
    throw bootstrapError(`secret ${secret.name} has no CA key: it cannot sign (bring-your-own offline CA?)`);
  }
  const [certificatePem, ...chain] = splitPemBundle(m.certificatePem);
  return new LocalCertificateAuthority({
    certificatePem: certificatePem!,
    privateKeyPem: m.privateKeyPem,
    chainPem: chain.length ? joinPemBundle(chain) : undefined,
    trustBundlePem: m.trustBundlePem ?? certificatePem!,
    clock: options.clock,
    engine: options.engine,
    policy: options.policy,
  });
}

export async function bootstrapRelayPki(options: BootstrapRelayOptions): Promise<BootstrapRelayResult> {
  const { store, signal } = options;
  const names = { ...DEFAULT_RELAY_SECRET_NAMES, ...options.names };
  const clock = options.clock ?? systemClock;
  const algorithm = options.keyAlgorithm ?? 'ECDSA-P256';
  const created: string[] = [];
  const existing: string[] = [];

  /** Creates `name` unless it exists; whoever created it first wins (compare-and-swap on absence). */
  const ensure = async (name: string, make: () => Promise<SecretInput>): Promise<Secret> => {
    const found = await store.get(name, { signal });
    if (found) {
      existing.push(name);
      return found;
    }
    const input = await make();
    try {
      const stored = await store.put(name, input, { expectedVersion: null, signal });
      created.push(name);
      return stored;
    } catch (err) {
      if (!isCertloopError(err, 'CERTLOOP_CONFLICT')) throw err;
      const raced = await store.get(name, { signal });
      if (!raced) throw err;
      existing.push(name);
      return raced;
    }
  };

  const issue = async (
    ca: LocalCertificateAuthority,
    profile: CertificateProfile,
    lifetimeSeconds: number,
    subject: { commonName: string; dnsNames?: string[]; ipAddresses?: string[] },
  ) => {
    const intermediate = profile === 'intermediate';
    const issued = await ca.issue(
      { ...subject, keyAlgorithm: algorithm, lifetimeSeconds, profile, ...(intermediate ? { pathLength: 0 } : {}) },
      { signal },
    );
    return issuedTlsSecret({
      role: intermediate ? 'intermediate' : 'server',
      privateKeyPem: issued.privateKeyPem,
      result: issued,
    });
  };

  let signing = await store.get(names.signing, { signal });
  if (!signing) {
    const root = await ensure(names.root, async () => {
      const key = await generateKeyPair({ algorithm, engine: options.engine });
      const ca = await createSelfSignedCa({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: options.rootCommonName ?? 'certloop relay root CA' },
        lifetimeSeconds: options.rootLifetimeSeconds ?? 10 * YEAR,
        pathLength: 1,
        clock,
        engine: options.engine,
      });
      // a root is its own trust bundle and has no chain above it
      const result = { ...ca, chainPem: '', trustBundlePem: ca.certificatePem };
      return issuedTlsSecret({ role: 'root', privateKeyPem: key.privateKeyPem, result });
    });
    const rootCa = authorityFromSecret(root, { clock, engine: options.engine });
    signing = await ensure(names.signing, () =>
      issue(rootCa, 'intermediate', options.intermediateLifetimeSeconds ?? 5 * YEAR, {
        commonName: options.intermediateCommonName ?? 'certloop relay signing CA',
      }),
    );
  } else {
    existing.push(names.signing);
  }
  const signingCa = authorityFromSecret(signing, { clock, engine: options.engine });
  const trustBundlePem = await signingCa.trustBundle();

  const server = options.server ?? { commonName: 'relay-server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
  await ensure(names.server, () => issue(signingCa, 'server', options.serverLifetimeSeconds ?? YEAR, server));

  if (options.token !== false) {
    const token = options.token ?? randomBytes(32).toString('base64url');
    if (token.length < 16)
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'the bootstrap token must be at least 16 characters');
    await ensure(names.token, async () => ({
      type: 'Opaque',
      data: { [SECRET_KEYS.token]: new TextEncoder().encode(token) },
      annotations: managedAnnotations({ role: 'token' }),
    }));
  }
  return { created, existing, signingCa, trustBundlePem, names };
}
