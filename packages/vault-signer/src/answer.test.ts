import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { splitPemBundle } from '@certloop/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VaultSignerEvent } from './events.js';
import { VaultCertificateAuthority } from './signer.js';
import { codeOf, makeCsr, type PkiFixture, pkiFixture } from './test-support.js';
import { setupAppRole, setupPki, startVaultEmulator, type VaultEmulator, vaultCall } from './testing/index.js';

// biome-ignore lint/suspicious/noExplicitAny: the tamperer rewrites answer fields in place
type Tamper = (path: string, request: Record<string, unknown>) => Promise<(answer: Record<string, any>) => void>;

/** A real HTTP hop between the signer and the emulator that rewrites requests or answers (a compromised Vault). */
async function tamperingProxy(
  upstream: string,
  tamper: { current: Tamper | undefined },
): Promise<{ endpoint: string; server: Server }> {
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const server = createServer(async (req, res) => {
    const text = await read(req);
    const path = (req.url ?? '').replace(/^\/v1\//, '');
    let body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    const rewrite = tamper.current && body && path.includes('/sign/') ? await tamper.current(path, body) : undefined;
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    const token = req.headers['x-vault-token'];
    if (typeof token === 'string') headers['X-Vault-Token'] = token;
    const response = await fetch(`${upstream}${req.url}`, {
      method: req.method,
      headers,
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    let answer = await response.text();
    if (rewrite && response.status === 200) {
      const parsed = JSON.parse(answer);
      rewrite(parsed);
      answer = JSON.stringify(parsed);
    }
    body = undefined;
    res
      .writeHead(response.status, { 'Content-Type': response.headers.get('content-type') ?? 'application/json' })
      .end(answer);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

let fx: PkiFixture;
let other: VaultEmulator;
let proxy: { endpoint: string; server: Server };
const tamper: { current: Tamper | undefined } = { current: undefined };
let signer: VaultCertificateAuthority;

beforeAll(async () => {
  fx = await pkiFixture();
  other = await startVaultEmulator();
  await setupPki({ endpoint: other.endpoint, token: other.rootToken });
  proxy = await tamperingProxy(fx.emulator.endpoint, tamper);
  const approle = await setupAppRole({
    endpoint: fx.emulator.endpoint,
    token: fx.emulator.rootToken,
    path: 'approle-proxy',
    role: 'proxy',
    policies: ['pki'],
  });
  signer = new VaultCertificateAuthority({
    endpoint: proxy.endpoint,
    auth: { method: 'approle', ...approle, mount: 'approle-proxy' },
    mount: 'pki_int',
    role: 'certloop',
    retry: { attempts: 1 },
  });
});
afterAll(async () => {
  signer.close();
  proxy.server.close();
  await other.close();
  await fx.close();
});

describe("the signer never trusts Vault's answer blindly", () => {
  const sign = async () => {
    const csr = await makeCsr({ commonName: 'agent', dnsNames: ['agent.example'] });
    return signer.sign({ csrPem: csr.csrPem, lifetimeSeconds: 600, profile: 'client' });
  };

  it('passes an untampered answer', async () => {
    tamper.current = undefined;
    expect((await sign()).certificatePem).toContain('BEGIN CERTIFICATE');
  });

  it('a certificate for another key', async () => {
    tamper.current = async (_path, request) => {
      request.csr = (await makeCsr({ commonName: 'agent', dnsNames: ['agent.example'] })).csrPem;
      return () => undefined;
    };
    expect(await codeOf(sign)).toBe('CERTLOOP_CA_RESPONSE_INVALID');
  });

  it('a certificate naming another identity', async () => {
    tamper.current = async (_path, request) => {
      request.csr = (await makeCsr({ commonName: 'admin' })).csrPem;
      return () => undefined;
    };
    expect(await codeOf(sign)).toBe('CERTLOOP_CA_RESPONSE_INVALID');
  });

  it('a chain that does not reach the trust bundle', async () => {
    const foreign = (
      await vaultCall({ endpoint: other.endpoint, token: other.rootToken }, 'GET', 'pki_int/cert/ca_chain')
    )?.data as { ca_chain: string };
    tamper.current = async () => (answer) => {
      answer.data.ca_chain = foreign.ca_chain.split(/\n(?=-----BEGIN)/);
    };
    expect(await codeOf(sign)).toBe('CERTLOOP_CA_RESPONSE_INVALID');
  });

  it('a leaf signed by another CA of the same name, under a chain already validated: the signature check catches it', async () => {
    tamper.current = undefined;
    await sign(); // the issuer chain is now validated and cached
    const otherRoot = { endpoint: other.endpoint, token: other.rootToken };
    tamper.current = async (_path, request) => {
      const forged = (await vaultCall(otherRoot, 'POST', 'pki_int/sign/certloop', { csr: request.csr, ttl: '600s' }))
        ?.data as { certificate: string };
      return (answer) => {
        answer.data.certificate = forged.certificate;
      };
    };
    const err = await sign().then(
      () => undefined,
      (e: { code: string; details?: Record<string, unknown> }) => e,
    );
    expect(err?.code).toBe('CERTLOOP_CA_RESPONSE_INVALID');
    expect(err?.details?.chainError).toBe('CERTLOOP_CHAIN_SIGNATURE_INVALID');
  });

  it("a serial_number or expiration that is not the certificate's", async () => {
    tamper.current = async () => (answer) => {
      answer.data.serial_number = '01:02:03';
    };
    expect(await codeOf(sign)).toBe('CERTLOOP_CA_RESPONSE_INVALID');
    tamper.current = async () => (answer) => {
      answer.data.expiration += 3600;
    };
    expect(await codeOf(sign)).toBe('CERTLOOP_CA_RESPONSE_INVALID');
  });
});

describe('issuer rotation in Vault', () => {
  it('an issued chain naming an unknown issuer refreshes the trust bundle once', async () => {
    const root = { endpoint: fx.emulator.endpoint, token: fx.emulator.rootToken };
    await vaultCall(root, 'POST', 'sys/mounts/pki_rot', { type: 'pki', config: { max_lease_ttl: '87600h' } });
    await vaultCall(root, 'POST', 'pki_rot/root/generate/internal', {
      common_name: 'root one',
      key_type: 'ec',
      ttl: '8760h',
    });
    await vaultCall(root, 'POST', 'pki_rot/roles/r', { allow_any_name: true, key_type: 'any' });
    const events: VaultSignerEvent[] = [];
    await vaultCall(root, 'PUT', 'sys/policies/acl/rot', {
      policy: 'path "pki_rot/sign/r" { capabilities = ["update"] }',
    });
    const created = await vaultCall(root, 'POST', 'auth/token/create', { policies: 'rot', ttl: '1h' });
    const token = (created?.auth as { client_token: string } | undefined)?.client_token ?? '';
    const rotating = await fx.signer({
      mount: 'pki_rot',
      role: 'r',
      auth: { method: 'token', token },
      onEvent: (e) => events.push(e),
    });
    const csr = await makeCsr({ commonName: 'agent' });
    const first = await rotating.sign({ csrPem: csr.csrPem, lifetimeSeconds: 600, profile: 'client' });
    const rotated = (
      await vaultCall(root, 'POST', 'pki_rot/root/generate/internal', {
        common_name: 'root two',
        key_type: 'ec',
        ttl: '8760h',
      })
    )?.data as { issuer_id: string; certificate: string };
    await vaultCall(root, 'POST', 'pki_rot/config/issuers', { default: rotated.issuer_id });
    const second = await rotating.sign({ csrPem: csr.csrPem, lifetimeSeconds: 600, profile: 'client' });
    expect(events.filter((e) => e.type === 'trust-bundle-refreshed')).toHaveLength(1);
    // both roots are published in the mount: both are trusted, the default's first
    expect(splitPemBundle(second.trustBundlePem).map((p) => p.trim())).toEqual([
      rotated.certificate.trim(),
      splitPemBundle(first.trustBundlePem)[0]!.trim(),
    ]);
    expect(await rotating.trustBundle()).toBe(second.trustBundlePem);
  });
});
