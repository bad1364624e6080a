import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/manual-clock.js';
import { Rotator } from '../rotation/rotator.js';
import { readTlsMaterial } from '../secret/tls-layout.js';
import { StoreIssuanceLedger } from '../store/issuance-ledger.js';
import { MemorySecretStore } from '../store/memory-store.js';
import { trustBundleDigest } from './bundle-digest.js';
import { CaRotator } from './ca-rotator.js';
import type { BundleObservation, ConvergenceSource } from './consumers.js';
import {
  DAY,
  FollowingAuthority,
  NAMES,
  publishedBundle,
  relayPki,
  servedChain,
  signingKeyId,
  validates,
  YEAR,
} from './test-support.js';
import type { CaKind } from './types.js';

const AGENTS = 2;
const STEP = 14 * DAY * 1000;

describe('ten years of automatic CA rotation (ManualClock)', () => {
  it('rotates the root (10 y) and the intermediate (5 y) on time with clients (1 y, ratio 0.1): 0 failed validations', async () => {
    const start = new Date('2026-01-01T00:00:00Z');
    const clock = new ManualClock(start);
    const store = new MemorySecretStore();
    await relayPki(store, clock, { root: 10 * YEAR, intermediate: 5 * YEAR, server: YEAR });
    const ledger = new StoreIssuanceLedger({ store });
    const ca = new FollowingAuthority(store, clock, ledger);
    const active = () => signingKeyId(store);
    const agentNames = Array.from({ length: AGENTS }, (_, i) => `cluster-${i + 1}-client`);
    const rotators = [
      ...agentNames.map(
        (name, i) =>
          new Rotator({
            store,
            name,
            ca,
            ratio: 0.1,
            jitter: 0,
            lifetimeSeconds: YEAR,
            subject: { commonName: `cluster-${i + 1}` },
            clock,
            recheckIntervalMs: 14 * DAY * 1000,
            activeIssuerKeyId: active,
          }),
      ),
      // opt-in: the server certificate renewed by the same machinery
      new Rotator({
        store,
        name: NAMES.server,
        ca,
        ratio: 0.1,
        jitter: 0,
        lifetimeSeconds: YEAR,
        profile: 'server',
        role: 'server',
        subject: { commonName: 'relay-server' },
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
        clock,
        recheckIntervalMs: 14 * DAY * 1000,
        activeIssuerKeyId: active,
      }),
    ];
    // agents report the bundle they hold (as they do with every Renew and Connect)
    const agents: ConvergenceSource = {
      async observations() {
        const out: BundleObservation[] = [];
        for (const name of agentNames) {
          const secret = await store.get(name);
          const bundle = secret ? readTlsMaterial(secret).trustBundlePem : undefined;
          if (bundle) {
            out.push({
              consumer: name,
              kind: 'agent',
              bundleDigest: trustBundleDigest(bundle),
              observedAt: clock.now(),
            });
          }
        }
        return out;
      },
    };
    const caRotator = new CaRotator({
      store,
      clock,
      ledger,
      convergence: [agents],
      expectedConsumers: agentNames.map((consumer) => ({ consumer, kind: 'agent' as const })),
    });
    const happened: { ca: CaKind; type: string; at: Date }[] = [];
    caRotator.subscribe((e) => {
      if (e.type === 'failed') throw e.error;
      if (e.type !== 'waiting') happened.push({ ca: e.ca, type: e.type, at: clock.now() });
    });
    for (const r of rotators) r.start();
    await clock.advance(1000);

    let failures = 0;
    let checks = 0;
    const check = async () => {
      const now = clock.now();
      const published = await publishedBundle(store);
      const serverTrusts = await publishedBundle(store, NAMES.signing);
      const server = await servedChain(store);
      for (const bundle of [published, serverTrusts]) {
        checks++;
        if (!(await validates(server, bundle, now, 'serverAuth'))) failures++;
      }
      for (const name of agentNames) {
        const m = readTlsMaterial((await store.get(name))!);
        checks += 3;
        if (!(await validates(m.certificatePem!, serverTrusts, now, 'clientAuth'))) failures++;
        if (!(await validates(m.certificatePem!, published, now, 'clientAuth'))) failures++;
        // the agent validates the server with the bundle it holds
        if (!(await validates(server, m.trustBundlePem!, now, 'serverAuth'))) failures++;
      }
    };
    const end = start.getTime() + 10 * YEAR * 1000;
    while (clock.now().getTime() < end) {
      await clock.advance(STEP);
      const did = await caRotator.runOnce();
      await clock.advance(1000); // let leaf rotators see a new issuer
      await check();
      if (Object.values(did).some((s) => s !== 'idle' && s !== 'waiting')) await check();
    }
    for (const r of rotators) await r.stop();
    console.log(`ten years: ${checks} chain validations, ${failures} failed; ${happened.length} CA rotation steps`);

    expect({ failures, checks: checks > 1000 }).toEqual({ failures: 0, checks: true });
    const years = (d: Date) => Math.round(((d.getTime() - start.getTime()) / (YEAR * 1000)) * 100) / 100;
    const summary = happened.filter((h) => h.type !== 'resumed').map((h) => `${h.ca} ${h.type} @${years(h.at)}y`);
    // the root is prepared at half its lifetime; each intermediate at half of its own
    expect(summary.filter((s) => s.startsWith('root')).slice(0, 3)).toEqual([
      expect.stringMatching(/^root prepared @5(\.0\d?)?y$/),
      expect.stringMatching(/^root activated @6\.(6|7)\d?y$/),
      expect.stringMatching(/^root retired @6\.(6|7)\d?y$/),
    ]);
    const intermediates = summary.filter((s) => s.startsWith('intermediate prepared'));
    expect(intermediates.length).toBeGreaterThanOrEqual(2);
    expect(intermediates[0]).toMatch(/@2\.5\d?y$/);
    const retired = summary.filter((s) => s.endsWith('retired') || s.includes('retired @'));
    expect(retired.length).toBeGreaterThanOrEqual(3);
  }, 60_000);
});
