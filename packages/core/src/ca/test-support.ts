/**
 * Internal test support for the issuance tests (`ca/*.test.ts`, `x509/*.test.ts`): temp dirs, openssl, the code
 * a promise is refused with, and a three-level PKI built through the public API. Not exported from any barrel.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Clock } from '../clock/index.js';
import { CertloopError, type CertloopErrorCode } from '../errors.js';
import type { CryptoEngine } from '../x509/crypto-engine.js';
import { createCsr } from '../x509/csr.js';
import { generateKeyPair } from '../x509/keys.js';
import { createSelfSignedCa } from '../x509/self-signed.js';
import type { KeyAlgorithm, KeyPair } from '../x509/types.js';
import { LocalCertificateAuthority } from './local-ca.js';
import type { IssuancePolicyInput } from './policy.js';
import type { SignResult } from './types.js';

export const OPENSSL = '/usr/bin/openssl';

export interface OpensslResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs openssl; resolves with its exit code and output (never rejects on a non-zero exit). */
export function openssl(args: readonly string[], input?: string): Promise<OpensslResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(OPENSSL, args, { encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** The code of the CertloopError `pending` rejects with (asserting it is one); undefined when it resolves. */
export async function code(pending: Promise<unknown>): Promise<CertloopErrorCode | undefined> {
  try {
    await pending;
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(CertloopError);
    return (err as CertloopError).code;
  }
}

export interface TempDir {
  readonly path: string;
  write(name: string, content: string): Promise<string>;
  remove(): Promise<void>;
}

export async function tempDir(prefix = 'certloop-issuance-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    async write(name, content) {
      const file = join(path, name);
      await writeFile(file, content);
      return file;
    },
    remove: () => rm(path, { recursive: true, force: true }),
  };
}

export interface TestPki {
  readonly algorithm: KeyAlgorithm;
  readonly rootKey: KeyPair;
  readonly rootPem: string;
  readonly rootCa: LocalCertificateAuthority;
  readonly intermediateKey: KeyPair;
  readonly intermediate: SignResult;
  readonly intermediateCa: LocalCertificateAuthority;
}

export interface TestPkiOptions {
  readonly engine?: CryptoEngine;
  readonly clock?: Clock;
  readonly policy?: IssuancePolicyInput;
  readonly rootLifetimeSeconds?: number;
  readonly intermediateLifetimeSeconds?: number;
  /** Root and intermediate keys made beforehand (key generation dominates RSA test time). */
  readonly keys?: readonly [KeyPair, KeyPair];
}

/** Root (self-signed, pathLen 1) and intermediate (pathLen 0), both keys of `algorithm`. */
export async function createTestPki(algorithm: KeyAlgorithm, options: TestPkiOptions = {}): Promise<TestPki> {
  const { engine, clock } = options;
  const [rootKey, intermediateKey] =
    options.keys ??
    (await Promise.all([generateKeyPair({ algorithm, engine }), generateKeyPair({ algorithm, engine })]));
  const root = await createSelfSignedCa({
    privateKeyPem: rootKey.privateKeyPem,
    subject: { commonName: `certloop test root ${algorithm}`, organization: 'certloop' },
    lifetimeSeconds: options.rootLifetimeSeconds ?? 10 * 365 * 86_400,
    pathLength: 1,
    clock,
    engine,
  });
  const rootCa = new LocalCertificateAuthority({
    certificatePem: root.certificatePem,
    privateKeyPem: rootKey.privateKeyPem,
    trustBundlePem: root.certificatePem,
    ...(options.policy ? { policy: options.policy } : {}),
    clock,
    engine,
  });
  const { csrPem } = await createCsr({
    privateKeyPem: intermediateKey.privateKeyPem,
    subject: { commonName: `certloop test intermediate ${algorithm}`, organization: 'certloop' },
    engine,
  });
  const intermediate = await rootCa.sign({
    csrPem,
    lifetimeSeconds: options.intermediateLifetimeSeconds ?? 365 * 86_400,
    profile: 'intermediate',
    pathLength: 0,
  });
  const intermediateCa = new LocalCertificateAuthority({
    certificatePem: intermediate.certificatePem,
    privateKeyPem: intermediateKey.privateKeyPem,
    chainPem: intermediate.chainPem,
    trustBundlePem: root.certificatePem,
    ...(options.policy ? { policy: options.policy } : {}),
    clock,
    engine,
  });
  return { algorithm, rootKey, rootPem: root.certificatePem, rootCa, intermediateKey, intermediate, intermediateCa };
}

export interface IssuedLeaf extends SignResult {
  readonly privateKeyPem: string;
  readonly csrPem: string;
}

/** A leaf from a fresh key and CSR, signed by `ca`. */
export async function issueLeaf(
  ca: LocalCertificateAuthority,
  request: {
    algorithm: KeyAlgorithm;
    commonName: string;
    profile: 'server' | 'client' | 'server+client';
    dnsNames?: string[];
    ipAddresses?: string[];
    uris?: string[];
    lifetimeSeconds?: number;
    engine?: CryptoEngine;
    key?: KeyPair;
  },
): Promise<IssuedLeaf> {
  const key = request.key ?? (await generateKeyPair({ algorithm: request.algorithm, engine: request.engine }));
  const { csrPem } = await createCsr({
    privateKeyPem: key.privateKeyPem,
    subject: { commonName: request.commonName },
    dnsNames: request.dnsNames,
    ipAddresses: request.ipAddresses,
    uris: request.uris,
    engine: request.engine,
  });
  const result = await ca.sign({
    csrPem,
    lifetimeSeconds: request.lifetimeSeconds ?? 86_400,
    profile: request.profile,
  });
  return { ...result, privateKeyPem: key.privateKeyPem, csrPem };
}
