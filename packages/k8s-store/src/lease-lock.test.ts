import { rejectionCode } from '@certloop/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesLeaseLock } from './lease-lock.js';
import { type KubernetesApiEmulator, startKubernetesApiEmulator } from './testing/index.js';

let emulator: KubernetesApiEmulator;
beforeAll(async () => {
  emulator = await startKubernetesApiEmulator();
});
afterAll(async () => {
  await emulator.close();
});

const record = (holder: string, at = new Date('2026-05-01T12:00:00.123Z')) => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: at,
  renewTime: at,
  leaseTransitions: 0,
});

async function rawLease(name: string, namespace = 'leases') {
  const res = await fetch(`${emulator.url}/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`);
  return (await res.json()) as { spec: Record<string, unknown>; metadata: { resourceVersion: string } };
}

describe('KubernetesLeaseLock', () => {
  it('get of a missing lease is undefined; create writes MicroTime with exactly six fractional digits', async () => {
    const lock = new KubernetesLeaseLock({ kubeConfig: emulator.kubeConfig, namespace: 'leases', name: 'first' });
    expect(await lock.get()).toBeUndefined();
    const { version } = await lock.create(record('a'));
    const raw = await rawLease('first');
    expect(raw.spec.renewTime).toBe('2026-05-01T12:00:00.123000Z');
    expect(raw.spec.acquireTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(raw.metadata.resourceVersion).toBe(version);
    const got = await lock.get();
    expect(got).toEqual({ record: record('a'), version });
    lock.close();
  });

  it('create of an existing lease and update at a stale version are conflicts that write nothing', async () => {
    const a = new KubernetesLeaseLock({ kubeConfig: emulator.kubeConfig, namespace: 'leases', name: 'cas' });
    const b = new KubernetesLeaseLock({ kubeConfig: emulator.kubeConfig, namespace: 'leases', name: 'cas' });
    const { version } = await a.create(record('a'));
    expect(await rejectionCode(b.create(record('b')))).toBe('CERTLOOP_CONFLICT');
    const next = await a.update({ record: { ...record('a'), leaseTransitions: 1 }, expectedVersion: version });
    expect(next.version).not.toBe(version);
    expect(await rejectionCode(b.update({ record: record('b'), expectedVersion: version }))).toBe('CERTLOOP_CONFLICT');
    expect((await b.get())?.record.holderIdentity).toBe('a');
    a.close();
    b.close();
  });

  it('update of a missing lease is a conflict; a release (empty holder) round-trips', async () => {
    const lock = new KubernetesLeaseLock({ kubeConfig: emulator.kubeConfig, namespace: 'leases', name: 'gone' });
    expect(await rejectionCode(lock.update({ record: record('a'), expectedVersion: '5' }))).toBe('CERTLOOP_CONFLICT');
    const { version } = await lock.create(record('a'));
    await lock.update({ record: { ...record(''), leaseDurationSeconds: 1 }, expectedVersion: version });
    expect((await lock.get())?.record).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    lock.close();
  });

  it('keeps labels and annotations of the cached object on update (PUT of the whole object)', async () => {
    const res = await fetch(`${emulator.url}/apis/coordination.k8s.io/v1/namespaces/leases/leases`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'labelled', labels: { app: 'relay' } }, spec: { holderIdentity: '' } }),
    });
    expect(res.status).toBe(201);
    const lock = new KubernetesLeaseLock({ kubeConfig: emulator.kubeConfig, namespace: 'leases', name: 'labelled' });
    const current = (await lock.get())!;
    await lock.update({ record: record('me'), expectedVersion: current.version });
    const raw = (await rawLease('labelled')) as unknown as { metadata: { labels: Record<string, string> } };
    expect(raw.metadata.labels).toEqual({ app: 'relay' });
    lock.close();
  });

  it('refuses bad names before any I/O', () => {
    expect(() => new KubernetesLeaseLock({ kubeConfig: emulator.kubeConfig, namespace: 'Bad', name: 'x' })).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
  });
});
