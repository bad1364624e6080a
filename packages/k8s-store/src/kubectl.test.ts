/**
 * kubectl interop, both ways, against the emulator: the installed `kubectl` (a version dispatcher that asks
 * `/version` first) runs `create secret generic|tls`, `get`, `get -w`, `label`, `annotate`, `apply -f`,
 * `delete` and `get lease`; certloop reads and watches what kubectl made, and kubectl and openssl read what
 * certloop wrote.
 */
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { secretOwnership, type WatchEvent } from '@certloop/core';
import { createTestPki } from '@certloop/core/testing';
import { describe, expect, it } from 'vitest';
import { kubectlFixture } from './kubectl.test-support.js';
import { KubernetesLeaseLock } from './lease-lock.js';
import { KubernetesSecretStore } from './secret-store.js';

const run = promisify(execFile);
const NS = 'gloo-mesh';
const k8s = kubectlFixture(NS, 'certloop-kubectl-');
const { kubectl, kubectlArgs } = k8s;

/** The next event that is not informational. */
async function next(iterator: AsyncIterator<WatchEvent>): Promise<WatchEvent> {
  for (let i = 0; i < 50; i++) {
    const result = await Promise.race([
      iterator.next(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no watch event within 10 s')), 10_000)),
    ]);
    if (result.done) throw new Error('watch ended');
    if (result.value.type !== 'error') return result.value;
  }
  throw new Error('only error events');
}

async function serverCertificate() {
  const pki = await createTestPki();
  const leaf = await pki.issue({
    commonName: 'relay.gloo-mesh.svc',
    dnsNames: ['relay.gloo-mesh.svc'],
    profile: 'server',
  });
  const certFile = join(k8s.dir, `${leaf.serialNumber}.crt`);
  const keyFile = join(k8s.dir, `${leaf.serialNumber}.key`);
  await writeFile(certFile, leaf.certificatePem);
  await writeFile(keyFile, leaf.privateKeyPem);
  return { leaf, certFile, keyFile };
}

describe('kubectl makes, certloop reads and watches', () => {
  it('create secret tls: read, watched and classed bring-your-own; label, annotate and delete are seen', async () => {
    const watch = k8s.store.watch('web-tls');
    expect(await next(watch)).toEqual({ type: 'initial', name: 'web-tls', secret: undefined });
    const { leaf, certFile, keyFile } = await serverCertificate();
    expect(await kubectl('create', 'secret', 'tls', 'web-tls', '--cert', certFile, '--key', keyFile)).toContain(
      'created',
    );
    const created = await next(watch);
    expect(created.type).toBe('updated');
    const got = (await k8s.store.get('web-tls'))!;
    expect(got.type).toBe('kubernetes.io/tls');
    expect(new TextDecoder().decode(got.data['tls.crt'])).toBe(leaf.certificatePem);
    expect(secretOwnership(got)).toBe('bring-your-own');

    await kubectl('label', 'secret', 'web-tls', 'app=relay');
    const labelled = await next(watch);
    expect(labelled.type === 'updated' && labelled.secret.labels).toEqual({ app: 'relay' });
    await kubectl('annotate', 'secret', 'web-tls', 'cert-manager.io/certificate-name=web');
    const annotated = await next(watch);
    expect(annotated.type === 'updated' && annotated.secret.annotations).toEqual({
      'cert-manager.io/certificate-name': 'web',
    });
    expect((await k8s.store.list({ labelSelector: { app: 'relay' } })).map((s) => s.name)).toEqual(['web-tls']);

    expect(await kubectl('delete', 'secret', 'web-tls')).toContain('deleted');
    expect(await next(watch)).toEqual({ type: 'deleted', name: 'web-tls' });
    await watch.return?.();
  });

  it('create secret generic (Gloo relay style): Opaque, and a certloop TLS write keeps it Opaque', async () => {
    const { leaf, certFile, keyFile } = await serverCertificate();
    await kubectl(
      'create',
      'secret',
      'generic',
      'relay-server-tls-secret',
      `--from-file=tls.crt=${certFile}`,
      `--from-file=tls.key=${keyFile}`,
    );
    const before = (await k8s.store.get('relay-server-tls-secret'))!;
    expect(before.type).toBe('Opaque');
    const after = await k8s.store.put(
      'relay-server-tls-secret',
      { type: 'kubernetes.io/tls', data: { ...before.data, 'ca.crt': new TextEncoder().encode(leaf.trustBundlePem) } },
      { expectedVersion: before.version },
    );
    expect(after.type).toBe('Opaque');
    expect((await kubectl('get', 'secret', 'relay-server-tls-secret', '-o', 'jsonpath={.type}')).trim()).toBe('Opaque');
  });

  it('apply -f of a Secret manifest creates, then updates; certloop sees both', async () => {
    const manifest = (token: string) => `apiVersion: v1
kind: Secret
metadata:
  name: relay-identity-token-secret
  labels:
    app: relay
type: Opaque
stringData:
  token: ${token}
`;
    const file = join(k8s.dir, 'token.yaml');
    await writeFile(file, manifest('first'));
    expect(await kubectl('apply', '-f', file)).toContain('created');
    const watch = k8s.store.watch('relay-identity-token-secret');
    const initial = await next(watch);
    expect(initial.type === 'initial' && new TextDecoder().decode(initial.secret?.data.token)).toBe('first');
    await writeFile(file, manifest('second'));
    expect(await kubectl('apply', '-f', file)).toContain('configured');
    const updated = await next(watch);
    expect(updated.type === 'updated' && new TextDecoder().decode(updated.secret.data.token)).toBe('second');
    await watch.return?.();
  });
});

describe('certloop writes, kubectl and openssl read', () => {
  it('get -o yaml shows the TLS Secret certloop wrote, and openssl parses its certificate', async () => {
    const { leaf } = await serverCertificate();
    const put = await k8s.store.put('relay-client-tls-secret', leaf.secret);
    const yaml = await kubectl('get', 'secret', 'relay-client-tls-secret', '-o', 'yaml');
    expect(yaml).toContain('type: kubernetes.io/tls');
    expect(yaml).toContain(`resourceVersion: "${put.version}"`);
    expect(yaml).toContain('certloop.io/managed-by: certloop');
    const b64 = await kubectl('get', 'secret', 'relay-client-tls-secret', '-o', 'jsonpath={.data.tls\\.crt}');
    const pemFile = join(k8s.dir, 'from-kubectl.pem');
    await writeFile(pemFile, Buffer.from(b64.trim(), 'base64'));
    const { stdout } = await run('openssl', ['x509', '-in', pemFile, '-noout', '-subject', '-serial']);
    expect(stdout).toContain('relay.gloo-mesh.svc');
    expect(stdout.toLowerCase()).toContain(leaf.serialNumber.toLowerCase().replace(/^0+/, ''));
  });

  it('get -w streams a certloop write as it happens', async () => {
    const child = spawn('kubectl', kubectlArgs(['get', 'secrets', '-w', '--no-headers']), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      // the first listing (the watch is open once kubectl printed what exists)
      for (let i = 0; i < 100 && !output.includes('relay-client-tls-secret'); i++)
        await new Promise((r) => setTimeout(r, 100));
      await k8s.store.put('watched-live', { data: { token: new TextEncoder().encode('x') } });
      for (let i = 0; i < 100 && !output.includes('watched-live'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(output).toContain('watched-live');
    } finally {
      child.kill();
    }
  });

  it('get lease shows the holder certloop wrote', async () => {
    const lock = new KubernetesLeaseLock({ kubeConfig: k8s.emulator.kubeConfig, namespace: NS, name: 'relay-rotator' });
    const now = new Date();
    await lock.create({
      holderIdentity: 'agent-0',
      leaseDurationSeconds: 15,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    });
    lock.close();
    const out = await kubectl(
      'get',
      'lease',
      'relay-rotator',
      '-o',
      'jsonpath={.spec.holderIdentity} {.spec.renewTime}',
    );
    const [holder, renewTime] = out.trim().split(' ');
    expect(holder).toBe('agent-0');
    expect(renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(await kubectl('get', 'lease')).toContain('relay-rotator');
  });
});

describe('kubectl prints what a real API server makes it print', () => {
  const PRINT_NS = 'printing';
  async function kubectlFails(...args: string[]): Promise<string> {
    try {
      await run('kubectl', kubectlArgs(args), { timeout: 30_000 });
    } catch (err) {
      return (err as { stderr: string }).stderr;
    }
    throw new Error(`kubectl ${args.join(' ')} succeeded`);
  }
  const lines = (out: string) => out.trimEnd().split('\n');

  it('get secret of a missing name: secrets "nope" not found (the namespace exists); a missing namespace says so', async () => {
    expect((await kubectlFails('get', 'secret', 'nope', '-n', NS)).trim()).toBe(
      'Error from server (NotFound): secrets "nope" not found',
    );
    expect((await kubectlFails('get', 'secret', 'nope', '-n', 'no-such-namespace')).trim()).toBe(
      'Error from server (NotFound): namespaces "no-such-namespace" not found',
    );
    const namespaces = lines(await kubectl('get', 'namespaces'));
    expect(namespaces[0]).toMatch(/^NAME\s+STATUS\s+AGE$/);
    expect(namespaces.some((line) => /^gloo-mesh\s+Active\s+\S+$/.test(line))).toBe(true);
  });

  it('get secrets: NAME TYPE DATA AGE from the server-side table; get one secret the same', async () => {
    await kubectl(
      'create',
      'secret',
      'generic',
      'two-keys',
      '--from-literal=a=1',
      '--from-literal=b=2',
      '-n',
      PRINT_NS,
    );
    await kubectl('create', 'secret', 'generic', 'empty', '-n', PRINT_NS);
    const all = lines(await kubectl('get', 'secrets', '-n', PRINT_NS));
    expect(all[0]).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE$/);
    expect(all.slice(1)).toHaveLength(2);
    expect(all[1]).toMatch(/^empty\s+Opaque\s+0\s+\d+s$/);
    expect(all[2]).toMatch(/^two-keys\s+Opaque\s+2\s+\d+s$/);
    const one = lines(await kubectl('get', 'secret', 'two-keys', '-n', PRINT_NS));
    expect(one).toHaveLength(2);
    expect(one[0]).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE$/);
    // the columns line up as kubectl aligns them: each header starts where its cells start
    expect(one[1]!.indexOf('Opaque')).toBe(one[0]!.indexOf('TYPE'));
    expect(one[1]!.indexOf('2')).toBe(one[0]!.indexOf('DATA'));
  });

  it('get lease: NAME HOLDER AGE, the holder from the server-side table', async () => {
    const lock = new KubernetesLeaseLock({ kubeConfig: k8s.emulator.kubeConfig, namespace: PRINT_NS, name: 'printed' });
    const now = new Date();
    await lock.create({
      holderIdentity: 'agent-7',
      leaseDurationSeconds: 15,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    });
    lock.close();
    const out = lines(await kubectl('get', 'lease', '-n', PRINT_NS));
    expect(out[0]).toMatch(/^NAME\s+HOLDER\s+AGE$/);
    expect(out[1]).toMatch(/^printed\s+agent-7\s+\d+s$/);
  });

  it('apply --server-side records managedFields for the manager (kubectl, Apply, FieldsV1)', async () => {
    const file = join(k8s.dir, 'ssa.yaml');
    await writeFile(
      file,
      `apiVersion: v1
kind: Secret
metadata:
  name: applied
  namespace: ${PRINT_NS}
  labels:
    app: relay
type: Opaque
data:
  token: YWJj
`,
    );
    expect(await kubectl('apply', '--server-side', '-f', file)).toContain('serverside-applied');
    const managed = JSON.parse(
      await kubectl('get', 'secret', 'applied', '-n', PRINT_NS, '-o', 'jsonpath={.metadata.managedFields}'),
    );
    expect(managed).toEqual([
      {
        apiVersion: 'v1',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { 'f:token': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:type': {} },
        manager: 'kubectl',
        operation: 'Apply',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      },
    ]);
    // hidden from -o yaml unless asked for, as kubectl does with a real server
    expect(await kubectl('get', 'secret', 'applied', '-n', PRINT_NS, '-o', 'yaml')).not.toContain('managedFields');
    // a certloop write keeps them, and certloop reads the applied Secret
    const reader = new KubernetesSecretStore({ kubeConfig: k8s.emulator.kubeConfig, namespace: PRINT_NS });
    const got = (await reader.get('applied'))!;
    await reader.put('applied', { data: { token: new TextEncoder().encode('new') } }, { expectedVersion: got.version });
    await reader.close();
    const after = JSON.parse(
      await kubectl('get', 'secret', 'applied', '-n', PRINT_NS, '-o', 'jsonpath={.metadata.managedFields}'),
    );
    expect(after[0].manager).toBe('kubectl');
  });
});
