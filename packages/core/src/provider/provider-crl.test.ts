import { connect } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCertificateAuthority } from '../ca/local-ca.js';
import { authorityFromSecret, bootstrapRelayPki } from '../relay/bootstrap.js';
import { DEFAULT_RELAY_SECRET_NAMES as N } from '../relay/layout.js';
import { MemorySecretStore } from '../store/memory-store.js';
import { CredentialProvider } from './credential-provider.js';
import { serveEcho } from './test-support.js';

// OpenSSL checks validity and CRL times against the real clock during a handshake, so this PKI lives in real time.
let store: MemorySecretStore;
let signingCa: LocalCertificateAuthority;
let rootCa: LocalCertificateAuthority;
let trustBundlePem: string;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  store = new MemorySecretStore();
  const pki = await bootstrapRelayPki({ store, token: false });
  signingCa = pki.signingCa;
  trustBundlePem = pki.trustBundlePem;
  rootCa = authorityFromSecret((await store.get(N.root))!, { store });
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const serve = (provider: CredentialProvider) =>
  serveEcho({ provider: provider, cleanups, requireClientCertificate: true });

/** One round trip with the agent's certificate: 'ok' when the server echoes, 'refused' when the handshake fails. */
function attempt(port: number, agent: { certificatePem: string; chainPem: string; privateKeyPem: string }) {
  return new Promise<'ok' | 'refused'>((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: trustBundlePem,
      key: agent.privateKeyPem,
      cert: agent.certificatePem + agent.chainPem,
    });
    cleanups.push(() => socket.destroy());
    socket.once('secureConnect', () => socket.write('ping'));
    socket.once('data', () => resolve('ok'));
    socket.once('error', () => resolve('refused'));
    socket.once('close', () => resolve('refused'));
  });
}

describe('CredentialProvider with CRLs (client auth over real TLS)', () => {
  it('refuses a revoked agent from the next handshake on, and keeps serving the others', async () => {
    const agent = (name: string) => signingCa.issue({ commonName: name, lifetimeSeconds: 86_400, profile: 'client' });
    const alice = await agent('alice');
    const mallory = await agent('mallory');

    const provider = new CredentialProvider({ name: N.server, watcher: store, usage: 'serverAuth' });
    await provider.start();
    cleanups.push(() => provider.close());
    const port = await serve(provider);
    expect(await attempt(port, mallory)).toBe('ok');

    await signingCa.revoke({ serialNumber: mallory.serialNumber, reason: 'keyCompromise' });
    // Node sets CRL_CHECK_ALL: the root's (empty) CRL covers the intermediate
    const rootCrl = (await rootCa.publishCrl()).crlPem;
    provider.setCrls([(await signingCa.currentCrl())!, rootCrl]);
    expect(await attempt(port, mallory)).toBe('refused');
    expect(await attempt(port, alice)).toBe('ok');

    // the same CRLs given at construction work the same way
    const fresh = new CredentialProvider({
      name: N.server,
      watcher: store,
      usage: 'serverAuth',
      crls: [(await signingCa.currentCrl())!, rootCrl],
    });
    await fresh.start();
    cleanups.push(() => fresh.close());
    const port2 = await serve(fresh);
    expect(await attempt(port2, mallory)).toBe('refused');
    expect(await attempt(port2, alice)).toBe('ok');

    // clearing the CRLs lets everyone in again; a malformed CRL is refused and changes nothing
    expect(() => provider.setCrls('-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n')).toThrowError(
      expect.objectContaining({ code: 'CERTLOOP_CRL_INVALID' }),
    );
    expect(await attempt(port, mallory)).toBe('refused');
    provider.setCrls(undefined);
    expect(await attempt(port, mallory)).toBe('ok');
  });
});
