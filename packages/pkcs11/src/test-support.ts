/**
 * Internal test support for `@certloop/pkcs11`'s tests: openssl checks and the code a promise is refused with.
 * Not exported.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCsr, generateKeyPair, isCertloopError, type KeyAlgorithm } from '@certloop/core';

/** `openssl verify` of `leafPem` against `rootsPem` with `chainPem` untrusted; resolves openssl's output. */
export function opensslVerify(input: {
  rootsPem: string;
  chainPem?: string;
  leafPem: string;
  crlPem?: string;
}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'certloop-pkcs11-verify-'));
  writeFileSync(join(dir, 'roots.pem'), input.rootsPem);
  writeFileSync(join(dir, 'leaf.pem'), input.leafPem);
  const args = ['verify', '-CAfile', join(dir, 'roots.pem')];
  if (input.chainPem?.trim()) {
    writeFileSync(join(dir, 'chain.pem'), input.chainPem);
    args.push('-untrusted', join(dir, 'chain.pem'));
  }
  if (input.crlPem) {
    writeFileSync(join(dir, 'crl.pem'), input.crlPem);
    args.push('-crl_check', '-CRLfile', join(dir, 'crl.pem'));
  }
  args.push(join(dir, 'leaf.pem'));
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      if (err) reject(new Error(`openssl verify failed: ${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Runs openssl with `input` on stdin; resolves its output. */
export function openssl(args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', args, { encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args[0]} failed: ${stdout}${stderr}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** The certloop code `pending` rejects with ('resolved' when it does not). */
export async function codeOf(pending: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof pending === 'function' ? pending() : pending);
    return 'resolved';
  } catch (err) {
    return isCertloopError(err) ? err.code : `not a CertloopError: ${String(err)}`;
  }
}

/** A fresh software key and a CSR for it (what an agent sends). */
export async function agentCsr(commonName: string, algorithm: KeyAlgorithm = 'ECDSA-P256') {
  const key = await generateKeyPair({ algorithm });
  const { csrPem } = await createCsr({
    privateKeyPem: key.privateKeyPem,
    subject: { commonName },
    dnsNames: [commonName],
  });
  return { csrPem, privateKeyPem: key.privateKeyPem };
}
