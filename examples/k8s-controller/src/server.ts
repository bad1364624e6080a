/**
 * examples/k8s-controller server: the management server's mTLS endpoint on the current server certificate (hot
 * reloaded by its provider), answering each agent with the serial of the client certificate it presented; and
 * `/metrics` (Prometheus text) with the expiry monitor's gauges.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { CredentialProvider } from '@certloop/core';
import type { Registry } from 'prom-client';

export async function startMtlsServer(provider: CredentialProvider): Promise<{ server: HttpsServer; port: number }> {
  const server = createHttpsServer(
    { ...provider.secureContextOptions(), requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      res.end(JSON.stringify({ clientSerial: peer.serialNumber }));
    },
  );
  provider.bindServer(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

export async function startMetricsServer(registry: Registry): Promise<{ server: HttpServer; port: number }> {
  const server = createHttpServer(async (_req, res) => {
    res.setHeader('Content-Type', registry.contentType);
    res.end(await registry.metrics());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}
