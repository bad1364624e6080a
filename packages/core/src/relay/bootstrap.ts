/**
 * `@certloop/core` bootstrapRelayPki: creates the relay's PKI in a store, each secret only if it is missing.
 *
 * Root CA (`relay-root-tls-secret`), intermediate signing CA (`relay-tls-signing-secret`), management-server
 * certificate (`relay-server-tls-secret`) and bootstrap token (`relay-identity-token-secret`). An existing secret
 * is never replaced, so running it twice changes nothing, and a bring-your-own root or intermediate (say from
 * cert-manager or an offline root) is used as it is: with an existing intermediate no root is created at all.
 * With an external `signingCa` (say Vault's PKI engine, whose key never leaves it) neither the root nor the signing
 * secret is created: the server certificate is signed by CSR through that CA.
 */
import { randomBytes } from 'node:crypto';
import { LocalCertificateAuthority } from '../ca/local-ca.js';
import type { IssuancePolicyInput } from '../ca/policy.js';
import type { CertificateAuthority, CertificateProfile, IssuanceLedger } from '../ca/types.js';
import { type Clock, systemClock } from '../clock/clock.js';
import { CertloopError, isCertloopError } from '../errors.js';
import {
  isManagedSecret,
  issuedTlsSecret,
  managedAnnotations,
  readTlsMaterial,
  SECRET_KEYS,
} from '../secret/tls-layout.js';
import type { Secret, SecretInput, SecretStore } from '../store/types.js';
import type { CryptoEngine } from '../x509/crypto-engine.js';
import { createCsr } from '../x509/csr.js';
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
  /**
   * An external CA that signs instead of a signing secret (e.g. `VaultCertificateAuthority`): no root or signing
   * secret is created or read, and the server certificate is issued by CSR through it.
   */
  readonly signingCa?: CertificateAuthority;
}

export interface BootstrapRelayResult<CA extends CertificateAuthority = LocalCertificateAuthority> {
  readonly created: string[];
  readonly existing: string[];
  /** The CA that signs agents' CSRs: the intermediate in the signing secret, or the external `signingCa`. */
  readonly signingCa: CA;
  readonly trustBundlePem: string;
  readonly names: RelaySecretNames;
}

function bootstrapError(message: string, cause?: unknown): CertloopError {
  return new CertloopError('CERTLOOP_BOOTSTRAP_FAILED', message, { cause });
}

/** Builds a LocalCertificateAuthority from a CA secret (`tls.crt` CA then chain, `tls.key`, `ca.crt`). */
export function authorityFromSecret(
  secret: Secret,
  options: {
    clock?: Clock;
    engine?: CryptoEngine;
    policy?: IssuancePolicyInput;
    store?: SecretStore;
    /** Records every leaf the CA signs (see `LocalCertificateAuthorityOptions.ledger`). */
    ledger?: IssuanceLedger;
  } = {},
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
    ledger: options.ledger,
    // with the store, the CA keeps its revocations and CRL in this same secret (never in a bring-your-own one)
    revocation:
      options.store && isManagedSecret(secret) ? { store: options.store, secretName: secret.name } : undefined,
  });
}

export function bootstrapRelayPki(
  options: BootstrapRelayOptions & { readonly signingCa?: undefined },
): Promise<BootstrapRelayResult>;
export function bootstrapRelayPki<CA extends CertificateAuthority>(
  options: BootstrapRelayOptions & { readonly signingCa: CA },
): Promise<BootstrapRelayResult<CA>>;
export async function bootstrapRelayPki(
  options: BootstrapRelayOptions,
): Promise<BootstrapRelayResult<CertificateAuthority>> {
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

  const server = options.server ?? { commonName: 'relay-server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
  const ensureToken = async () => {
    if (options.token === false) return;
    const token = options.token ?? randomBytes(32).toString('base64url');
    if (token.length < 16)
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'the bootstrap token must be at least 16 characters');
    await ensure(names.token, async () => ({
      type: 'Opaque',
      data: { [SECRET_KEYS.token]: new TextEncoder().encode(token) },
      annotations: managedAnnotations({ role: 'token' }),
    }));
  };

  const external = options.signingCa;
  if (external) {
    const trustBundlePem = await external.trustBundle({ signal });
    await ensure(names.server, async () => {
      const key = await generateKeyPair({ algorithm, engine: options.engine });
      const { csrPem } = await createCsr({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: server.commonName },
        dnsNames: server.dnsNames,
        ipAddresses: server.ipAddresses,
        engine: options.engine,
      });
      const result = await external.sign(
        { csrPem, lifetimeSeconds: options.serverLifetimeSeconds ?? YEAR, profile: 'server', identity: server },
        { signal },
      );
      return issuedTlsSecret({ role: 'server', privateKeyPem: key.privateKeyPem, result });
    });
    await ensureToken();
    return { created, existing, signingCa: external, trustBundlePem, names };
  }

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
  const signingCa = authorityFromSecret(signing, { clock, engine: options.engine, store });
  const trustBundlePem = await signingCa.trustBundle();

  await ensure(names.server, () => issue(signingCa, 'server', options.serverLifetimeSeconds ?? YEAR, server));
  await ensureToken();
  return { created, existing, signingCa, trustBundlePem, names };
}
