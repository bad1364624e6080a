/**
 * `certloop ca`: every subcommand through the program (in this process: a dozen commands), on the file store and on the Kubernetes API emulator (with
 * `kubectl get secret relay-ca-rotation -o yaml` showing the record): a root rotation held back by a cluster that
 * has not reported {A, B} (exit 5, `not-converged`), forced, drained, refused while a leaf under A is live
 * (`leaves-live`), retired; abort before retire and its refusal after; `status` exits 1 for a CA due with no
 * rotation under way and for a stuck rotation.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BundleTablePublisher } from '@certloop/agent-rotator';
import {
  bootstrapRelayPki,
  FileSecretStore,
  inspectCertificate,
  DEFAULT_RELAY_SECRET_NAMES as N,
  readTlsMaterial,
  type SecretStore,
  StoreIssuanceLedger,
  splitPemBundle,
  trustBundleDigest,
} from '@certloop/core';
import { KubernetesSecretStore } from '@certloop/k8s-store';
import { startKubernetesApiEmulator } from '@certloop/k8s-store/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { runInProcess } from '../testing/in-process.js';
import { errorCode } from '../testing/spawn.js';
import { type Scratch, scratch } from '../testing/workspace.js';

let s: Scratch | undefined;
let emulator: Awaited<ReturnType<typeof startKubernetesApiEmulator>> | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  await s?.remove();
  s = undefined;
});

/** A server replica's published table in which cluster-7 holds `digest`. */
async function publishTable(store: SecretStore, digest: string): Promise<void> {
  const now = new Date();
  const publisher = new BundleTablePublisher({
    store,
    replica: 'server-a',
    snapshot: () => ({
      replica: 'server-a',
      publishedAt: now,
      entries: [
        { cluster: 'cluster-7', reporter: 'replica-1', via: 'stream', digest, since: now, lastSeen: now, streams: 1 },
      ],
      own: [],
    }),
  });
  await publisher.flush();
  await publisher.stop();
}

/** Moves the record's phase start back by `ms` (as if the rotation had waited that long). */
async function ageRecord(store: SecretStore, ca: string, ms: number): Promise<void> {
  const secret = (await store.get('relay-ca-rotation'))!;
  const record = JSON.parse(new TextDecoder().decode(secret.data[`${ca}.json`]));
  record.timestamps.phaseSince = new Date(Date.parse(record.timestamps.phaseSince) - ms).toISOString();
  const data = { ...secret.data, [`${ca}.json`]: new TextEncoder().encode(JSON.stringify(record)) };
  await store.put('relay-ca-rotation', { ...secret, data }, { expectedVersion: secret.version });
}

async function bundleOf(store: SecretStore): Promise<string> {
  return readTlsMaterial((await store.get(N.root))!).trustBundlePem!;
}

