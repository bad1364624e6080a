/**
 * Three replicas of one agent share a client secret; the elected one renews it. The leader is killed in the middle
 * of a renewal, after its CSR reached the server and before it could write the answer: the next leader finishes,
 * and the secret is never lost or left half-written (the dead leader's certificate is never stored).
 */
import {
  authorityFromSecret,
  type CertificateAuthority,
  LeaseElector,
  type LeaseLock,
  MemoryLeaseLock,
  type PutOptions,
  readTlsMaterial,
  type SecretInput,
  type SecretStore,
  type SignResult,
  validateTlsSecret,
} from '@certloop/core';
import { describe, expect, it } from 'vitest';
import { relayPerTest } from '../relay-per-test.test-support.js';
import { startTestRelay, until } from '../testing/index.js';
import type { RelayAgent } from './relay-agent.js';

const { startRelay } = relayPerTest();

/** A CA that can be held: CSRs that arrive while it is held wait at the server until it is released. */
function gatedCa(inner: CertificateAuthority) {
  let release: (() => void) | undefined;
  let gate: Promise<void> = Promise.resolve();
  const state = { waiting: 0, issued: [] as SignResult[] };
  const ca: CertificateAuthority = {
    trustBundle: (options) => inner.trustBundle(options),
    async sign(request, options) {
      state.waiting++;
      await gate;
      state.waiting--;
      const result = await inner.sign(request, options);
      state.issued.push(result);
      return result;
    },
  };
  return {
    ca,
    state,
    hold() {
      gate = new Promise((resolve) => {
        release = resolve;
      });
    },
    release() {
      release?.();
    },
  };
}

/** A lease lock that fails every call once its holder is "dead" (a crashed process neither renews nor releases). */
function killable(lock: LeaseLock, dead: { value: boolean }): LeaseLock {
  const guard = <T>(call: () => Promise<T>) => (dead.value ? Promise.reject(new Error('process killed')) : call());
  return {
    describe: () => lock.describe(),
    get: (options) => guard(() => lock.get(options)),
    create: (record, options) => guard(() => lock.create(record, options)),
    update: (request, options) => guard(() => lock.update(request, options)),
  };
}

describe('leader killed mid-rotation', () => {
  it('the next leader finishes the renewal; nothing is lost or half-written', async () => {
    const setup = await startTestRelay();
    const signingSecret = (await setup.store.get('relay-tls-signing-secret'))!;
    const signing = authorityFromSecret(signingSecret, { policy: { backdateSeconds: 0 } });
    await setup.stop();
    const gate = gatedCa(signing);
    const relay = await startRelay({
      store: setup.store,
      ca: gate.ca,
      clientIntermediatesPem: readTlsMaterial(signingSecret).certificatePem!,
    });
    const store = relay.store;
    const puts: Array<{ replica: string; serial: string }> = [];
    const lock = new MemoryLeaseLock();
    const replicas = ['replica-a', 'replica-b', 'replica-c'].map((identity) => {
      const dead = { value: false };
      const recording: SecretStore = {
        get: (name, options) => store.get(name, options),
        list: (options) => store.list(options),
        delete: (name, options) => store.delete(name, options),
        put: async (name: string, input: SecretInput, options?: PutOptions) => {
          const written = await store.put(name, input, options);
          puts.push({ replica: identity, serial: written.annotations['certloop.io/serial'] ?? '' });
          return written;
        },
      };
      const leader = new LeaseElector({
        lock: killable(lock, dead),
        identity,
        leaseDurationMs: 800,
        renewDeadlineMs: 500,
        retryPeriodMs: 100,
      });
      const agent: RelayAgent = relay!.agent({
        cluster: 'cluster-1',
        store: recording,
        watcher: store,
        leader,
        agentName: identity,
        // 3600 s certificates renewed 3.6 s after issue (no backdate, no jitter), so a renewal comes quickly
        lifetimeSeconds: 3600,
        ratio: 0.999,
        jitter: 0,
        recheckIntervalMs: 200,
        rotationBackoff: { initialMs: 100, maxMs: 500 },
      });
      return { identity, dead, leader, agent };
    });
    await Promise.all(replicas.map((r) => r.agent.start()));
    // the first leader bootstraps the secret
    await until(() => puts.length === 1);
    const bootstrapped = (await store.get('relay-client-tls-secret'))!;

    // hold the server's CA: the next CSR (the renewal) waits at the server
    gate.hold();
    await until(() => gate.state.waiting === 1, 15_000);
    const victim = replicas.find((r) => r.leader.isLeader())!;
    expect(victim.identity).toBe(puts[0]!.replica);
    victim.dead.value = true; // its lease is neither renewed nor released
    await victim.agent.stop();
    gate.release();
    await until(() => gate.state.issued.length === 2); // the server did sign the dead leader's CSR...

    await until(() => puts.length === 2, 15_000);
    const renewed = (await store.get('relay-client-tls-secret'))!;
    const successor = replicas.find((r) => r.leader.isLeader())!;
    expect(successor.identity).not.toBe(victim.identity);
    expect(puts[1]!.replica).toBe(successor.identity);
    // ...but that answer was never stored: the stored certificate is the successor's, whole and valid
    const deadAnswer = gate.state.issued[1]!.serialNumber;
    expect(renewed.annotations['certloop.io/serial']).not.toBe(deadAnswer);
    expect(gate.state.issued.map((r) => r.serialNumber)).toContain(renewed.annotations['certloop.io/serial']);
    expect(puts.filter((p) => p.replica === victim.identity)).toHaveLength(1);
    const material = await validateTlsSecret(renewed, { at: new Date(), usage: 'clientAuth' });
    expect(material.leaf.subject.commonName).toBe('cluster-1');
    expect(renewed.version).not.toBe(bootstrapped.version);
    // the survivors see the new certificate and keep their streams (an established connection stays valid)
    const alive = replicas.filter((r) => r !== victim);
    await until(() => alive.every((r) => r.agent.status().certificate?.serialNumber === material.leaf.serialNumber));
    for (const r of alive) expect(r.agent.status().connection.state).toBe('connected');
    for (const r of replicas) await r.leader.stop().catch(() => undefined);
  });
});
