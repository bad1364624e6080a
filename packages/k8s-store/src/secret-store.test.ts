/**
 * KubernetesSecretStore beyond the shared contract: typed errors for every API failure, bounded retries with
 * Retry-After on an injected clock, the Opaque-type rule, and kubeconfig loading.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isCertloopError, ManualClock } from '@certloop/core';
import { rejectionCode } from '@certloop/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig } from './kubeconfig.js';
import { KubernetesSecretStore } from './secret-store.js';
import { type KubernetesApiEmulator, startKubernetesApiEmulator } from './testing/index.js';

const bytes = (text: string) => new TextEncoder().encode(text);
let emulator: KubernetesApiEmulator;
beforeAll(async () => {
  emulator = await startKubernetesApiEmulator({
    namespace: 'gloo-mesh',
    auth: {
      tokens: {
        admin: {},
        reader: {
          user: 'system:serviceaccount:gloo-mesh:reader',
          rules: [{ verbs: ['get', 'list', 'watch'], resources: ['secrets'] }],
        },
      },
    },
  });
});
afterAll(async () => {
  await emulator.close();
});

const storeFor = (token: string, extra: Partial<ConstructorParameters<typeof KubernetesSecretStore>[0]> = {}) =>
  new KubernetesSecretStore({ kubeConfig: emulator.kubeConfigFor({ token }), namespace: 'gloo-mesh', ...extra });

async function caught(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (err) {
    if (isCertloopError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('typed errors', () => {
  it('403 is CERTLOOP_FORBIDDEN naming the verb, resource and namespace; nothing is written', async () => {
    const reader = storeFor('reader');
    const err = await caught(reader.put('denied', { data: { k: bytes('1') } }));
    expect(err.code).toBe('CERTLOOP_FORBIDDEN');
    expect(err.details).toMatchObject({ resource: 'secrets', namespace: 'gloo-mesh', httpStatus: 403 });
    expect(['update', 'create']).toContain(err.details?.verb);
    expect(await reader.get('denied')).toBeUndefined();
    await reader.close();
  });

  it('401 is CERTLOOP_UNAUTHENTICATED', async () => {
    const stranger = storeFor('nobody');
    expect(await rejectionCode(stranger.get('x'))).toBe('CERTLOOP_UNAUTHENTICATED');
    await stranger.close();
  });

  it('immutable, invalid and too large are CERTLOOP_K8S_IMMUTABLE, CERTLOOP_K8S_INVALID, CERTLOOP_INPUT_TOO_LARGE', async () => {
    const admin = storeFor('admin');
    const res = await fetch(`${emulator.url}/api/v1/namespaces/gloo-mesh/secrets`, {
      method: 'POST',
      headers: { Authorization: 'Bearer admin', 'Content-Type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'frozen' }, immutable: true, data: { k: 'MQ==' } }),
    });
    expect(res.status).toBe(201);
    expect(await rejectionCode(admin.put('frozen', { data: { k: bytes('2') } }))).toBe('CERTLOOP_K8S_IMMUTABLE');
    expect(
      await rejectionCode(admin.put('half-tls', { type: 'kubernetes.io/tls', data: { 'tls.crt': bytes('c') } })),
    ).toBe('CERTLOOP_K8S_INVALID');
    expect(await admin.get('half-tls')).toBeUndefined();
    expect(await rejectionCode(admin.put('huge', { data: { k: new Uint8Array(1024 * 1024 + 1) } }))).toBe(
      'CERTLOOP_INPUT_TOO_LARGE',
    );
    await admin.close();
  });

  it('a refused connection is CERTLOOP_UNAVAILABLE after bounded retries', async () => {
    const dead = await startKubernetesApiEmulator();
    const kubeConfig = dead.kubeConfig;
    await dead.close();
    const store = new KubernetesSecretStore({
      kubeConfig,
      namespace: 'x',
      retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
    });
    expect(await rejectionCode(store.get('x'))).toBe('CERTLOOP_UNAVAILABLE');
    await store.close();
  });
});

describe('cert-manager Secrets are bring-your-own', () => {
  it('put and delete over a cert-manager Secret are CERTLOOP_READ_ONLY and change nothing; reads and watches work', async () => {
    const certManager = storeFor('admin', { writeBringYourOwn: true });
    const annotations = { 'cert-manager.io/certificate-name': 'web', 'cert-manager.io/issuer-name': 'ca' };
    const made = await certManager.put('cm-web', {
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': bytes('c'), 'tls.key': bytes('k') },
      annotations,
    });
    const certloop = storeFor('admin');
    // unconditional (one GET to learn the owner), compare-and-swap at a version seen or not, and delete
    expect(await rejectionCode(certloop.put('cm-web', { data: { x: bytes('1') } }))).toBe('CERTLOOP_READ_ONLY');
    expect(
      await rejectionCode(certloop.put('cm-web', { data: { x: bytes('1') } }, { expectedVersion: made.version })),
    ).toBe('CERTLOOP_READ_ONLY');
    expect((await certloop.get('cm-web'))?.annotations).toEqual(annotations);
    expect(await rejectionCode(certloop.delete('cm-web', { expectedVersion: made.version }))).toBe(
      'CERTLOOP_READ_ONLY',
    );
    expect(await rejectionCode(certloop.put('cm-new', { data: {}, annotations }))).toBe('CERTLOOP_READ_ONLY');
    expect((await certloop.get('cm-web'))?.version).toBe(made.version);
    expect(await certloop.get('cm-new')).toBeUndefined();
    const watch = certloop.watch('cm-web');
    expect((await watch.next()).value).toMatchObject({ type: 'initial', secret: { version: made.version } });
    await watch.return?.();
    // a Secret that is certloop's or nobody's is written as usual
    await certloop.put('plain', { data: { x: bytes('1') } });
    expect(await certloop.delete('plain')).toBe(true);
    await certManager.delete('cm-web');
    await certloop.close();
    await certManager.close();
  });
});

describe('retries of transient failures', () => {
  it('500s are retried with backoff and the call succeeds', async () => {
    const admin = storeFor('admin', { retry: { initialDelayMs: 1, maxDelayMs: 4 } });
    emulator.faults.failNext({ status: 500, count: 2, filter: (r) => r.method === 'PUT' });
    const put = await admin.put('flaky', { data: { k: bytes('1') } });
    expect((await admin.get('flaky'))?.version).toBe(put.version);
    await admin.close();
  });

  it('a 429 waits at least Retry-After on the injected clock; an abort during the wait writes nothing', async () => {
    const clock = new ManualClock();
    const admin = storeFor('admin', { clock, retry: { initialDelayMs: 10, maxDelayMs: 20 } });
    emulator.faults.failNext({ status: 429, retryAfterSeconds: 30, filter: (r) => r.method === 'PUT' });
    let done = false;
    const put = admin.put('limited', { data: { k: bytes('1') } }).finally(() => {
      done = true;
    });
    for (let i = 0; i < 50 && clock.pendingTimers === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await clock.advance(29_000);
    expect(done).toBe(false);
    await clock.advance(1_000);
    expect((await put).name).toBe('limited');

    const controller = new AbortController();
    emulator.faults.failNext({
      status: 429,
      retryAfterSeconds: 30,
      filter: (r) => r.method === 'POST' || r.method === 'PUT',
    });
    const aborted = admin.put('never', { data: { k: bytes('1') } }, { signal: controller.signal });
    for (let i = 0; i < 50 && clock.pendingTimers === 0; i++) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    expect(await rejectionCode(aborted)).toBe('CERTLOOP_ABORTED');
    expect(await admin.get('never')).toBeUndefined();
    await admin.close();
  });

  it('a conflict is never retried', async () => {
    const admin = storeFor('admin');
    const first = await admin.put('cas', { data: { k: bytes('1') } });
    await admin.put('cas', { data: { k: bytes('2') } });
    expect(await rejectionCode(admin.put('cas', { data: { k: bytes('3') } }, { expectedVersion: first.version }))).toBe(
      'CERTLOOP_CONFLICT',
    );
    await admin.close();
  });
});

describe('loadKubeConfig', () => {
  it('loads a kubeconfig file and its context; a KubeConfig that works with the store', async () => {
    const kc = loadKubeConfig({ kubeconfig: emulator.kubeconfigPath, context: 'certloop-emulator' });
    expect(kc.getCurrentCluster()?.server).toBe(emulator.url);
  });

  it('a missing file or an unknown context is CERTLOOP_INVALID_CONFIG', async () => {
    expect(() => loadKubeConfig({ kubeconfig: join(emulator.kubeconfigPath, '..', 'missing') })).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
    expect(() => loadKubeConfig({ kubeconfig: emulator.kubeconfigPath, context: 'nope' })).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
    const empty = join(emulator.kubeconfigPath, '..', 'empty');
    await writeFile(empty, '{"apiVersion":"v1","kind":"Config","clusters":[],"contexts":[],"users":[]}');
    expect(() => loadKubeConfig({ kubeconfig: empty })).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
  });

  it('the store refuses a bad namespace before any I/O', () => {
    expect(() => new KubernetesSecretStore({ kubeConfig: emulator.kubeConfig, namespace: 'Not_A_Namespace' })).toThrow(
      expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }),
    );
  });
});

describe('over HTTPS', () => {
  it('the store and its watch verify the server against the kubeconfig CA; kubectl too', async () => {
    const secure = await startKubernetesApiEmulator({ https: true, namespace: 'gloo-mesh' });
    const store = new KubernetesSecretStore({ kubeConfig: secure.kubeConfig, namespace: 'gloo-mesh' });
    try {
      expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const watch = store.watch('tls-secret');
      expect((await watch.next()).value).toMatchObject({ type: 'initial', secret: undefined });
      const put = await store.put('tls-secret', { data: { k: bytes('1') } });
      expect((await watch.next()).value).toMatchObject({ type: 'updated', secret: { version: put.version } });
      const { execFile } = await import('node:child_process');
      const out = await new Promise<string>((resolve, reject) =>
        execFile(
          'kubectl',
          [
            '--kubeconfig',
            secure.kubeconfigPath,
            '--cache-dir',
            join(secure.kubeconfigPath, '..', 'cache'),
            'get',
            'secret',
            'tls-secret',
            '-o',
            'jsonpath={.metadata.resourceVersion}',
          ],
          { timeout: 30_000 },
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        ),
      );
      expect(out.trim()).toBe(put.version);
      await watch.return?.();
    } finally {
      await store.close();
      await secure.close();
    }
  });
});

describe('close', () => {
  it('right after the first event, close() ends the shared watch at once (regression: a stop between the watch answer and its reader left the stream open until the server ended it)', async () => {
    const store = storeFor('admin');
    const watch = store.watch('anything');
    expect((await watch.next()).value?.type).toBe('initial');
    await store.close();
    expect((await watch.next()).done).toBe(true);
  });
});

describe('watch snapshots', () => {
  it('each version is decoded from the packed form the cache holds: values, labels and annotations as written, earlier snapshots unchanged', async () => {
    const store = storeFor('admin');
    const writer = storeFor('admin');
    try {
      await writer.put('packed', { data: { 'tls.crt': bytes('cert-1'), 'tls.key': bytes('key-1') } });
      const watch = store.watch('packed');
      const initial = (await watch.next()).value;
      expect(initial).toMatchObject({
        type: 'initial',
        secret: { type: 'Opaque', labels: {}, annotations: {} },
      });
      expect(new TextDecoder().decode(initial.secret.data['tls.key'])).toBe('key-1');
      // same bytes, new annotation (the write-id annotation stays hidden)
      const again = await writer.put('packed', {
        data: { 'tls.crt': bytes('cert-1'), 'tls.key': bytes('key-1') },
        annotations: { 'example.com/touched': 'yes' },
      });
      const same = (await watch.next()).value;
      expect(same).toMatchObject({ type: 'updated', secret: { version: again.version } });
      expect(same.secret.annotations).toEqual({ 'example.com/touched': 'yes' });
      expect(new TextDecoder().decode(same.secret.data['tls.crt'])).toBe('cert-1');
      // a later subscriber's initial equals what the first one saw
      const late = store.watch('packed');
      expect((await late.next()).value.secret).toEqual(same.secret);
      // one key changed (same length): the earlier snapshot keeps its own bytes
      await writer.put('packed', { data: { 'tls.crt': bytes('cert-2'), 'tls.key': bytes('key-1') } });
      const changed = (await watch.next()).value;
      expect(new TextDecoder().decode(changed.secret.data['tls.crt'])).toBe('cert-2');
      expect(new TextDecoder().decode(same.secret.data['tls.crt'])).toBe('cert-1');
      // a key removed, then a longer value, an empty one and non-ASCII labels
      await writer.put('packed', { data: { 'tls.crt': bytes('cert-2') } });
      const fewer = (await watch.next()).value;
      expect(Object.keys(fewer.secret.data)).toEqual(['tls.crt']);
      const long = 'x'.repeat(40_000);
      await writer.put('packed', {
        data: { 'tls.crt': bytes(long), empty: new Uint8Array(0) },
        labels: { 'app.example.com/x': 'ü' },
      });
      const grown = (await watch.next()).value;
      expect(new TextDecoder().decode(grown.secret.data['tls.crt'])).toBe(long);
      expect(grown.secret.data.empty).toEqual(new Uint8Array(0));
      expect(grown.secret.labels).toEqual({ 'app.example.com/x': 'ü' });
      expect(grown.secret).toEqual(await store.get('packed'));
      await watch.return?.();
      await late.return?.();
    } finally {
      await store.close();
      await writer.close();
    }
  });
});

describe('watches of one name', () => {
  it('watches joining and leaving one name: the remaining ones keep seeing every change', async () => {
    const store = storeFor('admin');
    const writer = storeFor('admin');
    try {
      const abort = new AbortController();
      const a = store.watch('joiners');
      const b = store.watch('joiners', { signal: abort.signal });
      const c = store.watch('joiners');
      for (const w of [a, b, c]) expect((await w.next()).value).toMatchObject({ type: 'initial' });
      abort.abort();
      await c.return?.();
      expect(await b.next()).toMatchObject({ done: true });
      const first = await writer.put('joiners', { data: { k: bytes('1') } });
      expect((await a.next()).value).toMatchObject({ type: 'updated', secret: { version: first.version } });
      const d = store.watch('joiners');
      expect((await d.next()).value).toMatchObject({ type: 'initial', secret: { version: first.version } });
      await a.return?.();
      const second = await writer.put('joiners', { data: { k: bytes('2') } });
      expect((await d.next()).value).toMatchObject({ type: 'updated', secret: { version: second.version } });
      expect(await a.next()).toMatchObject({ done: true });
      await d.return?.();
    } finally {
      await store.close();
      await writer.close();
    }
  });
});
