import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/manual-clock.js';
import { LeaseElector } from './lease-elector.js';
import type { LeaseRecord } from './lease-lock.js';
import { recordEvents, TinySecretStore } from './lease-test-kit.js';
import { LEASE_DATA_KEY, LEASE_SECRET_TYPE, StoreLeaseLock } from './store-lease-lock.js';

const record: LeaseRecord = {
  holderIdentity: 'replica-1',
  leaseDurationSeconds: 15,
  acquireTime: new Date('2026-01-01T00:00:00.001Z'),
  renewTime: new Date('2026-01-01T00:00:04.250Z'),
  leaseTransitions: 2,
};
const utf8 = (text: string) => new TextEncoder().encode(text);
const code = (expected: string) => expect.objectContaining({ code: expected });

describe('StoreLeaseLock', () => {
  it('keeps the record as lease.json with MicroTime strings in a certloop.io/lease secret', async () => {
    const store = new TinySecretStore();
    const lock = new StoreLeaseLock({ store, name: 'my-lease' });
    expect(await lock.get()).toBeUndefined();
    const { version } = await lock.create(record);
    const secret = (await store.get('my-lease'))!;
    expect(secret.type).toBe(LEASE_SECRET_TYPE);
    expect(secret.version).toBe(version);
    expect(JSON.parse(new TextDecoder().decode(secret.data[LEASE_DATA_KEY]))).toEqual({
      holderIdentity: 'replica-1',
      leaseDurationSeconds: 15,
      acquireTime: '2026-01-01T00:00:00.001000Z',
      renewTime: '2026-01-01T00:00:04.250000Z',
      leaseTransitions: 2,
    });
    expect(await lock.get()).toEqual({ record, version });
    expect(lock.describe()).toBe('secret/my-lease');
  });

  it('uses the store compare-and-swap: a second create and a stale update are CERTLOOP_CONFLICT and write nothing', async () => {
    const store = new TinySecretStore();
    const lock = new StoreLeaseLock({ store, name: 'my-lease' });
    const first = await lock.create(record);
    await expect(lock.create({ ...record, holderIdentity: 'intruder' })).rejects.toThrowError(
      code('CERTLOOP_CONFLICT'),
    );
    const second = await lock.update({ record: { ...record, leaseTransitions: 3 }, expectedVersion: first.version });
    expect(second.version).not.toBe(first.version);
    await expect(
      lock.update({ record: { ...record, holderIdentity: 'late' }, expectedVersion: first.version }),
    ).rejects.toThrowError(code('CERTLOOP_CONFLICT'));
    expect((await lock.get())?.record).toMatchObject({ holderIdentity: 'replica-1', leaseTransitions: 3 });
  });

  it('round-trips a released record without times', async () => {
    const lock = new StoreLeaseLock({ store: new TinySecretStore(), name: 'l' });
    const released: LeaseRecord = { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 };
    await lock.create(released);
    expect((await lock.get())?.record).toEqual(released);
  });

  it.each([
    ['not JSON', LEASE_SECRET_TYPE, '{"holderIdentity":'],
    ['not UTF-8', LEASE_SECRET_TYPE, new Uint8Array([0xff, 0xfe])],
    ['a JSON array', LEASE_SECRET_TYPE, '[]'],
    ['a numeric holder', LEASE_SECRET_TYPE, '{"holderIdentity":1,"leaseDurationSeconds":15,"leaseTransitions":0}'],
    ['a zero duration', LEASE_SECRET_TYPE, '{"holderIdentity":"a","leaseDurationSeconds":0,"leaseTransitions":0}'],
    [
      'a fractional duration',
      LEASE_SECRET_TYPE,
      '{"holderIdentity":"a","leaseDurationSeconds":1.5,"leaseTransitions":0}',
    ],
    [
      'negative transitions',
      LEASE_SECRET_TYPE,
      '{"holderIdentity":"a","leaseDurationSeconds":15,"leaseTransitions":-1}',
    ],
    [
      'a millisecond time',
      LEASE_SECRET_TYPE,
      '{"holderIdentity":"a","leaseDurationSeconds":15,"leaseTransitions":0,"renewTime":"2026-01-01T00:00:00.000Z"}',
    ],
    ['another secret type', 'Opaque', '{"holderIdentity":"a","leaseDurationSeconds":15,"leaseTransitions":0}'],
  ])('reads a secret holding %s as CERTLOOP_STORE_CORRUPT', async (_name, type, content) => {
    const store = new TinySecretStore();
    const bytes = typeof content === 'string' ? utf8(content) : content;
    await store.put('bad', { type, data: { [LEASE_DATA_KEY]: bytes } });
    await expect(new StoreLeaseLock({ store, name: 'bad' }).get()).rejects.toThrowError(code('CERTLOOP_STORE_CORRUPT'));
  });

  it('refuses to write an invalid record', async () => {
    const lock = new StoreLeaseLock({ store: new TinySecretStore(), name: 'l' });
    await expect(lock.create({ ...record, leaseDurationSeconds: 0 })).rejects.toThrowError(
      code('CERTLOOP_INVALID_ARGUMENT'),
    );
    await expect(lock.create({ ...record, renewTime: new Date(Number.NaN) })).rejects.toThrowError(
      code('CERTLOOP_INVALID_ARGUMENT'),
    );
  });

  it('honours an aborted signal', async () => {
    const lock = new StoreLeaseLock({ store: new TinySecretStore(), name: 'l' });
    await expect(lock.get({ signal: AbortSignal.abort() })).rejects.toThrowError(code('CERTLOOP_ABORTED'));
  });

  it('rejects missing options with CERTLOOP_INVALID_CONFIG', () => {
    const store = new TinySecretStore();
    expect(() => new StoreLeaseLock({ store, name: '' })).toThrowError(code('CERTLOOP_INVALID_CONFIG'));
    expect(() => new StoreLeaseLock({ store: undefined as never, name: 'l' })).toThrowError(
      code('CERTLOOP_INVALID_CONFIG'),
    );
  });

  it('carries an election: one leader, a corrupt record is a failed round, failover after the lease', async () => {
    const clock = new ManualClock();
    const store = new TinySecretStore();
    const electors = ['a', 'b'].map(
      (identity) =>
        new LeaseElector({ lock: new StoreLeaseLock({ store, name: 'lease' }), identity, clock, random: () => 0 }),
    );
    const [a, b] = electors as [LeaseElector, LeaseElector];
    const bEvents = recordEvents(b);
    a.start();
    await clock.settle();
    b.start();
    await clock.advance(10_000);
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);

    // A corrupt record stops everyone from renewing or taking over; the holder loses at its deadline.
    await store.put('lease', { type: LEASE_SECRET_TYPE, data: { [LEASE_DATA_KEY]: utf8('garbage') } });
    await clock.advance(12_000);
    expect([a.isLeader(), b.isLeader()]).toEqual([false, false]);

    // Once the record is readable again (a crashed holder's last state), b waits out the lease and takes it.
    await store.put('lease', {
      type: LEASE_SECRET_TYPE,
      data: { [LEASE_DATA_KEY]: utf8('{"holderIdentity":"a","leaseDurationSeconds":15,"leaseTransitions":0}') },
    });
    await a.stop();
    await clock.advance(14_000);
    expect(b.isLeader()).toBe(false);
    await clock.advance(4_000);
    expect(b.isLeader()).toBe(true);
    expect(bEvents.filter((e) => e.type === 'elected')).toHaveLength(1);
    await b.stop();
  });
});
