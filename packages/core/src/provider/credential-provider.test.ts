import { connect, type TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/index.js';
import { isCertloopError } from '../errors.js';
import { tlsSecretData } from '../secret/tls-layout.js';
import { MemorySecretStore } from '../store/memory-store.js';
import { createTestPki, type TestLeaf, type TestPki } from '../testing/pki.js';
import { CredentialProvider, type ProviderEvent } from './credential-provider.js';
import { serveEcho } from './test-support.js';

let pki: TestPki;
let foreign: TestPki;
let a: TestLeaf;
let b: TestLeaf;
let client: TestLeaf;
const cleanups: Array<() => void | Promise<void>> = [];

beforeAll(async () => {
  pki = await createTestPki();
  foreign = await createTestPki({ rootCommonName: 'foreign root' });
  a = await pki.issue({ commonName: 'server-a', dnsNames: ['localhost'], profile: 'server' });
  b = await pki.issue({ commonName: 'server-b', dnsNames: ['localhost'], profile: 'server' });
  client = await pki.issue({ commonName: 'agent', profile: 'client' });
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const serve = (provider: CredentialProvider) =>
  serveEcho({ provider: provider, cleanups, requireClientCertificate: true });

/** Connects with the agent's client certificate and resolves the server certificate's serial. */
async function handshake(port: number): Promise<{ serial: string; socket: TLSSocket }> {
  const socket = connect({
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    ca: pki.trustBundlePem,
    key: client.privateKeyPem,
    cert: client.certificatePem,
  });
  cleanups.push(() => void socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  return { serial: socket.getPeerCertificate().serialNumber.toLowerCase().replace(/^0+/, ''), socket };
}

const strip = (serial: string) => serial.replace(/^0+/, '');

function nextEvent(provider: CredentialProvider, type: ProviderEvent['type']): Promise<ProviderEvent> {
  return new Promise((resolve) => {
    const off = provider.subscribe((e) => {
      if (e.type === type) {
        off();
        resolve(e);
      }
    });
  });
}

async function started(
  store: MemorySecretStore,
  options: Partial<ConstructorParameters<typeof CredentialProvider>[0]> = {},
) {
  const provider = new CredentialProvider({ name: 'srv', watcher: store, usage: 'serverAuth', ...options });
  await provider.start();
  cleanups.push(() => provider.close());
  return provider;
}

describe('CredentialProvider', () => {
  it('serves the current certificate over real TLS and hot-swaps on a store write; established connections survive', async () => {
    const store = new MemorySecretStore();
    await store.put('srv', a.secret);
    const provider = await started(store);
    const port = await serve(provider);

    const first = await handshake(port);
    expect(first.serial).toBe(strip(a.serialNumber));

    const updated = nextEvent(provider, 'updated');
    await store.put('srv', b.secret);
    const event = await updated;
    expect(event.type === 'updated' && event.previous?.leaf.serialNumber).toBe(a.serialNumber);

    const second = await handshake(port);
    expect(second.serial).toBe(strip(b.serialNumber));
    // the connection made before the swap still carries data, on the old certificate
    const echoed = new Promise<string>((resolve) => first.socket.once('data', (d) => resolve(String(d))));
    first.socket.write('still here');
    expect(await echoed).toBe('still here');
    expect(strip(first.socket.getPeerCertificate().serialNumber.toLowerCase())).toBe(strip(a.serialNumber));
  });

  it('waits in ready() until good material arrives, and exposes secure context options', async () => {
    const store = new MemorySecretStore();
    const provider = await started(store);
    expect(provider.current()).toBeUndefined();
    expect(() => provider.secureContext()).toThrowError(expect.objectContaining({ code: 'CERTLOOP_NOT_FOUND' }));
    const ready = provider.ready();
    await store.put('srv', a.secret);
    const material = await ready;
    expect(material.leaf.serialNumber).toBe(a.serialNumber);
    expect(provider.secureContextOptions()).toMatchObject({ minVersion: 'TLSv1.3', cert: a.certificatePem });
    expect(provider.secureContext()).toBeDefined();
  });

  describe('refuses a bad update and keeps serving the last good material', () => {
    const expired = async () => {
      const past = new ManualClock(Date.now() - 10 * 86_400_000);
      const old = await createTestPki({ clock: past });
      const leaf = await old.issue({ commonName: 'old', dnsNames: ['localhost'], lifetimeSeconds: 86_400 });
      return { data: tlsSecretData({ ...leaf, trustBundlePem: old.trustBundlePem }) };
    };
    const cases: Array<{
      name: string;
      input: () => Promise<{ data: Record<string, Uint8Array> }>;
      cause: string;
      pinned?: boolean;
    }> = [
      {
        name: 'certificate paired with the wrong key',
        input: async () => ({ data: tlsSecretData({ ...b, privateKeyPem: a.privateKeyPem }) }),
        cause: 'CERTLOOP_KEY_MISMATCH',
      },
      {
        name: 'chain from a foreign CA',
        input: async () => {
          const f = await foreign.issue({ commonName: 'intruder', dnsNames: ['localhost'] });
          return { data: tlsSecretData(f) };
        },
        cause: 'CERTLOOP_CHAIN_UNTRUSTED',
        pinned: true,
      },
      { name: 'expired certificate', input: expired, cause: 'CERTLOOP_CHAIN_EXPIRED' },
      {
        name: 'garbage',
        input: async () => ({
          data: { 'tls.crt': new TextEncoder().encode('garbage'), 'tls.key': new TextEncoder().encode('junk') },
        }),
        cause: 'CERTLOOP_INVALID_PEM',
      },
      {
        name: 'a client certificate where a server certificate is required',
        input: async () => ({ data: tlsSecretData(client) }),
        cause: 'CERTLOOP_CHAIN_EXT_KEY_USAGE',
      },
      {
        name: 'no key',
        input: async () => ({ data: { 'tls.crt': new TextEncoder().encode(b.certificatePem) } }),
        cause: 'none',
      },
    ];
    it.each(cases)('$name', async ({ input, cause, pinned }) => {
      const store = new MemorySecretStore();
      await store.put('srv', a.secret);
      const provider = await started(store, pinned ? { trustBundlePem: pki.trustBundlePem } : {});
      const port = await serve(provider);
      const rejected = nextEvent(provider, 'rejected');
      await store.put('srv', await input());
      const event = await rejected;
      expect(event.type).toBe('rejected');
      if (event.type !== 'rejected') return;
      expect(event.error.code).toBe('CERTLOOP_CREDENTIAL_INVALID');
      if (cause !== 'none') expect(isCertloopError(event.error.cause) && event.error.cause.code).toBe(cause);
      expect(provider.current()?.leaf.serialNumber).toBe(a.serialNumber);
      expect((await handshake(port)).serial).toBe(strip(a.serialNumber));
    });
  });

  it('keeps the last good material when the secret is deleted, and reports it', async () => {
    const store = new MemorySecretStore();
    await store.put('srv', a.secret);
    const provider = await started(store);
    const deleted = nextEvent(provider, 'deleted');
    await store.delete('srv');
    await deleted;
    expect(provider.current()?.leaf.serialNumber).toBe(a.serialNumber);
  });

  it('reports expiry of the current material on the injected clock', async () => {
    const clock = new ManualClock(Date.now());
    const short = await createTestPki({ clock, policy: { backdateSeconds: 0 } });
    const leaf = await short.issue({ commonName: 'short', dnsNames: ['localhost'], lifetimeSeconds: 3600 });
    const provider = new CredentialProvider({ name: 'srv', usage: 'serverAuth', clock });
    cleanups.push(() => provider.close());
    const events: string[] = [];
    provider.subscribe((e) => events.push(e.type));
    expect(
      await provider.offer({
        name: 'srv',
        version: '1',
        labels: {},
        annotations: {},
        ...leaf.secret,
        type: 'kubernetes.io/tls',
      }),
    ).toBe(true);
    await clock.advance(3599_000);
    // by default `expiring` fires a tenth of the lifetime (6 minutes here) before notAfter
    expect(events).toEqual(['updated', 'expiring']);
    await clock.advance(1000);
    expect(events).toEqual(['updated', 'expiring', 'expired']);
  });

  it('processes offers in order: a slow older offer never overwrites a newer one', async () => {
    const provider = new CredentialProvider({ name: 'srv', usage: 'serverAuth' });
    cleanups.push(() => provider.close());
    const offer = (leaf: TestLeaf, version: string) =>
      provider.offer({
        name: 'srv',
        version,
        type: 'kubernetes.io/tls',
        labels: {},
        annotations: {},
        data: leaf.secret.data,
      });
    await Promise.all([offer(a, '1'), offer(b, '2')]);
    expect(provider.current()?.version).toBe('2');
    expect(await offer(b, '2')).toBe(false); // same version: nothing to do
  });

  it('rejects an invalid minVersion with a typed error', () => {
    expect(() => new CredentialProvider({ name: 'srv', minVersion: 'TLSv1' as 'TLSv1.2' })).toThrowError(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
  });
});

describe('CredentialProvider.ready', () => {
  it('rejects with CERTLOOP_CLOSED when closed while waiting, and CERTLOOP_ABORTED on abort', async () => {
    const provider = new CredentialProvider({ name: 'srv', watcher: new MemorySecretStore() });
    await provider.start();
    const abort = new AbortController();
    const aborted = provider.ready({ signal: abort.signal });
    abort.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'CERTLOOP_ABORTED' });
    const waiting = provider.ready();
    provider.close();
    await expect(waiting).rejects.toMatchObject({ code: 'CERTLOOP_CLOSED' });
  });
});
