/**
 * Internal (`@certloop/core` x509): the issuer-key cache of `validateChain`. Importing a public key costs more
 * than checking a signature with it (OpenSSL 3 decoders), and the same few issuers sign every chain a process
 * validates: each engine keeps a bounded LRU of imported keys, keyed by the SubjectPublicKeyInfo bytes (the key
 * itself, so a re-issued CA certificate over the same key shares the entry and nothing else can). Failed imports
 * are not kept.
 */
import type { CryptoEngine, EngineKey } from './crypto-engine.js';
import { describePublicKey } from './spki.js';

/** Most keys kept per engine. */
export const ISSUER_KEY_CACHE_SIZE = 256;

const caches = new WeakMap<CryptoEngine, Map<string, Promise<EngineKey>>>();

const spkiKey = (spki: Uint8Array) => Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength).toString('latin1');

/** The engine's imported key for `spkiDer`, importing it on first use. */
export function cachedPublicKey(engine: CryptoEngine, spkiDer: Uint8Array): Promise<EngineKey> {
  let cache = caches.get(engine);
  if (!cache) {
    cache = new Map();
    caches.set(engine, cache);
  }
  const key = spkiKey(spkiDer);
  const hit = cache.get(key);
  if (hit) {
    // most recently used goes last; the first entry is the one to evict
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const imported = Promise.resolve().then(() => engine.importPublicKey(spkiDer, describePublicKey(spkiDer)));
  cache.set(key, imported);
  if (cache.size > ISSUER_KEY_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  const owner = cache;
  imported.catch(() => {
    if (owner.get(key) === imported) owner.delete(key);
  });
  return imported;
}

/** How many keys the engine's cache holds (for tests and benchmarks). */
export function issuerKeyCacheSize(engine: CryptoEngine): number {
  return caches.get(engine)?.size ?? 0;
}
