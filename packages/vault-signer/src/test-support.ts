/**
 * Internal test support for `@certloop/vault-signer`: an emulator with a PKI set up through Vault's API, signers on
 * it, CSRs, and `openssl verify`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, createCsr, generateKeyPair, type KeyAlgorithm } from '@certloop/core';
import type { VaultAuth, VaultCertificateAuthorityOptions } from './options.js';
import { VaultCaRotationBackend } from './rotation-backend.js';
import { VaultCertificateAuthority } from './signer.js';
import {
  type SetupPkiResult,
  setupAppRole,
  setupPki,
  startVaultEmulator,
  type VaultEmulator,
  vaultCall,
} from './testing/index.js';

export interface PkiFixture {
  readonly emulator: VaultEmulator;
  readonly pki: SetupPkiResult;
  /** A signer on the fixture's mount and role (AppRole auth with policy `pki` unless `auth` is given). */
  signer(extra?: Partial<VaultCertificateAuthorityOptions>): Promise<VaultCertificateAuthority>;
  /** Writes (or rewrites) a role on the intermediate mount. */
  role(name: string, fields: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

export async function pkiFixture(
  options: { clock?: Clock; roleFields?: Record<string, unknown>; keyType?: 'rsa' | 'ec' } = {},
): Promise<PkiFixture> {
  const emulator = await startVaultEmulator({ clock: options.clock });
  const target = { endpoint: emulator.endpoint, token: emulator.rootToken };
  const pki = await setupPki({ ...target, roleFields: options.roleFields, keyType: options.keyType });
  // tests write further roles on the mount: the signers' policy covers every role of the mount
  const policy = ['sign', 'issue', 'issuer/+/sign', 'issuer/+/issue']
    .map((p) => `path "${pki.mount}/${p}/*" { capabilities = ["update"] }`)
    .join('\n');
  await vaultCall(target, 'PUT', 'sys/policies/acl/pki', { policy });
  let approle: { roleId: string; secretId: string } | undefined;
  const signers: VaultCertificateAuthority[] = [];
  return {
    emulator,
    pki,
    async signer(extra = {}) {
      let auth: VaultAuth | undefined = extra.auth;
      if (!auth) {
        approle ??= await setupAppRole({ ...target, role: 'certloop', policies: ['pki'] });
        auth = { method: 'approle', ...approle };
      }
      const signer = new VaultCertificateAuthority({
        endpoint: emulator.endpoint,
        mount: pki.mount,
        role: pki.role,
        clock: options.clock,
        retry: { initialMs: 5, maxMs: 20 },
        ...extra,
        auth,
      });
      signers.push(signer);
      return signer;
    },
    async role(name, fields) {
      await vaultCall(target, 'POST', `${pki.mount}/roles/${name}`, fields);
    },
    async close() {
      for (const s of signers) s.close();
      await emulator.close();
    },
  };
}

export interface TestCsr {
  readonly csrPem: string;
  readonly privateKeyPem: string;
}

export async function makeCsr(
  names: { commonName?: string; dnsNames?: string[]; ipAddresses?: string[]; uris?: string[] },
  algorithm: KeyAlgorithm = 'ECDSA-P256',
): Promise<TestCsr> {
  const key = await generateKeyPair({ algorithm });
  const { csrPem } = await createCsr({
    privateKeyPem: key.privateKeyPem,
    subject: names.commonName ? { commonName: names.commonName } : {},
    dnsNames: names.dnsNames,
    ipAddresses: names.ipAddresses,
    uris: names.uris,
  });
  return { csrPem, privateKeyPem: key.privateKeyPem };
}

/** `openssl verify` of a leaf against roots with intermediates; gives openssl's output, throws if it fails. */
export function opensslVerify(input: {
  rootsPem: string;
  chainPem: string;
  leafPem: string;
  purpose?: string;
}): string {
  const dir = mkdtempSync(join(tmpdir(), 'certloop-vault-'));
  try {
    writeFileSync(join(dir, 'roots.pem'), input.rootsPem);
    writeFileSync(join(dir, 'chain.pem'), input.chainPem || input.rootsPem);
    writeFileSync(join(dir, 'leaf.pem'), input.leafPem);
    const args = ['verify', '-CAfile', join(dir, 'roots.pem'), '-untrusted', join(dir, 'chain.pem')];
    if (input.purpose) args.push('-purpose', input.purpose);
    return execFileSync('openssl', [...args, join(dir, 'leaf.pem')], { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `fn` and gives the error's `code` (fails when nothing is thrown). */
export async function codeOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    return (err as { code?: string }).code ?? 'no code';
  }
  throw new Error('expected a rejection');
}

export interface RotationFixture {
  readonly emulator: VaultEmulator;
  readonly pki: SetupPkiResult;
  /** A CA rotation's backend: AppRole with create/read/update/delete/list on `pki/*` and `pki_int/*` (no sudo). */
  readonly backend: VaultCaRotationBackend;
  /** Signs leaves on `pki_int` role `agents` (AppRole with policy `pki`, its own auth mount). */
  readonly signer: VaultCertificateAuthority;
  close(): Promise<void>;
}

/** The Vault set-up a CA rotation test needs: the intermediate tutorial's two mounts, a rotation backend, a signer. */
export async function rotationFixture(): Promise<RotationFixture> {
  const emulator = await startVaultEmulator();
  const target = { endpoint: emulator.endpoint, token: emulator.rootToken };
  const pki = await setupPki({ ...target, role: 'agents' });
  const policy = ['pki', 'pki_int']
    .map((m) => `path "${m}/*" { capabilities = ["create", "read", "update", "delete", "list"] }`)
    .join('\n');
  await vaultCall(target, 'PUT', 'sys/policies/acl/ca-rotation', { policy });
  const admin = await setupAppRole({ ...target, role: 'ca-rotation', policies: ['ca-rotation'] });
  const backend = new VaultCaRotationBackend({
    endpoint: emulator.endpoint,
    auth: { method: 'approle', ...admin },
    rootMount: 'pki',
    mount: 'pki_int',
  });
  const signerRole = await setupAppRole({ ...target, path: 'approle-signer', role: 'signer', policies: ['pki'] });
  const signer = new VaultCertificateAuthority({
    endpoint: emulator.endpoint,
    auth: { method: 'approle', mount: 'approle-signer', ...signerRole },
    mount: 'pki_int',
    role: 'agents',
  });
  return {
    emulator,
    pki,
    backend,
    signer,
    async close() {
      backend.close();
      signer.close();
      await emulator.close();
    },
  };
}
