/**
 * `certloop inspect https://host:port`: the certificate chain a live TLS endpoint presents, as it presents it (leaf
 * first), read without trusting it, so the command can show it and then judge it against a bundle and the host name.
 */
import { X509Certificate } from 'node:crypto';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { cliError } from '../lib/errors.js';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** The name asked for by SNI and checked against the certificate: the URL's host. */
  readonly servername: string;
}

export interface PresentedChain {
  /** The certificates as sent, leaf first, PEM. */
  readonly certificatesPem: string;
  readonly protocol: string | null;
  readonly cipher: string;
}

/** `https://host[:port][/...]` (or `tls://`) as an endpoint; undefined for anything else (a file). */
export function endpointOf(text: string): Endpoint | undefined {
  if (!/^(https|tls):\/\//i.test(text)) return undefined;
  let url: URL;
  try {
    url = new URL(text.replace(/^tls:/i, 'https:'));
  } catch (err) {
    throw cliError('CERTLOOP_USAGE', `${text} is not a URL`, 'write https://HOST:PORT', err);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: url.port ? Number(url.port) : 443, servername: host };
}

/** Connects, reads the presented chain, and closes; never sends anything after the handshake. */
export function readPresentedChain(
  endpoint: Endpoint,
  signal: AbortSignal,
  timeoutMs = 10_000,
): Promise<PresentedChain> {
  return new Promise((resolve, reject) => {
    const isIp = /^[\d.]+$|:/.test(endpoint.servername);
    const socket = connect({
      host: endpoint.host,
      port: endpoint.port,
      ...(isIp ? {} : { servername: endpoint.servername }),
      rejectUnauthorized: false, // read it whatever it is; it is judged afterwards
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    const fail = (err: unknown) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        cliError(
          'CERTLOOP_UNAVAILABLE',
          `no TLS handshake with ${endpoint.host}:${endpoint.port}: ${err instanceof Error ? err.message : String(err)}`,
          'check the address and port, and that it speaks TLS there',
          err,
        ),
      );
    };
    const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    const onAbort = () => fail(new Error('interrupted'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      const pems: string[] = [];
      const seen = new Set<string>();
      let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (cert?.raw && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        pems.push(new X509Certificate(cert.raw).toString());
        cert = cert.issuerCertificate;
      }
      const result = {
        certificatesPem: pems.join(''),
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().name,
      };
      socket.end();
      socket.destroy();
      if (pems.length === 0) {
        reject(cliError('CERTLOOP_INVALID_PEM', `${endpoint.host}:${endpoint.port} presented no certificate`));
        return;
      }
      resolve(result);
    });
  });
}

/** Whether the leaf names the host (DNS name or IP address, RFC 6125 as Node checks it); the reason when not. */
export function hostnameProblem(leafPem: string, host: string): string | undefined {
  const cert = new X509Certificate(leafPem);
  const isIp = /^[\d.]+$|:/.test(host);
  const ok = isIp ? cert.checkIP(host) !== undefined : cert.checkHost(host) !== undefined;
  return ok ? undefined : `the certificate does not name ${host} (${cert.subjectAltName ?? 'no subjectAltName'})`;
}
