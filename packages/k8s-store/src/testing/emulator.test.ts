/**
 * The emulator against the wire contract (contracts/kubernetes-api.md) and real clients nobody here wrote:
 * client-node's generated API classes, its `Watch` and `makeInformer`; plus raw HTTP for the Status bodies.
 */
import { CoordinationV1Api, CoreV1Api, makeInformer, type V1Secret, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubernetesApiEmulator, startKubernetesApiEmulator } from './emulator.js';

let emulator: KubernetesApiEmulator;
let core: CoreV1Api;
let coordination: CoordinationV1Api;
beforeAll(async () => {
  emulator = await startKubernetesApiEmulator({ namespace: 'ns', historyLimit: 50, bookmarkIntervalMs: 100 });
  core = emulator.kubeConfig.makeApiClient(CoreV1Api);
  coordination = emulator.kubeConfig.makeApiClient(CoordinationV1Api);
});
afterAll(async () => {
  await emulator.close();
});

const b64 = (text: string) => Buffer.from(text).toString('base64');
const secretsPath = (ns = 'ns') => `/api/v1/namespaces/${ns}/secrets`;
const leasesPath = (ns = 'ns') => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`;

async function call(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(`${emulator.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': contentType },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function codeOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (err) {
    return (err as { code: number }).code;
  }
  throw new Error('expected the call to fail');
}

