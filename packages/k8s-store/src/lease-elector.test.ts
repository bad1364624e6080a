/**
 * Three KubernetesLeaseElectors against the emulator, each on its own ManualClock; the clocks advance in lockstep
 * (one shared simulated time line), and between steps the real HTTP calls to the emulator settle. A killed replica
 * is one whose clock stops and whose traffic is cut off (it can neither renew nor release).
 */
import { type LeaderEvent, ManualClock } from '@certloop/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesLeaseElector } from './lease-elector.js';
import { type KubernetesApiEmulator, startKubernetesApiEmulator } from './testing/index.js';

const START = Date.parse('2026-05-01T12:00:00Z');
const STEP_MS = 250;

interface Replica {
  readonly id: string;
  readonly clock: ManualClock;
  readonly elector: KubernetesLeaseElector;
  readonly events: Array<LeaderEvent & { step: number }>;
  alive: boolean;
}

let emulator: KubernetesApiEmulator;
let replicas: Replica[];
let step = 0;

beforeEach(async () => {
  emulator = await startKubernetesApiEmulator({ namespace: 'gloo-mesh' });
  step = 0;
  replicas = ['a', 'b', 'c'].map((id) => {
    const clock = new ManualClock(START);
    const elector = new KubernetesLeaseElector({
      kubeConfig: emulator.kubeConfigFor({ token: `replica-${id}` }),
      namespace: 'gloo-mesh',
      name: 'relay-rotator',
      identity: `replica-${id}`,
      clock,
      random: () => 0.5,
    });
    const replica: Replica = { id: `replica-${id}`, clock, elector, events: [], alive: true };
    elector.subscribe((event) => {
      if (event.type !== 'observed') replica.events.push({ ...event, step });
    });
    return replica;
  });
});

afterEach(async () => {
  for (const r of replicas) if (r.alive) await stopWithTime(r);
  await emulator.close();
});

/** Real time for in-flight HTTP calls to finish (I/O, not logic: the logic runs on the manual clocks). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 8));

async function advance(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += STEP_MS) {
    step += 1;
    for (const r of replicas) if (r.alive) await r.clock.advance(STEP_MS);
    await settle();
  }
}

async function stopWithTime(r: Replica) {
  const stopping = r.elector.stop();
  for (let i = 0; i < 50; i++) {
    const done = await Promise.race([stopping.then(() => true), settle().then(() => false)]);
    if (done) return;
    await r.clock.advance(STEP_MS);
  }
}

const leaders = () => replicas.filter((r) => r.alive && r.elector.isLeader());

async function electOne(): Promise<Replica> {
  for (const r of replicas) r.elector.start();
  for (let i = 0; i < 40 && leaders().length === 0; i++) await advance(STEP_MS);
  const found = leaders();
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('KubernetesLeaseElector: three replicas on one Lease', () => {
  it('elects exactly one leader, which keeps the lease while it renews', async () => {
    const leader = await electOne();
    for (let i = 0; i < 8; i++) {
      await advance(5_000);
      expect(leaders().map((r) => r.id)).toEqual([leader.id]);
    }
    const lease = await fetch(`${emulator.url}/apis/coordination.k8s.io/v1/namespaces/gloo-mesh/leases/relay-rotator`);
    const body = (await lease.json()) as {
      spec: { holderIdentity: string; renewTime: string; leaseDurationSeconds: number };
    };
    expect(body.spec.holderIdentity).toBe(leader.id);
    expect(body.spec.leaseDurationSeconds).toBe(15);
    expect(body.spec.renewTime).toMatch(/\.\d{6}Z$/);
  });

  it('the leader killed: another takes over only after the lease duration', async () => {
    const leader = await electOne();
    await advance(4_000);
    leader.alive = false; // its clock stops; cut off its traffic so nothing in flight lands
    emulator.faults.partition((req) => req.token === leader.id);
    const killedAt = step;
    let next: Replica[] = [];
    for (let i = 0; i < 200 && next.length === 0; i++) {
      await advance(STEP_MS);
      next = leaders();
    }
    expect(next).toHaveLength(1);
    const waitedMs = (step - killedAt) * STEP_MS;
    // no one before the lease (15 s) ran out from the others' own observation of the last renew
    expect(waitedMs).toBeGreaterThanOrEqual(15_000 - 2_000 - STEP_MS);
    expect(waitedMs).toBeLessThan(15_000 + 2 * 2_000 * 2.2 + 1_000);
    const lease = await fetch(`${emulator.url}/apis/coordination.k8s.io/v1/namespaces/gloo-mesh/leases/relay-rotator`);
    const body = (await lease.json()) as { spec: { holderIdentity: string; leaseTransitions: number } };
    expect(body.spec.holderIdentity).toBe(next[0]!.id);
    expect(body.spec.leaseTransitions).toBe(1);
  });

  it('a partitioned leader steps down within the renew deadline, before anyone else is elected', async () => {
    const leader = await electOne();
    await advance(3_000);
    const partitionedAt = step;
    const heal = emulator.faults.partition((req) => req.token === leader.id);
    let others: Replica[] = [];
    for (let i = 0; i < 200 && others.length === 0; i++) {
      await advance(STEP_MS);
      others = leaders().filter((r) => r !== leader);
    }
    heal();
    const lost = leader.events.find((e) => e.type === 'lost');
    const elected = others[0]!.events.find((e) => e.type === 'elected');
    expect(lost).toBeDefined();
    expect(elected).toBeDefined();
    // stepped down within the renew deadline (10 s) of the partition
    expect((lost!.step - partitionedAt) * STEP_MS).toBeLessThanOrEqual(10_000 + STEP_MS);
    // and strictly before the new leader was elected: never two leaders
    expect(lost!.step).toBeLessThan(elected!.step);
    expect(leaders()).toHaveLength(1);
  });

  it('a stopped leader releases the lease, so another takes it at once', async () => {
    const leader = await electOne();
    await stopWithTime(leader);
    leader.alive = false;
    const releasedAt = step;
    let next: Replica[] = [];
    for (let i = 0; i < 40 && next.length === 0; i++) {
      await advance(STEP_MS);
      next = leaders();
    }
    expect(next).toHaveLength(1);
    expect((step - releasedAt) * STEP_MS).toBeLessThanOrEqual(2_000 * 2.2 + STEP_MS);
  });
});
