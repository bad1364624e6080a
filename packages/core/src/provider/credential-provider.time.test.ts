/**
 * CredentialProvider when time runs out (issue 11): ready() after a restart with only expired material, the
 * expiry policy (keep serving or refuse), the least remaining lifetime accepted on a swap, the `expiring` event and
 * wall-clock steps. Real TLS handshakes on loopback; the provider's time is a ManualClock, the peers' is the host's.
 */
import { connect, type TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/index.js';
import { isCertloopError } from '../errors.js';
import { MemorySecretStore } from '../store/memory-store.js';
import type { Secret, SecretInput } from '../store/types.js';
import { createTestPki, type TestLeaf, type TestPki } from '../testing/pki.js';
import { CredentialProvider, type CredentialProviderOptions, type ProviderEvent } from './credential-provider.js';
import { serveEcho } from './test-support.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The host's time when the suite starts: certificates are issued around it so real peers accept them. */
const REAL = Date.now();
let clock: ManualClock;
let pki: TestPki;
let hourLeaf: TestLeaf; // valid [REAL, REAL + 1 h]
let monthLeaf: TestLeaf; // valid [REAL - 1 min, REAL + 30 days]
let shortLeaf: TestLeaf; // valid [REAL - 58 min, REAL + 2 min]: short-lived, yet valid for the whole suite
const cleanups: Array<() => void | Promise<void>> = [];

beforeAll(async () => {
  clock = new ManualClock(REAL - HOUR);
  pki = await createTestPki({ clock, policy: { backdateSeconds: 0 } });
  clock.setWall(REAL - HOUR + 120_000);
  shortLeaf = await pki.issue({ commonName: 'short', dnsNames: ['localhost'], lifetimeSeconds: 3_600 });
  clock.setWall(REAL - 60_000);
  monthLeaf = await pki.issue({ commonName: 'month', dnsNames: ['localhost'], lifetimeSeconds: 30 * 86_400 });
  clock.setWall(REAL);
  hourLeaf = await pki.issue({ commonName: 'hour', dnsNames: ['localhost'], lifetimeSeconds: 3_600 });
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let versions = 0;
const secretOf = (leaf: TestLeaf): Secret => ({
  name: 'srv',
  version: String(++versions),
  type: 'kubernetes.io/tls',
  labels: {},
  annotations: {},
  ...(leaf.secret as SecretInput),
});

/** A provider on its own ManualClock starting at `at` (wall), closed after the test. */
function provider(at: number, options: Partial<CredentialProviderOptions> = {}) {
  const own = new ManualClock(at);
  const p = new CredentialProvider({ name: 'srv', usage: 'serverAuth', clock: own, ...options });
  const events: ProviderEvent[] = [];
  p.subscribe((e) => events.push(e));
  cleanups.push(() => p.close());
  return { p, clock: own, events, types: () => events.map((e) => e.type) };
}

const serve = (p: CredentialProvider) => serveEcho({ provider: p, cleanups, requireClientCertificate: false });

/** A verifying client (the host's clock); resolves the server certificate's serial and the socket. */
async function handshake(port: number): Promise<{ serial: string; socket: TLSSocket }> {
  const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.trustBundlePem });
  cleanups.push(() => void socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  return { serial: strip(socket.getPeerCertificate().serialNumber), socket };
}

const strip = (serial: string) => serial.toLowerCase().replace(/^0+/, '');

async function echo(socket: TLSSocket, text: string): Promise<string> {
  const answer = new Promise<string>((resolve) => socket.once('data', (d) => resolve(String(d))));
  socket.write(text);
  return answer;
}

describe('CredentialProvider.ready after a restart with only expired material', () => {
  it('rejects ready() and secureContext() with CERTLOOP_CREDENTIAL_EXPIRED by default', async () => {
    const { p, events } = provider(REAL + 2 * HOUR);
    expect(() => p.secureContext()).toThrowError(expect.objectContaining({ code: 'CERTLOOP_NOT_FOUND' }));
    expect(await p.offer(secretOf(hourLeaf))).toBe(false);
    await expect(p.ready()).rejects.toMatchObject({ code: 'CERTLOOP_CREDENTIAL_EXPIRED' });
    expect(() => p.secureContext()).toThrowError(expect.objectContaining({ code: 'CERTLOOP_CREDENTIAL_EXPIRED' }));
    expect(() => p.secureContextOptions()).toThrowError(
      expect.objectContaining({ code: 'CERTLOOP_CREDENTIAL_EXPIRED' }),
    );
    const rejected = events.find((e) => e.type === 'rejected');
    expect(rejected?.type === 'rejected' && isCertloopError(rejected.error.cause, 'CERTLOOP_CHAIN_EXPIRED')).toBe(true);
  });

  it('settles after start() on a store that holds only expired material (a restart), with or without waiting', async () => {
    const store = new MemorySecretStore();
    await store.put('srv', hourLeaf.secret);
    const restarted = provider(REAL + 2 * HOUR, { watcher: store });
    await restarted.p.start();
    await expect(restarted.p.ready()).rejects.toMatchObject({ code: 'CERTLOOP_CREDENTIAL_EXPIRED' });

    const patient = provider(REAL + 2 * HOUR, { watcher: store, readyPolicy: 'wait' });
    await patient.p.start();
    const ready = patient.p.ready();
    await store.put('srv', monthLeaf.secret);
    expect((await ready).leaf.serialNumber).toBe(monthLeaf.serialNumber);
    const port = await serve(patient.p);
    expect((await handshake(port)).serial).toBe(strip(monthLeaf.serialNumber));
  });

  it('says why when the only material is refused for another reason (the cause is kept)', async () => {
    const { p } = provider(REAL + 60_000);
    const mismatched = {
      ...secretOf(hourLeaf),
      data: { ...hourLeaf.secret.data, 'tls.key': monthLeaf.secret.data['tls.key']! },
    };
    await p.offer(mismatched);
    const error = await p.ready().catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'CERTLOOP_CREDENTIAL_INVALID' });
    expect(isCertloopError((error as Error).cause, 'CERTLOOP_KEY_MISMATCH')).toBe(true);
    expect(() => p.secureContext()).toThrowError(expect.objectContaining({ code: 'CERTLOOP_CREDENTIAL_INVALID' }));
  });

  it("with readyPolicy 'wait', resolves on the first valid material and then serves it over TLS", async () => {
    const { p } = provider(REAL + 2 * HOUR, { readyPolicy: 'wait' });
    await p.offer(secretOf(hourLeaf));
    let settled = false;
    const ready = p.ready().finally(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    expect(() => p.secureContext()).toThrowError(expect.objectContaining({ code: 'CERTLOOP_CREDENTIAL_EXPIRED' }));
    await p.offer(secretOf(monthLeaf));
    expect((await ready).leaf.serialNumber).toBe(monthLeaf.serialNumber);
    const port = await serve(p);
    expect((await handshake(port)).serial).toBe(strip(monthLeaf.serialNumber));
  });
});

describe('CredentialProvider when its only material expires', () => {
  it('by default emits expired, keeps serving the certificate and keeps established connections', async () => {
    const { p, clock: own, types, events } = provider(REAL + 1_000);
    await p.offer(secretOf(hourLeaf));
    const port = await serve(p);
    const established = await handshake(port);
    await own.advance(HOUR);
    expect(types()).toEqual(['updated', 'expiring', 'expired']);
    expect(events.at(-1)).toMatchObject({ type: 'expired', serving: true });
    // the established connection carries on, new handshakes still get the same certificate
    expect(await echo(established.socket, 'still here')).toBe('still here');
    expect((await handshake(port)).serial).toBe(strip(hourLeaf.serialNumber));
    expect(p.secureContext()).toBeDefined();
    expect((await p.ready()).leaf.serialNumber).toBe(hourLeaf.serialNumber);
  });

  it('with refuseExpired, refuses new handshakes and says why, keeps established connections, and recovers on valid material', async () => {
    const { p, clock: own, events } = provider(REAL + 1_000, { refuseExpired: true });
    await p.offer(secretOf(hourLeaf));
    const port = await serve(p);
    const established = await handshake(port);
    await own.advance(HOUR);
    expect(events.at(-1)).toMatchObject({ type: 'expired', serving: false });
    // a handshake_failure alert: OpenSSL 3.0 (Node 20) names it SSLV3_ALERT_..., OpenSSL 3.5 (Node 24) SSL/TLS_ALERT_...
    await expect(handshake(port)).rejects.toMatchObject({ code: expect.stringMatching(/_ALERT_HANDSHAKE_FAILURE$/) });
    expect(await echo(established.socket, 'still here')).toBe('still here');
    expect(() => p.secureContext()).toThrowError(expect.objectContaining({ code: 'CERTLOOP_CREDENTIAL_EXPIRED' }));
    await expect(p.ready()).rejects.toMatchObject({ code: 'CERTLOOP_CREDENTIAL_EXPIRED' });

    await p.offer(secretOf(monthLeaf));
    expect((await handshake(port)).serial).toBe(strip(monthLeaf.serialNumber));
    expect((await p.ready()).leaf.serialNumber).toBe(monthLeaf.serialNumber);
  });

  it('notices expiry within the recheck interval when the wall clock steps past notAfter', async () => {
    const { p, clock: own, types } = provider(REAL + 1_000, { recheckIntervalMs: 60_000, expiringBeforeMs: 0 });
    await p.offer(secretOf(hourLeaf));
    own.stepWall(2 * DAY);
    await own.advance(59_999);
    expect(types()).toEqual(['updated']);
    await own.advance(1);
    expect(types()).toEqual(['updated', 'expired']);
  });
});

describe('CredentialProvider swaps and warnings', () => {
  it('refuses a swap to a certificate with less than minRemainingLifetimeMs left while the current one lasts longer', async () => {
    const { p, events } = provider(REAL, { minRemainingLifetimeMs: 30 * 60_000 });
    await p.offer(secretOf(monthLeaf));
    const port = await serve(p);
    expect(await p.offer(secretOf(shortLeaf))).toBe(false);
    const rejected = events.at(-1);
    expect(rejected?.type === 'rejected' && rejected.error.code).toBe('CERTLOOP_CREDENTIAL_INVALID');
    expect(
      rejected?.type === 'rejected' && isCertloopError(rejected.error.cause, 'CERTLOOP_CREDENTIAL_EXPIRES_TOO_SOON'),
    ).toBe(true);
    expect((await handshake(port)).serial).toBe(strip(monthLeaf.serialNumber));
    // a certificate with more than the minimum left is taken
    expect(await p.offer(secretOf(hourLeaf))).toBe(true);
    expect((await handshake(port)).serial).toBe(strip(hourLeaf.serialNumber));
  });

  it('without the option (the default), swaps to whatever valid material comes, and takes short-lived material when nothing else is valid', async () => {
    const plain = provider(REAL);
    await plain.p.offer(secretOf(monthLeaf));
    expect(await plain.p.offer(secretOf(shortLeaf))).toBe(true);
    const first = provider(REAL, { minRemainingLifetimeMs: 30 * 60_000 });
    expect(await first.p.offer(secretOf(shortLeaf))).toBe(true);
    const port = await serve(first.p);
    expect((await handshake(port)).serial).toBe(strip(shortLeaf.serialNumber));
  });

  it('emits expiring once, expiringBeforeMs before notAfter, and at once for material already inside the window', async () => {
    const { p, clock: own, events, types } = provider(hourLeaf.notBefore.getTime(), { expiringBeforeMs: 10 * 60_000 });
    await p.offer(secretOf(hourLeaf));
    await own.advance(50 * 60_000 - 1);
    expect(types()).toEqual(['updated']);
    await own.advance(1);
    expect(events.at(-1)).toMatchObject({ type: 'expiring', remainingMs: 10 * 60_000 });
    await own.advance(5 * 60_000);
    expect(types()).toEqual(['updated', 'expiring']);

    const late = provider(hourLeaf.notBefore.getTime() + 55 * 60_000, { expiringBeforeMs: 10 * 60_000 });
    await late.p.offer(secretOf(hourLeaf));
    expect(late.types()).toEqual(['updated', 'expiring']);
  });

  it.each([
    ['a negative minRemainingLifetimeMs', { minRemainingLifetimeMs: -1 }],
    ['a zero recheck interval', { recheckIntervalMs: 0 }],
    ['an unknown readyPolicy', { readyPolicy: 'maybe' as 'wait' }],
    ['NaN expiringBeforeMs', { expiringBeforeMs: Number.NaN }],
  ])('rejects %s with CERTLOOP_INVALID_CONFIG', (_name, options) => {
    expect(() => new CredentialProvider({ name: 'srv', ...options })).toThrowError(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
  });
});
