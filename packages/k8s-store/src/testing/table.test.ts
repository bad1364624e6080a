import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type KubernetesApiEmulator, startKubernetesApiEmulator } from './index.js';
import { humanAge, tableVersion } from './table.js';

const TABLE =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

describe('humanAge: apimachinery duration.HumanDuration', () => {
  const at = Date.parse('2026-01-01T00:00:00Z');
  const cases: Array<[number, string]> = [
    [-2_000, '<invalid>'],
    [-1_000, '0s'],
    [0, '0s'],
    [119_000, '119s'],
    [120_000, '2m'],
    [121_000, '2m1s'],
    [599_000, '9m59s'],
    [600_000, '10m'],
    [179 * 60_000, '179m'],
    [3 * 3_600_000, '3h'],
    [3 * 3_600_000 + 30 * 60_000, '3h30m'],
    [8 * 3_600_000, '8h'],
    [47 * 3_600_000, '47h'],
    [48 * 3_600_000, '2d'],
    [50 * 3_600_000, '2d2h'],
    [8 * 86_400_000, '8d'],
    [729 * 86_400_000, '729d'],
    [730 * 86_400_000, '2y'],
    [731 * 86_400_000, '2y1d'],
    [8 * 365 * 86_400_000, '8y'],
  ];
  for (const [ms, expected] of cases) {
    it(`${ms} ms: ${expected}`, () => expect(humanAge(new Date(at).toISOString(), at + ms)).toBe(expected));
  }
  it('no timestamp: <unknown>', () => expect(humanAge(undefined, at)).toBe('<unknown>'));
});

describe('tableVersion: the Accept kubectl sends', () => {
  it('picks the first Table version asked for, none when plain JSON comes first', () => {
    expect(tableVersion(TABLE)).toBe('v1');
    expect(tableVersion('application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json')).toBe('v1beta1');
    expect(tableVersion('application/json')).toBeUndefined();
    expect(tableVersion('application/json, application/json;as=Table;v=v1;g=meta.k8s.io')).toBeUndefined();
    expect(tableVersion(undefined)).toBeUndefined();
  });
});

describe('server-side tables on the wire', () => {
  let emulator: KubernetesApiEmulator;
  beforeEach(async () => {
    emulator = await startKubernetesApiEmulator({ namespace: 'ns' });
  });
  afterEach(async () => {
    await emulator.close();
  });
  const get = async (path: string, accept = TABLE) => {
    const res = await fetch(`${emulator.url}${path}`, {
      headers: { accept, authorization: 'Bearer emulator-token' },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const create = (name: string) =>
    fetch(`${emulator.url}/api/v1/namespaces/ns/secrets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer emulator-token' },
      body: JSON.stringify({ metadata: { name }, type: 'Opaque', data: { k: 'dg==' } }),
    });

  it('a list as a Table: columns, cells, PartialObjectMetadata rows, the list resourceVersion', async () => {
    await create('one');
    const { body } = await get('/api/v1/namespaces/ns/secrets');
    expect(body.kind).toBe('Table');
    expect(body.apiVersion).toBe('meta.k8s.io/v1');
    expect((body.metadata as { resourceVersion: string }).resourceVersion).toBe(String(emulator.revision()));
    const columns = body.columnDefinitions as Array<{ name: string; format: string }>;
    expect(columns.map((c) => c.name)).toEqual(['Name', 'Type', 'Data', 'Age']);
    expect(columns[0]!.format).toBe('name');
    const [row] = body.rows as Array<{ cells: unknown[]; object: { kind: string; metadata: { name: string } } }>;
    expect(row!.cells.slice(0, 3)).toEqual(['one', 'Opaque', 1]);
    expect(row!.object.kind).toBe('PartialObjectMetadata');
    expect(row!.object.metadata.name).toBe('one');
    // includeObject=None leaves the object out; plain JSON is still a SecretList
    const bare = await get('/api/v1/namespaces/ns/secrets?includeObject=None');
    expect((bare.body.rows as object[])[0]).toEqual({ cells: row!.cells });
    expect((await get('/api/v1/namespaces/ns/secrets', 'application/json')).body.kind).toBe('SecretList');
  });

  it('a watch as Tables: one row per event, the column definitions with the first event only', async () => {
    await create('a');
    await create('b');
    const controller = new AbortController();
    const res = await fetch(`${emulator.url}/api/v1/namespaces/ns/secrets?watch=true&resourceVersion=0`, {
      headers: { accept: TABLE, authorization: 'Bearer emulator-token' },
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    let text = '';
    while (text.split('\n').length < 3) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const events = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; object: Record<string, unknown> });
    expect(events.map((e) => [e.type, e.object.kind])).toEqual([
      ['ADDED', 'Table'],
      ['ADDED', 'Table'],
    ]);
    expect((events[0]!.object.columnDefinitions as object[]).length).toBe(4);
    expect(events[1]!.object.columnDefinitions).toBeNull();
    expect((events[1]!.object.rows as Array<{ cells: unknown[] }>)[0]!.cells[0]).toBe('b');
  });

  it('namespaces: get, list, and 404 namespaces "x" not found', async () => {
    expect((await get('/api/v1/namespaces/ns', 'application/json')).body).toMatchObject({
      kind: 'Namespace',
      metadata: { name: 'ns' },
      status: { phase: 'Active' },
    });
    const missing = await get('/api/v1/namespaces/nope', 'application/json');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ reason: 'NotFound', message: 'namespaces "nope" not found' });
    const names = (
      (await get('/api/v1/namespaces', 'application/json')).body.items as Array<{
        metadata: { name: string };
      }>
    ).map((n) => n.metadata.name);
    expect(names).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system', 'ns']);
  });
});
