/**
 * DESIGN.md's flows, end to end in file mode: bring-your-own (certloop watches, reloads, monitors, never writes) and
 * mixed (a bring-your-own intermediate, say from cert-manager, signs the client certificates certloop rotates).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/index.js';
import { ExpiryMonitor } from '../monitor/expiry-monitor.js';
import { CredentialProvider, type ProviderEvent } from '../provider/credential-provider.js';
import { Rotator, type RotatorEvent } from '../rotation/rotator.js';
import { tlsSecretData } from '../secret/tls-layout.js';
import { FileSecretStore } from '../store/file-store.js';
import { createTestPki } from '../testing/pki.js';
import { inspectCertificate } from '../x509/inspect.js';
import { authorityFromSecret } from './bootstrap.js';
import { DEFAULT_RELAY_SECRET_NAMES as N } from './layout.js';

const CERT_MANAGER = { 'cert-manager.io/certificate-name': 'relay', 'cert-manager.io/issuer-name': 'ca-issuer' };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fileStore(clock: ManualClock) {
  const directory = await mkdtemp(join(tmpdir(), 'certloop-flows-'));
  // polling is only the fallback for fs.watch; hourly keeps a month on the manual clock cheap
  const store = new FileSecretStore({ directory, clock, pollIntervalMs: 3_600_000 });
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  cleanups.push(() => store.close());
  return store;
}

function next<E extends { type: string }>(subscribe: (l: (e: E) => void) => () => void, type: string): Promise<E> {
  return new Promise((resolve) => {
    const off = subscribe((e) => {
      if (e.type === type) {
        off();
        resolve(e);
      }
    });
  });
}

describe('relay flows in file mode', () => {
  it('bring-your-own: a cert-manager server secret is served, reloaded and monitored, and never written', async () => {
    const clock = new ManualClock(Date.now());
    const store = await fileStore(clock);
    const pki = await createTestPki({ clock });
    const first = await pki.issue({ commonName: 'relay-server', dnsNames: ['localhost'], role: false });
    await store.put(N.server, { ...first.secret, annotations: CERT_MANAGER });

    const provider = new CredentialProvider({ name: N.server, watcher: store, usage: 'serverAuth', clock });
    cleanups.push(() => provider.close());
    await provider.start();
    expect(provider.current()?.leaf.serialNumber).toBe(first.serialNumber);

    const rotator = new Rotator({
      store,
      name: N.server,
      ca: pki.ca,
      ratio: 0.5,
      lifetimeSeconds: 3600,
      profile: 'server',
      subject: { commonName: 'relay-server' },
      clock,
      recheckIntervalMs: 3_600_000,
    });
    const rotatorEvents: RotatorEvent[] = [];
    rotator.subscribe((e) => rotatorEvents.push(e));
    cleanups.push(() => rotator.stop());
    const skipped = next<RotatorEvent>((l) => rotator.subscribe(l), 'skipped-bring-your-own');
    rotator.start();
    await skipped;

    const monitor = new ExpiryMonitor({ watcher: store, secrets: [N.server], clock });
    cleanups.push(() => monitor.stop());
    await monitor.start();
    expect(monitor.snapshot()[0]).toMatchObject({ state: 'ok', managed: false, serialNumber: first.serialNumber });

    // cert-manager renews: the provider reloads and the monitor follows; certloop wrote nothing
    const renewed = await pki.issue({ commonName: 'relay-server', dnsNames: ['localhost'], role: false });
    const updated = next<ProviderEvent>((l) => provider.subscribe(l), 'updated');
    const written = await store.put(N.server, { ...renewed.secret, annotations: CERT_MANAGER });
    await updated;
    expect(provider.current()?.leaf.serialNumber).toBe(renewed.serialNumber);
    await clock.advance(30 * 86_400_000);
    expect((await store.get(N.server))!.version).toBe(written.version);
    expect(rotatorEvents.some((e) => e.type === 'started' || e.type === 'succeeded')).toBe(false);
  });

  it('mixed: certloop rotates client certificates signed by a bring-your-own intermediate', async () => {
    const clock = new ManualClock(Date.now());
    const store = await fileStore(clock);
    const byo = await createTestPki({ clock, rootCommonName: 'offline root' });
    await store.put(N.signing, {
      type: 'kubernetes.io/tls',
      data: tlsSecretData({
        certificatePem: byo.ca.certificatePem,
        privateKeyPem: byo.intermediateKeyPem,
        trustBundlePem: byo.trustBundlePem,
      }),
      annotations: CERT_MANAGER,
    });
    const signing = await store.get(N.signing);
    const ca = authorityFromSecret(signing!, { clock, policy: { backdateSeconds: 0 } });

    const rotator = new Rotator({
      store,
      name: N.client,
      ca,
      ratio: 0.5,
      jitter: 0,
      lifetimeSeconds: 3600,
      subject: { commonName: 'agent-1' },
      dnsNames: ['agent-1'],
      clock,
      recheckIntervalMs: 3_600_000,
    });
    cleanups.push(() => rotator.stop());
    const provider = new CredentialProvider({
      name: N.client,
      watcher: store,
      usage: 'clientAuth',
      trustBundlePem: byo.trustBundlePem,
      clock,
    });
    cleanups.push(() => provider.close());
    await provider.start();

    const firstLoad = next<ProviderEvent>((l) => provider.subscribe(l), 'updated');
    rotator.start();
    const first = await firstLoad;
    const firstSerial = first.type === 'updated' ? first.material.leaf.serialNumber : '';
    expect(first.type === 'updated' && first.material.leaf.issuerText).toBe(
      inspectCertificate(byo.ca.certificatePem).subjectText,
    );

    const secondLoad = next<ProviderEvent>((l) => provider.subscribe(l), 'updated');
    await clock.advance(1800_000); // half of the hour: ratio 0.5
    const second = await secondLoad;
    expect(second.type === 'updated' && second.material.leaf.serialNumber).not.toBe(firstSerial);
    // the bring-your-own intermediate is untouched
    expect((await store.get(N.signing))!.version).toBe(signing!.version);
  });
});
