import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultClient } from './client.js';
import { isInvalidTokenError } from './errors.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** What each path answers: status and JSON body (none for 204). */
const ANSWERS: Record<string, [number, unknown?]> = {
  '/v1/pki/sign/web': [200, { data: { certificate: 'x' }, warnings: null }],
  '/v1/pki/empty': [204],
  '/v1/pki/refused': [400, { errors: ['something is wrong'] }],
  '/v1/pki/unknown-role': [400, { errors: ['unknown role: web'] }],
  '/v1/pki/denied': [403, { errors: ['permission denied'] }],
  '/v1/pki/stale-token': [403, { errors: ['invalid token'] }],
  '/v1/pki/sealed': [503, { errors: ['Vault is sealed'] }],
  '/v1/pki/missing': [404, { errors: [] }],
};

describe("VaultClient.write: straight to certloop's request layer, as node-vault's write would send and judge it", () => {
  let server: Server;
  let endpoint: string;
  const seen: Seen[] = [];
  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        if (req.url === '/v1/pki/slow') return; // never answers
        const [status, answer] = ANSWERS[req.url!] ?? [404, { errors: [] }];
        if (answer === undefined) res.writeHead(status).end();
        else res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const request = (client: VaultClient, token?: string) =>
    client
      .write('pki/sign/web', { csr: 'PEM', ttl: '60s', exclude_cn_from_sans: true }, { token })
      .then((answer) => ({ answer, request: seen.at(-1)! }));

  it('sends the same method, path, token and namespace headers and JSON body as node-vault, and gets the same answer', async () => {
    const direct = new VaultClient({ endpoint: `${endpoint}/`, namespace: 'team-a', timeoutMs: 5000 });
    const viaNodeVault = new VaultClient({ endpoint, namespace: 'team-a', timeoutMs: 5000, httpLayer: 'node-vault' });
    try {
      const ours = await request(direct, 's.token');
      const theirs = await request(viaNodeVault, 's.token');
      expect(ours.answer).toEqual({ data: { certificate: 'x' }, warnings: null });
      expect(ours.answer).toEqual(theirs.answer);
      for (const { request: sent } of [ours, theirs]) {
        expect(sent).toMatchObject({ method: 'POST', url: '/v1/pki/sign/web' });
        expect(JSON.parse(sent.body)).toEqual({ csr: 'PEM', ttl: '60s', exclude_cn_from_sans: true });
        expect(sent.headers['x-vault-token']).toBe('s.token');
        expect(sent.headers['x-vault-namespace']).toBe('team-a');
        expect(sent.headers['content-type']).toMatch(/^application\/json/);
      }
      // no token given: none sent (node-vault's remembered token and VAULT_TOKEN never go out)
      expect((await request(direct)).request.headers['x-vault-token']).toBeUndefined();
      expect(await direct.write('pki/empty', {})).toEqual({});
    } finally {
      direct.close();
      viaNodeVault.close();
    }
  });

  it("maps Vault's refusals to the same typed errors as node-vault's path", async () => {
    const direct = new VaultClient({ endpoint, timeoutMs: 5000 });
    const viaNodeVault = new VaultClient({ endpoint, timeoutMs: 5000, httpLayer: 'node-vault' });
    try {
      const cases: [string, string][] = [
        ['pki/refused', 'CERTLOOP_VAULT_REQUEST_REJECTED'],
        ['pki/unknown-role', 'CERTLOOP_NOT_FOUND'],
        ['pki/denied', 'CERTLOOP_FORBIDDEN'],
        ['pki/stale-token', 'CERTLOOP_UNAUTHENTICATED'],
        ['pki/sealed', 'CERTLOOP_UNAVAILABLE'],
        ['pki/missing', 'CERTLOOP_NOT_FOUND'],
      ];
      for (const [path, code] of cases) {
        for (const client of [direct, viaNodeVault]) {
          const err = await client.write(path, {}, { token: 't' }).catch((e: unknown) => e);
          expect(err, path).toMatchObject({ code, details: { path } });
          expect(isInvalidTokenError(err)).toBe(path === 'pki/stale-token');
        }
      }
    } finally {
      direct.close();
      viaNodeVault.close();
    }
  });

  it('a timeout is CERTLOOP_TIMEOUT, an abort CERTLOOP_ABORTED, an unreachable Vault CERTLOOP_UNAVAILABLE', async () => {
    const direct = new VaultClient({ endpoint, timeoutMs: 50 });
    const unreachable = new VaultClient({ endpoint: 'http://127.0.0.1:1', timeoutMs: 5000 });
    try {
      await expect(direct.write('pki/slow', {})).rejects.toMatchObject({ code: 'CERTLOOP_TIMEOUT' });
      const controller = new AbortController();
      const pending = unreachable.write('pki/slow', {}, { signal: controller.signal });
      controller.abort();
      await expect(pending).rejects.toMatchObject({ code: 'CERTLOOP_ABORTED' });
      await expect(direct.write('pki/slow', {}, { signal: AbortSignal.abort() })).rejects.toMatchObject({
        code: 'CERTLOOP_ABORTED',
      });
      await expect(unreachable.write('pki/x', {})).rejects.toMatchObject({
        code: 'CERTLOOP_UNAVAILABLE',
        details: { errorCode: 'ECONNREFUSED' },
      });
    } finally {
      direct.close();
      unreachable.close();
    }
  });
});
