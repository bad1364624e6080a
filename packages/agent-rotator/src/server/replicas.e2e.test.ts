/**
 * Replicas (issue 16, item 4): two RelayServer processes behind one address (node:cluster), on one file store.
 * Agents' connections spread over both; a revocation written to the store is seen by both (the revoked agent's
 * stream ends, the others stay); only replica 0 republishes the CRL. Fleet sizes run in bench/relay-fleet.ts.
 * End to end (three real Node processes, several seconds): `npm run test:e2e`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootstrapRelayPki, FileSecretStore, isRevokingAuthority } from '@certloop/core';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapClient, relayClient, unary } from '../agent/channel.js';
import type { AgentMessage, BootstrapRequest, ServerMessage, SignResponse } from '../shared/proto.js';
import { ERROR_CODE_TRAILER } from '../shared/status.js';
import { TEST_TOKEN, until } from '../testing/index.js';
import { csrFor } from './test-support.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Reply {
  kind: string;
  index: number;
  [k: string]: unknown;
}

describe('RelayServer replicas', () => {
  it('spread agents over two processes behind one address, and both see a revocation', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-replicas-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const store = new FileSecretStore({ directory: dir });
    cleanups.push(() => store.close());
    const pki = await bootstrapRelayPki({ store, token: TEST_TOKEN });
    const primary: ChildProcess = fork(fileURLToPath(new URL('./fixtures/replica-node.ts', import.meta.url)), [dir], {
      execArgv: ['--conditions=source', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const replies: Reply[] = [];
    primary.on('message', (m: Reply) => replies.push(m));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          if (primary.exitCode !== null) return resolve();
          primary.once('exit', () => resolve());
          primary.send({ kind: 'stop' });
        }),
    );
    await until(() => replies.filter((r) => r.kind === 'ready').length === 2, 20_000);
    const ready = replies.filter((r) => r.kind === 'ready');
    expect(new Set(ready.map((r) => r.address)).size).toBe(1); // one address
    expect(new Set(ready.map((r) => r.pid)).size).toBe(2); // two processes
    const address = String(ready[0]!.address);
    const trust = pki.trustBundlePem;

    const boot = bootstrapClient({ serverAddress: address, serverName: 'localhost' }, trust);
    cleanups.push(() => boot.close());
    const agents: Array<{ serial: string; ended: Promise<string> }> = [];
    for (let n = 0; n < 6; n++) {
      const cluster = `cluster-${n}`;
      const { csrPem, privateKeyPem } = await csrFor(cluster);
      const request: BootstrapRequest = { token: TEST_TOKEN, cluster, csrPem, lifetimeSeconds: 3600 };
      const issued = await unary<BootstrapRequest, SignResponse>(boot, 'Bootstrap', request);
      const credentials = grpc.credentials.createSsl(
        Buffer.from(trust),
        Buffer.from(privateKeyPem),
        Buffer.from(issued.certificatePem + issued.chainPem),
      );
      const client = relayClient({ serverAddress: address, serverName: 'localhost' }, credentials);
      cleanups.push(() => client.close());
      const stream = (
        client as unknown as { Connect(): grpc.ClientDuplexStream<AgentMessage, ServerMessage> }
      ).Connect();
      const welcomed = new Promise<void>((resolve) => stream.on('data', (m: ServerMessage) => m.welcome && resolve()));
      const ended = new Promise<string>((resolve) => {
        stream.on('error', (e: grpc.ServiceError) => resolve(String(e.metadata?.get(ERROR_CODE_TRAILER)[0])));
        stream.on('end', () => resolve('end'));
      });
      stream.write({ hello: { cluster, agent: 'replicas-test' } });
      await welcomed;
      cleanups.push(() => stream.cancel());
      agents.push({ serial: issued.serialNumber, ended });
    }

    const metrics = async () => {
      const before = replies.length;
      primary.send({ kind: 'metrics' });
      await until(() => replies.slice(before).filter((r) => r.kind === 'metrics').length === 2);
      return replies
        .slice(before)
        .filter((r) => r.kind === 'metrics')
        .sort((a, b) => a.index - b.index);
    };
    const spread = await metrics();
    expect(spread.map((m) => m.connectedAgents as number).reduce((a, b) => a + b)).toBe(6);
    for (const m of spread) expect(m.connectedAgents).toBeGreaterThan(0); // both replicas carry agents
    expect(spread.map((m) => m.republishCrl)).toEqual([true, false]); // one CRL writer

    const ca = pki.signingCa;
    if (!isRevokingAuthority(ca)) throw new Error('the relay PKI signs with a revoking CA');
    await ca.revoke({ serialNumber: agents[0]!.serial, reason: 'keyCompromise' });
    expect(await agents[0]!.ended).toBe('CERTLOOP_CHAIN_REVOKED');
    let seen: Reply[] = [];
    await until(async () => {
      seen = await metrics();
      return seen.every((m) => m.crlNumber !== undefined);
    }, 10_000);
    expect(seen[0]!.crlNumber).toBe(seen[1]!.crlNumber);
    expect(seen.map((m) => m.connectedAgents as number).reduce((a, b) => a + b)).toBe(5);
  }, 30_000);
});