describe('client-node generated API classes', () => {
  it('create (201), read, replace, patch (JSON patch by default) and delete a Secret', async () => {
    const created = await core.createNamespacedSecret({
      namespace: 'ns',
      body: { metadata: { name: 'api-secret', labels: { a: '1' } }, stringData: { token: 't0' } },
    });
    expect(created.type).toBe('Opaque');
    expect(created.data).toEqual({ token: b64('t0') });
    expect((created as V1Secret & { stringData?: unknown }).stringData).toBeUndefined();
    const read = await core.readNamespacedSecret({ name: 'api-secret', namespace: 'ns' });
    expect(read.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    const replaced = await core.replaceNamespacedSecret({
      name: 'api-secret',
      namespace: 'ns',
      body: { ...read, data: { token: b64('t1') } },
    });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(Number(read.metadata?.resourceVersion));
    const patched = await core.patchNamespacedSecret({
      name: 'api-secret',
      namespace: 'ns',
      body: [{ op: 'replace', path: '/metadata/labels/a', value: '2' }],
    });
    expect(patched.metadata?.labels).toEqual({ a: '2' });
    const stale = core.replaceNamespacedSecret({ name: 'api-secret', namespace: 'ns', body: { ...read } });
    expect(await codeOf(stale)).toBe(409);
    await core.deleteNamespacedSecret({ name: 'api-secret', namespace: 'ns' });
    expect(await codeOf(core.readNamespacedSecret({ name: 'api-secret', namespace: 'ns' }))).toBe(404);
  });

  it('Leases: create, a stale replace is 409, a replace without resourceVersion is 422', async () => {
    const now = '2026-05-01T12:00:00.123456Z';
    const lease = await coordination.createNamespacedLease({
      namespace: 'ns',
      body: {
        metadata: { name: 'l1' },
        spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: now as never },
      },
    });
    const raw = await call('GET', `${leasesPath()}/l1`);
    expect(raw.body.spec.renewTime).toBe(now);
    const stale = { ...lease, metadata: { ...lease.metadata, resourceVersion: '1' } };
    expect(await codeOf(coordination.replaceNamespacedLease({ name: 'l1', namespace: 'ns', body: stale }))).toBe(409);
    const conflict = await call('PUT', `${leasesPath()}/l1`, {
      ...raw.body,
      metadata: { ...raw.body.metadata, resourceVersion: '1' },
    });
    expect(conflict.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Operation cannot be fulfilled on leases.coordination.k8s.io "l1": the object has been modified; please apply your changes to the latest version and try again',
      reason: 'Conflict',
      details: { name: 'l1', group: 'coordination.k8s.io', kind: 'leases' },
      code: 409,
    });
    const noVersion = await call('PUT', `${leasesPath()}/l1`, { metadata: { name: 'l1' }, spec: {} });
    expect(noVersion.status).toBe(422);
    const created = await call('PUT', `${leasesPath()}/l2`, { metadata: { name: 'l2' }, spec: { holderIdentity: '' } });
    expect(created.status).toBe(201);
  });

  it('Watch streams ADDED, MODIFIED, DELETED and bookmarks from a resourceVersion', async () => {
    const list = await core.listNamespacedSecret({ namespace: 'watched' });
    const seen: string[] = [];
    let bookmarks = 0;
    const watch = new Watch(emulator.kubeConfig);
    const controller = await watch.watch(
      secretsPath('watched'),
      { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
      (type, obj) => {
        if (type === 'BOOKMARK') bookmarks++;
        else seen.push(`${type}:${obj.metadata.name}:${obj.metadata.resourceVersion}`);
      },
      () => {},
    );
    const a = await core.createNamespacedSecret({ namespace: 'watched', body: { metadata: { name: 'w' } } });
    const b = await core.replaceNamespacedSecret({
      name: 'w',
      namespace: 'watched',
      body: { ...a, data: { k: b64('v') } },
    });
    await core.deleteNamespacedSecret({ name: 'w', namespace: 'watched' });
    for (let i = 0; i < 100 && (seen.length < 3 || bookmarks === 0); i++) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    expect(seen.slice(0, 2)).toEqual([
      `ADDED:w:${a.metadata?.resourceVersion}`,
      `MODIFIED:w:${b.metadata?.resourceVersion}`,
    ]);
    // DELETED carries the delete's own revision, newer than the last write
    expect(seen[2]).toMatch(/^DELETED:w:/);
    expect(Number(seen[2]!.split(':')[2])).toBeGreaterThan(Number(b.metadata?.resourceVersion));
    expect(bookmarks).toBeGreaterThan(0);
  });

  it('makeInformer lists and follows changes', async () => {
    const informer = makeInformer(emulator.kubeConfig, secretsPath('informed'), () =>
      core.listNamespacedSecret({ namespace: 'informed' }),
    );
    const added: string[] = [];
    informer.on('add', (obj) => added.push(obj.metadata!.name!));
    await core.createNamespacedSecret({ namespace: 'informed', body: { metadata: { name: 'before' } } });
    await informer.start();
    await core.createNamespacedSecret({ namespace: 'informed', body: { metadata: { name: 'after' } } });
    for (let i = 0; i < 100 && added.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    await informer.stop();
    expect(added.sort()).toEqual(['after', 'before']);
    expect(
      informer
        .list()
        .map((s) => s.metadata?.name)
        .sort(),
    ).toEqual(['after', 'before']);
  });
});

describe('the wire contract, point by point', () => {
  it('Status bodies: NotFound, AlreadyExists, Invalid with causes', async () => {
    expect((await call('GET', `${secretsPath()}/nope`)).body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'secrets "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'secrets' },
      code: 404,
    });
    await call('POST', secretsPath(), { metadata: { name: 'dup' } });
    const dup = await call('POST', secretsPath(), { metadata: { name: 'dup' } });
    expect(dup).toMatchObject({
      status: 409,
      body: { reason: 'AlreadyExists', message: 'secrets "dup" already exists' },
    });
    const tls = await call('POST', secretsPath(), {
      metadata: { name: 'bad-tls' },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64('x') },
    });
    expect(tls.status).toBe(422);
    expect(tls.body).toMatchObject({
      reason: 'Invalid',
      message: 'Secret "bad-tls" is invalid: data[tls.key]: Required value',
      details: {
        name: 'bad-tls',
        kind: 'Secret',
        causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'data[tls.key]' }],
      },
    });
  });

  it('400s and 500s: name mismatch, namespace mismatch, bad base64, resourceVersion on create, bad MicroTime', async () => {
    await call('POST', secretsPath(), { metadata: { name: 'a' } });
    expect((await call('PUT', `${secretsPath()}/a`, { metadata: { name: 'b' } })).body.message).toBe(
      'the name of the object (b) does not match the name on the URL (a)',
    );
    expect((await call('PUT', `${secretsPath()}/a`, { metadata: { name: 'a', namespace: 'other' } })).status).toBe(400);
    const badData = await call('POST', secretsPath(), { metadata: { name: 'b64' }, data: { k: '!!' } });
    expect(badData.status).toBe(400);
    expect(badData.body.message).toMatch(/^Secret in version "v1" cannot be handled as a Secret: /);
    const withVersion = await call('POST', secretsPath(), { metadata: { name: 'rv', resourceVersion: '5' } });
    expect(withVersion).toMatchObject({
      status: 500,
      body: { message: 'resourceVersion should not be set on objects to be created' },
    });
    const millis = await call('POST', leasesPath(), {
      metadata: { name: 'ms' },
      spec: { renewTime: new Date().toISOString() },
    });
    expect(millis.status).toBe(400);
    expect(millis.body.message).toContain('as ".000000"');
    const duration = await call('POST', leasesPath(), {
      metadata: { name: 'zero' },
      spec: { leaseDurationSeconds: 0 },
    });
    expect(duration.status).toBe(422);
  });

  it('Secret rules: 1 MiB, type immutable, immutable data, stringData write-only', async () => {
    const big = await call('POST', secretsPath(), {
      metadata: { name: 'big' },
      data: { k: Buffer.alloc(1024 * 1024 + 1).toString('base64') },
    });
    expect(big).toMatchObject({
      status: 422,
      body: { message: 'Secret "big" is invalid: data: Too long: may not be more than 1048576 bytes' },
    });
    const frozen = await call('POST', secretsPath(), {
      metadata: { name: 'frozen' },
      immutable: true,
      data: { k: b64('1') },
    });
    const change = await call('PUT', `${secretsPath()}/frozen`, { ...frozen.body, data: { k: b64('2') } });
    expect(change.status).toBe(422);
    expect(change.body.message).toContain('field is immutable when `immutable` is set');
    const relabel = await call('PUT', `${secretsPath()}/frozen`, {
      ...frozen.body,
      metadata: { ...frozen.body.metadata, labels: { x: 'y' } },
    });
    expect(relabel.status).toBe(200);
    const retype = await call('PUT', `${secretsPath()}/frozen`, {
      ...relabel.body,
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': '', 'tls.key': '' },
    });
    expect(retype.status).toBe(422);
    expect((await call('DELETE', `${secretsPath()}/frozen`)).body).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'frozen', kind: 'secrets' },
    });
  });

  it('a data key named __proto__ is plain data: added by a merge patch, JSON-patched and read back as an own key', async () => {
    const raw = (body: object) => JSON.stringify(body).replace('"PROTO"', '"__proto__"');
    const created = await call('POST', secretsPath(), { metadata: { name: 'proto' }, data: { plain: b64('p') } });
    expect(created.status).toBe(201);
    // the key is new to the stored object: the merge must define it, not set the object's prototype
    const merged = await call(
      'PATCH',
      `${secretsPath()}/proto`,
      raw({ data: { PROTO: b64('two') } }),
      'application/merge-patch+json',
    );
    expect(merged.status).toBe(200);
    const patched = await call(
      'PATCH',
      `${secretsPath()}/proto`,
      [{ op: 'replace', path: '/data/__proto__', value: b64('three') }],
      'application/json-patch+json',
    );
    expect(patched.status).toBe(200);
    const read = await call('GET', `${secretsPath()}/proto`);
    expect(Object.getPrototypeOf(read.body.data)).toBe(Object.prototype);
    expect(Object.entries(read.body.data).sort()).toEqual([
      ['__proto__', b64('three')],
      ['plain', b64('p')],
    ]);
  });

  it('patch content types: merge, strategic merge, 415 for others, 422 for a failed test op, 409 for a stale RV', async () => {
    const s = await call('POST', secretsPath(), { metadata: { name: 'patched', labels: { a: '1' } } });
    const merge = await call(
      'PATCH',
      `${secretsPath()}/patched`,
      { metadata: { labels: { b: '2' } } },
      'application/merge-patch+json; charset=utf-8',
    );
    expect(merge.body.metadata.labels).toEqual({ a: '1', b: '2' });
    const strategic = await call(
      'PATCH',
      `${secretsPath()}/patched`,
      { metadata: { labels: { a: null } } },
      'application/strategic-merge-patch+json',
    );
    expect(strategic.body.metadata.labels).toEqual({ b: '2' });
    expect((await call('PATCH', `${secretsPath()}/patched`, {}, 'text/plain')).status).toBe(415);
    const failedTest = await call(
      'PATCH',
      `${secretsPath()}/patched`,
      [{ op: 'test', path: '/metadata/labels/b', value: 'x' }],
      'application/json-patch+json',
    );
    expect(failedTest.status).toBe(422);
    const stale = await call(
      'PATCH',
      `${secretsPath()}/patched`,
      { metadata: { resourceVersion: s.body.metadata.resourceVersion } },
      'application/merge-patch+json',
    );
    expect(stale.status).toBe(409);
    expect((await call('PATCH', `${secretsPath()}/patched`, 'not json', 'application/merge-patch+json')).status).toBe(
      400,
    );
    expect((await call('PATCH', `${secretsPath()}/missing`, {}, 'application/merge-patch+json')).status).toBe(404);
  });

  it('one revision counter for all kinds; selectors; delete preconditions', async () => {
    const a = await call('POST', secretsPath('sel'), {
      metadata: { name: 'one', labels: { tier: 'leaf' } },
      type: 'x/y',
    });
    const l = await call('POST', leasesPath('sel'), { metadata: { name: 'lease' } });
    const b = await call('POST', secretsPath('sel'), { metadata: { name: 'two', labels: { tier: 'root' } } });
    expect(Number(l.body.metadata.resourceVersion)).toBe(Number(a.body.metadata.resourceVersion) + 1);
    expect(Number(b.body.metadata.resourceVersion)).toBe(Number(l.body.metadata.resourceVersion) + 1);
    const names = async (query: string) =>
      (
        (await call('GET', `${secretsPath('sel')}?${query}`)).body.items as Array<{
          metadata: { name: string };
          kind?: string;
        }>
      ).map((i) => i.metadata.name);
    expect(await names('labelSelector=tier%3Dleaf')).toEqual(['one']);
    expect(await names('labelSelector=tier%20in%20(leaf,root)')).toEqual(['one', 'two']);
    expect(await names('labelSelector=tier!%3Dleaf')).toEqual(['two']);
    expect(await names('fieldSelector=metadata.name%3Dtwo')).toEqual(['two']);
    expect(await names('fieldSelector=type%3Dx%2Fy')).toEqual(['one']);
    const list = await call('GET', secretsPath('sel'));
    expect(list.body).toMatchObject({ kind: 'SecretList', apiVersion: 'v1' });
    expect(list.body.items[0].kind).toBeUndefined(); // real servers omit kind on items
    expect((await call('GET', `${secretsPath('sel')}?fieldSelector=spec.x%3D1`)).status).toBe(400);
    const pre = await call('DELETE', `${secretsPath('sel')}/one`, { preconditions: { resourceVersion: '1' } });
    expect(pre.status).toBe(409);
    expect(pre.body.message).toContain('Precondition failed');
  });

  it('watch: 410 Expired for a compacted revision, 504 for a future one, synthetic ADDED from "0"', async () => {
    const readLines = async (query: string) => {
      const res = await fetch(`${emulator.url}${secretsPath('ns')}?watch=true&${query}`);
      const reader = res.body!.getReader();
      let text = '';
      for (let i = 0; i < 20 && !text.includes('\n'); i++) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      await reader.cancel();
      return { status: res.status, type: res.headers.get('content-type'), first: JSON.parse(text.split('\n')[0]!) };
    };
    const old = await readLines('resourceVersion=1');
    expect(old.status).toBe(200);
    expect(old.first).toMatchObject({ type: 'ERROR', object: { kind: 'Status', reason: 'Expired', code: 410 } });
    expect(old.first.object.message).toMatch(/^too old resource version: 1 \(\d+\)$/);
    const future = await readLines(`resourceVersion=${emulator.revision() + 100}`);
    expect(future.first).toMatchObject({ type: 'ERROR', object: { reason: 'Timeout', code: 504 } });
    const fromZero = await readLines('resourceVersion=0');
    expect(fromZero.type).toBe('application/json');
    expect(fromZero.first.type).toBe('ADDED');
  });

  it('bearer auth: 401 without a known token, 403 outside the grant', async () => {
    const secured = await startKubernetesApiEmulator({
      auth: {
        tokens: { admin: {}, reader: { user: 'reader', rules: [{ verbs: ['get', 'list'], resources: ['secrets'] }] } },
      },
    });
    try {
      const anonymous = await fetch(`${secured.url}${secretsPath()}`);
      expect(anonymous.status).toBe(401);
      const reader = secured.kubeConfigFor({ token: 'reader' }).makeApiClient(CoreV1Api);
      expect((await reader.listNamespacedSecret({ namespace: 'default' })).items).toEqual([]);
      expect(
        await codeOf(reader.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'x' } } })),
      ).toBe(403);
      const admin = secured.kubeConfig.makeApiClient(CoreV1Api);
      await admin.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'x' } } });
    } finally {
      await secured.close();
    }
  });
});

describe('list pages', () => {
  it('limit and continue page through a namespace at the first page revision', async () => {
    for (let i = 0; i < 7; i++) await call('POST', secretsPath('paged'), { metadata: { name: `p-${i}` } });
    const names: string[] = [];
    let token: string | undefined;
    let revision: string | undefined;
    let pages = 0;
    do {
      const query = `limit=3${token ? `&continue=${token}` : ''}`;
      const page = await call('GET', `${secretsPath('paged')}?${query}`);
      revision ??= page.body.metadata.resourceVersion;
      expect(page.body.metadata.resourceVersion).toBe(revision);
      names.push(...page.body.items.map((i: { metadata: { name: string } }) => i.metadata.name));
      token = page.body.metadata.continue;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(names).toEqual(['p-0', 'p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6']);
  });
});
