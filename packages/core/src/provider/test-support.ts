/**
 * Internal test support for the CredentialProvider tests (`provider/*.test.ts`): a TLS echo server on loopback
 * kept on a provider's material. Not exported from any barrel.
 */
import { createServer, type Server } from 'node:tls';
import type { CredentialProvider } from './credential-provider.js';

export interface EchoServerRequest {
  readonly provider: CredentialProvider;
  /** The server's close is pushed here; the test's afterEach runs it. */
  readonly cleanups: Array<() => unknown>;
  /** Ask for and verify a client certificate (mutual TLS); without it, no client certificate is asked for. */
  readonly requireClientCertificate: boolean;
}

/** Starts a TLS echo server on 127.0.0.1 bound to the provider; resolves its port. Client TLS errors are ignored. */
export async function serveEcho(request: EchoServerRequest): Promise<number> {
  const { provider, cleanups } = request;
  const tls = request.requireClientCertificate
    ? { requestCert: true, rejectUnauthorized: true }
    : { requestCert: false };
  const server: Server = createServer({ ...provider.secureContextOptions(), ...tls }, (socket) =>
    socket.on('data', (d) => socket.write(d)),
  );
  server.on('tlsClientError', () => undefined);
  provider.bindServer(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}
