/**
 * Test support for the CA rotation tests (not exported from any barrel): a relay PKI on a store, leaves issued by
 * whatever signs now, and chain checks by core's validateChain and by `openssl verify` at a given instant.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { LocalCertificateAuthority } from '../ca/local-ca.js';
import { openssl, tempDir } from '../ca/test-support.js';
import type { CaCallOptions, CertificateAuthority, SignRequest, SignResult } from '../ca/types.js';
import type { Clock } from '../clock/clock.js';
import { CertloopError } from '../errors.js';
import { authorityFromSecret, bootstrapRelayPki } from '../relay/bootstrap.js';
import { DEFAULT_RELAY_SECRET_NAMES } from '../relay/layout.js';
import { readTlsMaterial } from '../secret/tls-layout.js';
import type { SecretStore } from '../store/types.js';
import { validateChain } from '../x509/chain.js';
import { inspectCertificate } from '../x509/inspect.js';
import { joinPemBundle, splitPemBundle } from '../x509/pem.js';
import type { IssuanceLedger } from './types.js';

export const NAMES = DEFAULT_RELAY_SECRET_NAMES;
export const DAY = 86_400;
export const YEAR = 365 * DAY;

export async function relayPki(
  store: SecretStore,
  clock: Clock,
  lifetimes: { root?: number; intermediate?: number; server?: number } = {},
) {
  return bootstrapRelayPki({
    store,
    clock,
    token: false,
    rootLifetimeSeconds: lifetimes.root ?? 10 * YEAR,
    intermediateLifetimeSeconds: lifetimes.intermediate ?? 5 * YEAR,
    serverLifetimeSeconds: lifetimes.server ?? YEAR,
  });
}

/** What a peer holds: leaf and chain (`tls.crt`) and the key. */
export interface HeldLeaf {
  readonly tlsCrt: string;
  readonly keyPem: string;
  readonly serialNumber: string;
  readonly notAfter: Date;
  readonly issuerKeyId: string;
}

/** Issues a client certificate from whatever `relay-tls-signing-secret` holds now. */
export async function issueClient(store: SecretStore, clock: Clock, cn: string, lifetime = YEAR): Promise<HeldLeaf> {
  const signing = await store.get(NAMES.signing);
  if (!signing) throw new CertloopError('CERTLOOP_NOT_FOUND', 'no signing secret');
  const ca = authorityFromSecret(signing, {
    clock,
    policy: { beyondCaNotAfter: 'truncate', maxLifetimeSeconds: { client: 100 * YEAR } },
  });
  const issued = await ca.issue({ commonName: cn, profile: 'client', lifetimeSeconds: lifetime });
  return {
    tlsCrt: joinPemBundle([issued.certificatePem, issued.chainPem]),
    keyPem: issued.privateKeyPem,
    serialNumber: issued.serialNumber,
    notAfter: issued.notAfter,
    issuerKeyId: inspectCertificate(issued.certificatePem).authorityKeyId ?? '',
  };
}

/** The bundle certloop publishes now (`ca.crt` of the root secret). */
export async function publishedBundle(store: SecretStore, name = NAMES.root): Promise<string> {
  const secret = await store.get(name);
  const bundle = secret ? readTlsMaterial(secret).trustBundlePem : undefined;
  if (!bundle) throw new CertloopError('CERTLOOP_NOT_FOUND', `no ca.crt in ${name}`);
  return bundle;
}

/** The server's `tls.crt` (leaf and chain). */
export async function servedChain(store: SecretStore): Promise<string> {
  const secret = await store.get(NAMES.server);
  return readTlsMaterial(secret!).certificatePem!;
}

export async function validates(tlsCrt: string, bundle: string, at: Date, usage?: 'serverAuth' | 'clientAuth') {
  try {
    await validateChain({ leafPem: tlsCrt, trustBundlePem: bundle, at, ...(usage ? { usage } : {}) });
    return true;
  } catch {
    return false;
  }
}

/** `openssl verify -attime` of `tlsCrt` (leaf then chain) against `bundle`; asserts success. */
export async function expectOpensslVerifies(tlsCrt: string, bundle: string, at: Date, label: string): Promise<void> {
  const dir = await tempDir('certloop-carot-');
  try {
    const [leaf, ...chain] = splitPemBundle(tlsCrt);
    await writeFile(join(dir.path, 'leaf.pem'), leaf!);
    await writeFile(join(dir.path, 'chain.pem'), chain.join('') || leaf!);
    await writeFile(join(dir.path, 'bundle.pem'), bundle);
    const result = await openssl([
      'verify',
      '-attime',
      String(Math.floor(at.getTime() / 1000)),
      '-CAfile',
      join(dir.path, 'bundle.pem'),
      '-untrusted',
      join(dir.path, 'chain.pem'),
      join(dir.path, 'leaf.pem'),
    ]);
    if (result.code !== 0) expect.fail(`${label}: openssl verify failed: ${result.stdout}${result.stderr}`);
  } finally {
    await dir.remove();
  }
}

/**
 * A CA that signs with whatever `relay-tls-signing-secret` holds now (as `RelayServer` does), recording every leaf
 * in `ledger`.
 */
export class FollowingAuthority implements CertificateAuthority {
  #cached: { version: string; ca: LocalCertificateAuthority } | undefined;
  constructor(
    readonly store: SecretStore,
    readonly clock: Clock,
    readonly ledger?: IssuanceLedger,
  ) {}
  async #ca(): Promise<LocalCertificateAuthority> {
    const secret = await this.store.get(NAMES.signing);
    if (!secret) throw new CertloopError('CERTLOOP_NOT_FOUND', 'no signing secret');
    if (this.#cached?.version !== secret.version) {
      const ca = authorityFromSecret(secret, {
        clock: this.clock,
        ...(this.ledger ? { ledger: this.ledger } : {}),
        policy: { beyondCaNotAfter: 'truncate', maxLifetimeSeconds: { client: 100 * YEAR, server: 100 * YEAR } },
      });
      this.#cached = { version: secret.version, ca };
    }
    return this.#cached.ca;
  }
  async sign(request: SignRequest, options?: CaCallOptions): Promise<SignResult> {
    return (await this.#ca()).sign(request, options);
  }
  async trustBundle(): Promise<string> {
    return (await this.#ca()).trustBundle();
  }
}

/** The subject key id of the CA in `relay-tls-signing-secret` now. */
export async function signingKeyId(store: SecretStore): Promise<string | undefined> {
  const secret = await store.get(NAMES.signing);
  const pem = secret ? readTlsMaterial(secret).certificatePem : undefined;
  return pem ? inspectCertificate(pem).subjectKeyId : undefined;
}
