import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupPki, startVaultEmulator, vaultCall } from './testing/index.js';
import { requestLayer } from './transport.js';

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};
const bodyOf = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString();
    });
    req.on('end', () => resolve(text));
  });

describe("the request layer node-vault runs on (node-vault's `request-promise` option)", () => {
  let plain: Server;
  let plainPort: number;
  const seen: { method: string; url: string; body: string; token: string | undefined }[] = [];
  beforeAll(async () => {
    plain = createHttpServer(async (req: IncomingMessage, res: ServerResponse) => {
      const body = await bodyOf(req);
      seen.push({
        method: req.method!,
        url: req.url!,
        body,
        token: req.headers['x-vault-token'] as string | undefined,
      });
      if (req.url === '/v1/moved') res.writeHead(307, { Location: '/v1/here' }).end();
      else if (req.url === '/v1/found') res.writeHead(302, { Location: '/v1/here' }).end();
      else if (req.url === '/v1/pem')
        res.writeHead(200, { 'Content-Type': 'application/pem-certificate-chain' }).end('-----BEGIN');
      else if (req.url === '/v1/slow') setTimeout(() => res.end('{}'), 2000).unref();
      else res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ data: { ok: true } }));
    });
    plainPort = await listen(plain);
  });
  afterAll(() => {
    plain.closeAllConnections();
    plain.close();
  });
  const rp = requestLayer.defaults({ strictSSL: true });
  const uri = (path: string) => `http://127.0.0.1:${plainPort}/v1/${path}`;

  it('sends method, headers and JSON body; parses JSON answers; gives other answers as text', async () => {
    const answer = await rp({ method: 'POST', uri: uri('x'), headers: { 'X-Vault-Token': 't' }, json: { a: 1 } });
    expect(answer).toEqual({ statusCode: 200, body: { data: { ok: true } }, request: { path: '/v1/x' } });
    expect(seen.at(-1)).toEqual({ method: 'POST', url: '/v1/x', body: '{"a":1}', token: 't' });
    expect((await rp({ method: 'GET', uri: uri('pem') })).body).toBe('-----BEGIN');
  });

  it('follows 307 with the same method and body; answers 302 as it is', async () => {
    const answer = await rp({ method: 'POST', uri: uri('moved'), headers: { 'X-Vault-Token': 't' }, json: { b: 2 } });
    expect(answer.statusCode).toBe(200);
    expect(seen.slice(-2).map((s) => [s.method, s.url, s.body])).toEqual([
      ['POST', '/v1/moved', '{"b":2}'],
      ['POST', '/v1/here', '{"b":2}'],
    ]);
    expect((await rp({ method: 'GET', uri: uri('found') })).statusCode).toBe(302);
  });

  it('a timeout is an error with code ETIMEDOUT; an abort destroys the request', async () => {
    await expect(rp({ method: 'GET', uri: uri('slow'), timeout: 50 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    await expect(rp({ method: 'GET', uri: uri('slow'), signal: AbortSignal.timeout(50) })).rejects.toMatchObject({
      name: 'AbortError',
    });
    await expect(rp({ method: 'GET', uri: 'http://127.0.0.1:1/v1/x' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('HTTPS with the TLS options node-vault users pass: ca, strictSSL', async () => {
    const emu = await startVaultEmulator();
    const target = { endpoint: emu.endpoint, token: emu.rootToken };
    try {
      const pki = await setupPki({ ...target, roleFields: { key_type: 'ec' } });
      const issued = (
        await vaultCall(target, 'POST', `${pki.mount}/issue/${pki.role}`, {
          common_name: 'localhost',
          ip_sans: '127.0.0.1',
          ttl: '1h',
        })
      )?.data as { certificate: string; private_key: string; ca_chain: string[] };
      const tls = createHttpsServer(
        { key: issued.private_key, cert: `${issued.certificate}\n${issued.ca_chain.join('\n')}` },
        (_req, res) => res.end('{"data":{"tls":true}}'),
      );
      const port = await listen(tls as unknown as Server);
      try {
        const url = `https://127.0.0.1:${port}/v1/x`;
        expect((await rp({ method: 'GET', uri: url, ca: pki.rootPem })).body).toEqual({ data: { tls: true } });
        await expect(rp({ method: 'GET', uri: url })).rejects.toMatchObject({ code: expect.any(String) });
        const lax = requestLayer.defaults({ strictSSL: false });
        expect((await lax({ method: 'GET', uri: url })).statusCode).toBe(200);
        lax.close();
      } finally {
        tls.closeAllConnections();
        tls.close();
      }
    } finally {
      rp.close();
      await emu.close();
    }
  });
});
