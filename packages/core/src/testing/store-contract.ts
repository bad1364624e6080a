/**
 * `@certloop/core/testing` SecretStore contract suite: the behaviour every adapter must share, as vitest tests.
 * An adapter's test file calls {@link describeSecretStoreContract} with a factory of fresh, empty stores.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCertloopError } from '../errors.js';
import type { Secret, SecretStore } from '../store/types.js';

export interface SecretStoreContractSubject {
  /** A fresh store holding no secrets. */
  readonly store: SecretStore;
  /** Runs after each test (remove temp directories, stop emulators). */
  readonly cleanup?: () => Promise<void>;
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => new TextDecoder().decode(value);

/** Resolves the error code `promise` rejects with (fails the test when it resolves). */
export async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isCertloopError(err)) return err.code;
    throw err;
  }
  throw new Error('expected the call to reject');
}

/** Registers the SecretStore contract tests under `describe('SecretStore contract: <name>')`. */
export function describeSecretStoreContract(name: string, factory: () => Promise<SecretStoreContractSubject>): void {
  describe(`SecretStore contract: ${name}`, () => {
    let subject: SecretStoreContractSubject | undefined;
    let store: SecretStore;
    beforeEach(async () => {
      subject = await factory();
      store = subject.store;
    });
    afterEach(async () => {
      await subject?.cleanup?.();
      subject = undefined;
    });

    it('get of a missing secret resolves undefined', async () => {
      expect(await store.get('missing')).toBeUndefined();
    });

    it('round-trips binary and empty values, type, labels and annotations', async () => {
      const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
      const put = await store.put('tls-secret', {
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': bytes('CERT'), 'tls.key': binary, empty: new Uint8Array(0), '.dot_key-1': bytes('x') },
        labels: { app: 'relay' },
        annotations: { 'certloop.io/managed': 'true' },
      });
      const got = await store.get('tls-secret');
      expect(got).toEqual(put);
      expect(got?.name).toBe('tls-secret');
      expect(got?.type).toBe('kubernetes.io/tls');
      expect(Object.keys(got?.data ?? {}).sort()).toEqual(['.dot_key-1', 'empty', 'tls.crt', 'tls.key']);
      expect(Array.from(got?.data['tls.key'] ?? [])).toEqual(Array.from(binary));
      expect(got?.data.empty?.byteLength).toBe(0);
      expect(got?.labels).toEqual({ app: 'relay' });
      expect(got?.annotations).toEqual({ 'certloop.io/managed': 'true' });
    });

    it('defaults type to Opaque and labels and annotations to empty', async () => {
      await store.put('plain', { data: { token: bytes('t') } });
      const got = await store.get('plain');
      expect(got).toMatchObject({ type: 'Opaque', labels: {}, annotations: {} });
    });

    it('round-trips a large (~900 KiB) value and refuses more than 1 MiB', async () => {
      const large = Uint8Array.from({ length: 900 * 1024 }, (_, i) => (i * 31) & 0xff);
      await store.put('large', { data: { blob: large } });
      expect(Buffer.compare(Buffer.from((await store.get('large'))!.data.blob!), Buffer.from(large))).toBe(0);
      const huge = new Uint8Array(1024 * 1024 + 1);
      expect(await rejectionCode(store.put('huge', { data: { blob: huge } }))).toBe('CERTLOOP_INPUT_TOO_LARGE');
      expect(await store.get('huge')).toBeUndefined();
    });

    it('a put replaces the whole secret (dropped keys disappear)', async () => {
      await store.put('s', { data: { a: bytes('1'), b: bytes('2') } });
      await store.put('s', { data: { b: bytes('3'), c: bytes('4') } });
      const got = await store.get('s');
      expect(Object.keys(got!.data).sort()).toEqual(['b', 'c']);
      expect(text(got!.data.b)).toBe('3');
    });

    it('changes the version on every write, even with identical content', async () => {
      const versions = new Set<string>();
      for (let i = 0; i < 4; i++) versions.add((await store.put('v', { data: { k: bytes('same') } })).version);
      expect(versions.size).toBe(4);
      const last = [...versions].at(-1);
      expect((await store.get('v'))?.version).toBe(last);
    });

    it('compare-and-swap: a stale version conflicts and writes nothing', async () => {
      const first = await store.put('cas', { data: { n: bytes('1') } }, { expectedVersion: null });
      const second = await store.put('cas', { data: { n: bytes('2') } }, { expectedVersion: first.version });
      expect(second.version).not.toBe(first.version);
      const stale = store.put('cas', { data: { n: bytes('3') } }, { expectedVersion: first.version });
      expect(await rejectionCode(stale)).toBe('CERTLOOP_CONFLICT');
      const got = await store.get('cas');
      expect(got?.version).toBe(second.version);
      expect(text(got?.data.n)).toBe('2');
    });

    it('compare-and-swap: expectedVersion null conflicts on an existing secret, a version on a missing one', async () => {
      const existing = await store.put('exists', { data: { n: bytes('1') } });
      expect(await rejectionCode(store.put('exists', { data: { n: bytes('2') } }, { expectedVersion: null }))).toBe(
        'CERTLOOP_CONFLICT',
      );
      expect((await store.get('exists'))?.version).toBe(existing.version);
      const onMissing = store.put('absent', { data: { n: bytes('1') } }, { expectedVersion: existing.version });
      expect(await rejectionCode(onMissing)).toBe('CERTLOOP_CONFLICT');
      expect(await store.get('absent')).toBeUndefined();
    });

    it('delete resolves true, then false; a stale version conflicts and deletes nothing', async () => {
      const first = await store.put('d', { data: { n: bytes('1') } });
      const second = await store.put('d', { data: { n: bytes('2') } });
      expect(await rejectionCode(store.delete('d', { expectedVersion: first.version }))).toBe('CERTLOOP_CONFLICT');
      expect((await store.get('d'))?.version).toBe(second.version);
      expect(await store.delete('d', { expectedVersion: second.version })).toBe(true);
      expect(await store.get('d')).toBeUndefined();
      expect(await store.delete('d')).toBe(false);
      expect(await store.delete('d', { expectedVersion: second.version })).toBe(false);
      const recreated = await store.put('d', { data: { n: bytes('3') } }, { expectedVersion: null });
      expect([first.version, second.version]).not.toContain(recreated.version);
    });

    it('list resolves secrets sorted by name and filters by labels', async () => {
      expect(await store.list()).toEqual([]);
      await store.put('charlie', { data: { k: bytes('c') }, labels: { tier: 'leaf', app: 'relay' } });
      await store.put('alpha', { data: { k: bytes('a') }, labels: { tier: 'root', app: 'relay' } });
      await store.put('bravo.example', { data: { k: bytes('b') }, labels: { tier: 'leaf' } });
      expect((await store.list()).map((s) => s.name)).toEqual(['alpha', 'bravo.example', 'charlie']);
      const leaves = await store.list({ labelSelector: { tier: 'leaf' } });
      expect(leaves.map((s) => s.name)).toEqual(['bravo.example', 'charlie']);
      expect(text(leaves[1]?.data.k)).toBe('c');
      const both = await store.list({ labelSelector: { tier: 'leaf', app: 'relay' } });
      expect(both.map((s) => s.name)).toEqual(['charlie']);
      expect(await store.list({ labelSelector: { tier: 'none' } })).toEqual([]);
    });

    it('concurrent read-modify-write with compare-and-swap: one winner per version, no lost update', async () => {
      await store.put('counter', { data: { n: bytes('0') } });
      const winsPerBase = new Map<string, number>();
      const increment = async () => {
        for (;;) {
          const current = (await store.get('counter'))!;
          const next = String(Number(text(current.data.n)) + 1);
          try {
            await store.put('counter', { data: { n: bytes(next) } }, { expectedVersion: current.version });
            winsPerBase.set(current.version, (winsPerBase.get(current.version) ?? 0) + 1);
            return;
          } catch (err) {
            if (!isCertloopError(err, 'CERTLOOP_CONFLICT')) throw err;
          }
        }
      };
      await Promise.all(Array.from({ length: 20 }, increment));
      expect(text((await store.get('counter'))?.data.n)).toBe('20');
      expect(winsPerBase.size).toBe(20);
      expect([...winsPerBase.values()].every((wins) => wins === 1)).toBe(true);
    });

    it('refuses bad names and data keys with CERTLOOP_INVALID_NAME before writing', async () => {
      const badNames = ['', 'UPPER', 'a/b', '../x', '..', '.', 'a..b', '-a', 'a-', 'a_b', ' a', 'x'.repeat(254)];
      for (const bad of badNames) {
        expect(await rejectionCode(store.get(bad))).toBe('CERTLOOP_INVALID_NAME');
        expect(await rejectionCode(store.put(bad, { data: {} }))).toBe('CERTLOOP_INVALID_NAME');
        expect(await rejectionCode(store.delete(bad))).toBe('CERTLOOP_INVALID_NAME');
      }
      const badKeys = ['', '.', '..', '..data', '..x', 'a/b', '../x', 'a b', 'ü', 'k'.repeat(254)];
      for (const bad of badKeys) {
        const put = store.put('keys', { data: { ok: bytes('1'), [bad]: bytes('2') } });
        expect(await rejectionCode(put)).toBe('CERTLOOP_INVALID_NAME');
      }
      expect(await store.get('keys')).toBeUndefined();
      expect(await store.list()).toEqual([]);
    });

    it('refuses malformed values with CERTLOOP_INVALID_ARGUMENT', async () => {
      const cases: unknown[] = [
        { data: { k: 'not bytes' } },
        { data: null },
        { data: { k: bytes('1') }, labels: { app: 1 } },
        { data: { k: bytes('1') }, annotations: [] },
        { data: { k: bytes('1') }, type: '' },
      ];
      for (const input of cases) {
        expect(await rejectionCode(store.put('malformed', input as never))).toBe('CERTLOOP_INVALID_ARGUMENT');
      }
      expect(await store.get('malformed')).toBeUndefined();
    });

    it('returned secrets are copies: mutating them or the input never changes the store', async () => {
      const input = { data: { k: bytes('abc') }, labels: { a: '1' } };
      const put = await store.put('copy', input);
      input.data.k[0] = 0x7a;
      input.labels.a = 'changed';
      (put.data.k as Uint8Array)[1] = 0x7a;
      (put.labels as Record<string, string>).a = 'changed';
      const got = (await store.get('copy'))!;
      expect(text(got.data.k)).toBe('abc');
      expect(got.labels).toEqual({ a: '1' });
      (got.data.k as Uint8Array)[2] = 0x7a;
      (got.data as Record<string, Uint8Array>).extra = bytes('x');
      const listed = (await store.list())[0] as Secret;
      expect(text(listed.data.k)).toBe('abc');
      expect(Object.keys(listed.data)).toEqual(['k']);
    });

    it('an aborted signal rejects with CERTLOOP_ABORTED and writes nothing', async () => {
      await store.put('present', { data: { k: bytes('1') } });
      const signal = AbortSignal.abort();
      expect(await rejectionCode(store.get('present', { signal }))).toBe('CERTLOOP_ABORTED');
      expect(await rejectionCode(store.put('new', { data: { k: bytes('1') } }, { signal }))).toBe('CERTLOOP_ABORTED');
      expect(await rejectionCode(store.put('present', { data: { k: bytes('2') } }, { signal }))).toBe(
        'CERTLOOP_ABORTED',
      );
      expect(await rejectionCode(store.delete('present', { signal }))).toBe('CERTLOOP_ABORTED');
      expect(await rejectionCode(store.list({ signal }))).toBe('CERTLOOP_ABORTED');
      expect(await store.get('new')).toBeUndefined();
      expect(text((await store.get('present'))?.data.k)).toBe('1');
    });
  });
}
