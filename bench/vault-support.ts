/**
 * Shared by the Vault benches (vault.ts, vault-client-cpu.ts): the CSRs they sign, a token from the bench's AppRole
 * for the raw calls, the sign endpoint's body, and the kept-alive `node:http` sign request (the bound).
 */
import { type Agent, request } from 'node:http';
import { createCsr, generateKeyPair } from '@certloop/core';
import { vaultCall } from '@certloop/vault-signer/testing';

/** 32 CSRs (fresh P-256 keys), CN and DNS name `nameOf(i)`. */
export function benchCsrs(nameOf: (i: number) => string): Promise<string[]> {
  return Promise.all(
    Array.from({ length: 32 }, async (_, i) => {
      const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
      const name = nameOf(i);
      return (await createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName: name }, dnsNames: [name] }))
        .csrPem;
    }),
  );
}

/** A client token from an AppRole login (`''` when the answer has none). */
export async function appRoleToken(
  root: { readonly endpoint: string; readonly token: string },
  approle: { readonly roleId: string; readonly secretId: string },
): Promise<string> {
  const login = await vaultCall({ ...root, token: '' }, 'POST', 'auth/approle/login', {
    role_id: approle.roleId,
    secret_id: approle.secretId,
  });
  return (login?.auth as { client_token: string } | undefined)?.client_token ?? '';
}

/** The body the signer sends to `{mount}/sign/{role}` for `csr` with a lifetime of 3600 s, in the same key order. */
export const signBody = (csr: string) => ({ csr: csr.trim(), ttl: '3600s', format: 'pem', exclude_cn_from_sans: true });

/**
 * POSTs `body` (JSON) to the sign endpoint `url` with `token` on `agent`, with the headers the signer sends; resolves
 * with the parsed answer, rejects unless it is 200.
 */
export function rawSign(url: URL, agent: Agent, token: string, body: unknown): Promise<{ data?: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'X-Vault-Token': token,
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`sign answered ${res.statusCode}`));
          else resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
