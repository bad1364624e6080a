/**
 * examples/vault-backed: the management server. HTTPS with mTLS, its certificate from a CredentialProvider (hot
 * reload); it signs agents' CSRs through Vault, binding each to the caller's current client certificate, or to the
 * requested agent name when the caller presents the bootstrap token.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { CertificateAuthority, CredentialProvider, Identity } from '@certloop/core';

export interface ManagementServerOptions {
  readonly provider: CredentialProvider;
  readonly ca: CertificateAuthority;
  readonly token: string;
  readonly onRequest?: (path: string, ok: boolean, code?: string) => void;
}

function tokenMatches(expected: string, presented: string | undefined): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(presented ?? '');
  return a.length === b.length && timingSafeEqual(a, b);
}

function peerIdentity(socket: TLSSocket): Identity | undefined {
  if (!socket.authorized) return undefined;
  const peer = socket.getPeerCertificate();
  const cn = typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined;
  const dnsNames = (peer.subjectaltname ?? '')
    .split(', ')
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  return cn ? { commonName: cn, dnsNames } : undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 64 * 1024) throw new Error('body too large');
  }
  return body;
}

export async function startManagementServer(
  options: ManagementServerOptions,
): Promise<{ server: Server; port: number }> {
  await options.provider.ready();
  const server = createServer(
    // requestCert without rejectUnauthorized: /bootstrap serves agents that have no certificate yet
    { ...options.provider.secureContextOptions(), requestCert: true, rejectUnauthorized: false },
    async (req, res) => {
      const socket = req.socket as TLSSocket;
      const path = req.url ?? '/';
      const reply = (status: number, body: unknown, code?: string) => {
        options.onRequest?.(path, status < 400, code);
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      try {
        if (path === '/hello' && req.method === 'GET') {
          const id = peerIdentity(socket);
          return id ? reply(200, { hello: id.commonName }) : reply(401, { error: 'client certificate required' });
        }
        if ((path === '/sign' || path === '/bootstrap') && req.method === 'POST') {
          const body = JSON.parse(await readBody(req)) as { csrPem: string; lifetimeSeconds: number; agent?: string };
          let identity: Identity | undefined;
          if (path === '/sign') identity = peerIdentity(socket);
          else if (tokenMatches(options.token, req.headers.authorization?.replace(/^Bearer /, '')) && body.agent) {
            identity = { commonName: body.agent, dnsNames: [body.agent] };
          }
          if (!identity) return reply(401, { error: 'not authenticated' });
          const result = await options.ca.sign({
            csrPem: body.csrPem,
            lifetimeSeconds: body.lifetimeSeconds,
            profile: 'client',
            identity,
          });
          return reply(200, result);
        }
        reply(404, { error: 'not found' });
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'bad request';
        reply(400, { error: code }, code);
      }
    },
  );
  options.provider.bindServer(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}