describe('certloop ca', { timeout: 60_000 }, () => {
  it('file store: status, prepare, activate (refused, forced), drain, retire (refused, then done), abort', async () => {
    s = await scratch();
    const dir = ['--dir', s.store];
    const run = (...args: string[]) => runInProcess(['ca', ...args, ...dir], { cwd: s!.dir });
    const store = new FileSecretStore({ directory: s.store });
    await bootstrapRelayPki({ store });
    try {
      const ok = await run('status', '-o', 'json');
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({
        alert: false,
        cas: [{ ca: 'root', due: false }, { ca: 'intermediate' }],
      });
      // a ratio that puts the root inside its renewal window now: alert
      const due = await run('status', '--ca', 'root', '--ratio', '0.99999999');
      expect(due.code).toBe(1);
      expect(due.stdout).toContain('DUE');

      const before = await bundleOf(store);
      await publishTable(store, trustBundleDigest(before));
      const prepared = await run('prepare', '--ca', 'root', '-o', 'json');
      expect(prepared.code).toBe(0);
      expect(JSON.parse(prepared.stdout).record).toMatchObject({ ca: 'root', phase: 'converge' });
      expect(splitPemBundle(await bundleOf(store))).toHaveLength(2);
      // certloop status shows the rotation beside the secrets
      const overall = await runInProcess(['status', ...dir, '--secrets', 'root,signing,server', '-o', 'json']);
      expect(JSON.parse(overall.stdout).rotations).toMatchObject([{ ca: 'root', phase: 'converge' }]);

      const refused = await run('activate', '--ca', 'root');
      expect(refused.code).toBe(5);
      expect(errorCode(refused.stderr)).toBe('CERTLOOP_CA_ROTATION_REFUSED');
      expect(refused.stderr).toContain('cluster-7');
      expect((await run('status', '--ca', 'root')).code).toBe(0);
      await ageRecord(store, 'root', 2 * 86_400_000);
      const status = await run('status', '--ca', 'root', '--stuck-after', '1d');
      expect(status.code).toBe(1); // converging for two days, longer than --stuck-after: stuck
      expect(status.stdout).toContain('STUCK');
      expect(status.stdout).toContain('waiting: agent cluster-7');

      const forced = await run('activate', '--ca', 'root', '--force', '--reason', 'cluster-7 is gone', '-o', 'json');
      expect(forced.code).toBe(0);
      const record = JSON.parse(forced.stdout).record;
      expect(record).toMatchObject({
        phase: 'drain',
        forced: [{ refusal: 'not-converged', reason: 'cluster-7 is gone' }],
      });

      // a live leaf under the old intermediate, as the server's ledger would hold it
      const oldKeyId = record.oldIntermediate.keyId as string;
      await new StoreIssuanceLedger({ store }).record({
        serialNumber: '01ab',
        issuerKeyId: oldKeyId,
        holder: 'cluster-7',
        notAfter: new Date(Date.now() + 86_400_000),
        issuedAt: new Date(),
      });
      const drained = await run('drain', '--ca', 'root', '-o', 'json');
      expect(drained.code).toBe(0);
      expect(JSON.parse(drained.stdout).drain).toMatchObject({ liveUnderOld: 1, counting: 'ledger' });
      expect(await store.get('relay-renewal-request')).toBeDefined();
      const live = await run('retire', '--ca', 'root');
      expect(live.code).toBe(5);
      expect(live.stderr).toMatch(/live/);

      const retired = await run('retire', '--ca', 'root', '--force', '-o', 'json');
      expect(retired.code).toBe(0);
      expect(JSON.parse(retired.stdout).record.phase).toBe('retired');
      const after = splitPemBundle(await bundleOf(store));
      expect(after).toHaveLength(1);
      expect(inspectCertificate(after[0]!).subjectKeyId).toBe(record.new.keyId);
      const late = await run('abort', '--ca', 'root');
      expect(late.code).toBe(5);
      expect(errorCode(late.stderr)).toBe('CERTLOOP_CA_ROTATION_REFUSED');

      // the intermediate: prepare then abort returns to A
      const signingBefore = readTlsMaterial((await store.get(N.signing))!).certificatePem;
      expect((await run('prepare', '--ca', 'intermediate')).code).toBe(0);
      const aborted = await run('abort', '--ca', 'intermediate', '-o', 'json');
      expect(aborted.code).toBe(0);
      expect(JSON.parse(aborted.stdout).record.phase).toBe('aborted');
      expect(readTlsMaterial((await store.get(N.signing))!).certificatePem).toBe(signingBefore);
      const usage = await runInProcess(['ca', 'prepare', ...dir], { cwd: s.dir });
      expect(usage.code).toBe(2);
      expect(errorCode(usage.stderr)).toBe('CERTLOOP_USAGE');
    } finally {
      await store.close();
    }
  });

  it('Kubernetes store: a root rotation by command, the record in relay-ca-rotation as kubectl shows it', async () => {
    s = await scratch();
    emulator = await startKubernetesApiEmulator({ namespace: 'gloo-mesh' });
    const k8s = ['--store', 'kubernetes', '--kubeconfig', emulator.kubeconfigPath];
    const run = (...args: string[]) => runInProcess(['ca', ...args, ...k8s], { cwd: s!.dir });
    const store = new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace: 'gloo-mesh' });
    await bootstrapRelayPki({ store });
    await store.close();
    for (const step of ['prepare', 'activate', 'drain', 'retire']) {
      const r = await run(step, '--ca', 'root');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const status = await run('status', '-o', 'json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).cas[0].record.phase).toBe('retired');
    const kubectl = await promisify(execFile)('/usr/bin/kubectl', [
      '--kubeconfig',
      emulator.kubeconfigPath,
      'get',
      'secret',
      'relay-ca-rotation',
      '-n',
      'gloo-mesh',
      '-o',
      'yaml',
    ]);
    expect(kubectl.stdout).toContain('name: relay-ca-rotation');
    expect(kubectl.stdout).toMatch(/root\.json: /);
    const abort = await run('abort', '--ca', 'root');
    expect(abort.code).toBe(5);
  });
});
