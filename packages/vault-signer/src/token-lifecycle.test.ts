import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ManualClock } from '@certloop/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { VaultSignerEvent } from './events.js';
import { makeCsr, type PkiFixture, pkiFixture } from './test-support.js';
import { serviceAccountJwt, setupKubernetesAuth, vaultCall } from './testing/index.js';

const HOUR = 3600_000;
let fx: PkiFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe('token lifecycle on a ManualClock', () => {
  it('a simulated week with 1 h tokens and a 24 h max TTL: renewals and re-logins on time, never an expired token', async () => {
    const start = Date.parse('2026-03-01T00:00:00Z');
    const clock = new ManualClock(start);
    fx = await pkiFixture({ clock });
    const events: { at: number; event: VaultSignerEvent }[] = [];
    let r = 0;
    const signer = await fx.signer({
      random: () => {
        r = (r * 9301 + 49297) % 233280; // deterministic jitter
        return r / 233280;
      },
      onEvent: (event) => events.push({ at: clock.now().getTime(), event }),
    });
    const csr = await makeCsr({ commonName: 'agent' });
    const sign = () => signer.sign({ csrPem: csr.csrPem, lifetimeSeconds: 3600, profile: 'client' });
    await sign();
    const end = start + 7 * 24 * HOUR;
    let nextSign = start + 6 * HOUR;
    let signs = 1;
    for (let guard = 0; clock.now().getTime() < end && guard < 10_000; guard++) {
      const timer = clock.nextTimerAt()?.getTime() ?? end;
      await clock.advanceTo(Math.min(timer, nextSign, end));
      await signer.settled();
      if (clock.now().getTime() >= nextSign) {
        await sign();
        signs += 1;
        nextSign += 6 * HOUR;
      }
    }
    expect(signs).toBe(29); // at 0 h, then every 6 h up to and including the end of the week
    // no request ever went out with a token the emulator no longer knew (expired or revoked)
    expect(fx.emulator.requests.filter((q) => q.token === 'unknown')).toEqual([]);
    expect(fx.emulator.requests.filter((q) => q.status >= 400)).toEqual([]);
    const actions = events.filter((e) => e.event.type === 'login' || e.event.type === 'token-renewed');
    const logins = actions.filter((e) => e.event.type === 'login');
    const renewals = actions.filter((e) => e.event.type === 'token-renewed');
    // one login a day (the 24 h max TTL), renewals at 72-80 % of each hour in between
    expect(logins.length).toBeGreaterThanOrEqual(8);
    expect(logins.length).toBeLessThanOrEqual(9);
    expect(renewals.length).toBeGreaterThan(200);
    for (let i = 1; i < logins.length; i++) expect(logins[i]!.at - logins[i - 1]!.at).toBeLessThan(24 * HOUR);
    for (let i = 1; i < actions.length; i++) {
      const gap = actions[i]!.at - actions[i - 1]!.at;
      const previous = actions[i - 1]!.event;
      const ttl = previous.type === 'login' || previous.type === 'token-renewed' ? previous.ttlSeconds * 1000 : HOUR;
      expect(gap).toBeLessThanOrEqual(0.8 * ttl + 1);
      expect(gap).toBeGreaterThanOrEqual(0.72 * ttl - 1);
    }
    expect(renewals.filter((e) => e.event.type === 'token-renewed' && e.event.atMaxTtl).length).toBe(logins.length - 1);
    expect(JSON.stringify(events)).not.toContain('hvs.');
    signer.close();
  });

  it('kubernetes auth re-reads the service account token file at each login', async () => {
    const clock = new ManualClock('2026-03-01T00:00:00Z');
    fx = await pkiFixture({ clock });
    const target = { endpoint: fx.emulator.endpoint, token: fx.emulator.rootToken };
    await setupKubernetesAuth({
      ...target,
      role: 'agent',
      policies: ['pki'],
      serviceAccounts: ['agent'],
      namespaces: ['gloo-mesh'],
      tokenTtl: '1h',
      tokenMaxTtl: '1h',
    });
    const dir = mkdtempSync(join(tmpdir(), 'certloop-sa-'));
    const jwtPath = join(dir, 'token');
    try {
      writeFileSync(jwtPath, serviceAccountJwt({ namespace: 'gloo-mesh', name: 'agent' }));
      const events: VaultSignerEvent[] = [];
      const signer = await fx.signer({
        auth: { method: 'kubernetes', role: 'agent', jwtPath },
        onEvent: (e) => events.push(e),
      });
      const csr = await makeCsr({ commonName: 'agent' });
      await signer.sign({ csrPem: csr.csrPem, lifetimeSeconds: 600, profile: 'client' });
      // the kubelet swaps in a token for another service account: the next login reads it and is refused
      const foreign = serviceAccountJwt({ namespace: 'gloo-mesh', name: 'intruder' });
      writeFileSync(jwtPath, foreign);
      await clock.advance(HOUR);
      await signer.settled();
      const failed = events.find((e) => e.type === 'login-failed');
      expect(failed?.type === 'login-failed' && failed.error.code).toBe('CERTLOOP_UNAUTHENTICATED');
      // a good token again: the next call logs in with it
      writeFileSync(jwtPath, serviceAccountJwt({ namespace: 'gloo-mesh', name: 'agent' }));
      await signer.sign({ csrPem: csr.csrPem, lifetimeSeconds: 600, profile: 'client' });
      expect(events.filter((e) => e.type === 'login')).toHaveLength(2);
      expect(inspect(events, { depth: 10 })).not.toContain(foreign);
      signer.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a renewable token given as it is: looked up once, renewed before it expires', async () => {
    const clock = new ManualClock('2026-03-01T00:00:00Z');
    fx = await pkiFixture({ clock });
    const target = { endpoint: fx.emulator.endpoint, token: fx.emulator.rootToken };
    const created = await vaultCall(target, 'POST', 'auth/token/create', {
      policies: 'pki',
      ttl: '1h',
      explicit_max_ttl: '4h',
    });
    const token = (created?.auth as { client_token: string } | undefined)?.client_token ?? '';
    const events: VaultSignerEvent[] = [];
    const signer = await fx.signer({
      auth: { method: 'token', token },
      onEvent: (e) => events.push(e),
      random: () => 0,
    });
    const csr = await makeCsr({ commonName: 'agent' });
    await signer.sign({ csrPem: csr.csrPem, lifetimeSeconds: 600, profile: 'client' });
    expect(fx.emulator.requests.filter((r) => r.path === 'auth/token/lookup-self')).toHaveLength(1);
    for (let hour = 0; hour < 3; hour++) {
      await clock.advance(HOUR);
      await signer.settled();
      await signer.sign({ csrPem: csr.csrPem, lifetimeSeconds: 600, profile: 'client' });
    }
    expect(events.filter((e) => e.type === 'token-renewed').length).toBeGreaterThanOrEqual(3);
    expect(fx.emulator.requests.filter((r) => r.token === 'unknown')).toEqual([]);
    signer.close();
  });

  it('a missing service account token file: unauthenticated', async () => {
    fx = await pkiFixture();
    const signer = await fx.signer({ auth: { method: 'kubernetes', role: 'agent', jwtPath: '/nonexistent/token' } });
    const csr = await makeCsr({ commonName: 'agent' });
    await expect(signer.sign({ csrPem: csr.csrPem, lifetimeSeconds: 600, profile: 'client' })).rejects.toMatchObject({
      code: 'CERTLOOP_UNAUTHENTICATED',
    });
  });
});
