/**
 * `@certloop/core` StoreIssuanceLedger: the {@link IssuanceLedger} kept in one secret of a store.
 *
 * The secret (default `relay-issuance-ledger`) holds `ledger.json`: the latest leaf of every holder and any other
 * leaf not yet expired. Every `record` is a read, a change and a compare-and-swap of the whole secret, retried on
 * conflict, so replicas sharing the store never lose an entry. Expired entries are pruned on every write. Meant for
 * the relay's scale of holders (one entry per cluster); a Kubernetes Secret bounds it near 5,000 holders.
 */
import type { CaCallOptions as BackendCallOptions, IssuanceLedger, IssuedLeaf } from '../ca/types.js';
import { CertloopError, isCertloopError, throwIfAborted } from '../errors.js';
import { ANNOTATIONS, MANAGED_BY_VALUE } from '../secret/tls-layout.js';
import type { Secret, SecretStore } from './types.js';

export const DEFAULT_ISSUANCE_LEDGER_SECRET = 'relay-issuance-ledger';
const KEY = 'ledger.json';
const MAX_ATTEMPTS = 32;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Row {
  readonly s: string;
  readonly i: string;
  readonly h: string;
  readonly n: number;
  readonly t: number;
}

export interface StoreIssuanceLedgerOptions {
  readonly store: SecretStore;
  readonly secretName?: string;
}

export class StoreIssuanceLedger implements IssuanceLedger {
  readonly #store: SecretStore;
  readonly #name: string;

  constructor(options: StoreIssuanceLedgerOptions) {
    this.#store = options.store;
    this.#name = options.secretName ?? DEFAULT_ISSUANCE_LEDGER_SECRET;
  }

  async record(leaf: IssuedLeaf, options: BackendCallOptions = {}): Promise<void> {
    const row = rowOf(leaf);
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(options.signal);
      const secret = await this.#store.get(this.#name, { signal: options.signal });
      const rows = secret ? readRows(secret) : [];
      if (rows.some((r) => r.s === row.s && r.i === row.i)) return;
      const kept = prune([...rows, row], row.t);
      try {
        await this.#store.put(
          this.#name,
          {
            type: 'Opaque',
            data: { [KEY]: encoder.encode(JSON.stringify(kept)) },
            labels: secret?.labels ?? {},
            annotations: { [ANNOTATIONS.managedBy]: MANAGED_BY_VALUE, [ANNOTATIONS.role]: 'issuance-ledger' },
          },
          { expectedVersion: secret?.version ?? null, signal: options.signal },
        );
        return;
      } catch (err) {
        if (!isCertloopError(err, 'CERTLOOP_CONFLICT') || attempt >= MAX_ATTEMPTS) throw err;
      }
    }
  }

  async live(query: { readonly issuerKeyId: string; readonly at: Date }, options: BackendCallOptions = {}) {
    const secret = await this.#store.get(this.#name, { signal: options.signal });
    if (!secret) return 0;
    const at = query.at.getTime();
    const id = query.issuerKeyId.toLowerCase();
    let count = 0;
    for (const row of latestPerHolder(readRows(secret)).values()) if (row.i === id && row.n > at) count++;
    return count;
  }
}

/** The ledger's row for `leaf` (serial number and issuer key id lower-cased, times in ms). */
function rowOf(leaf: IssuedLeaf): Row {
  return {
    s: leaf.serialNumber.toLowerCase(),
    i: leaf.issuerKeyId.toLowerCase(),
    h: leaf.holder,
    n: leaf.notAfter.getTime(),
    t: leaf.issuedAt.getTime(),
  };
}

function latestPerHolder(rows: readonly Row[]): Map<string, Row> {
  const latest = new Map<string, Row>();
  for (const row of rows) {
    const seen = latest.get(row.h);
    if (!seen || seen.t < row.t || (seen.t === row.t && seen.s < row.s)) latest.set(row.h, row);
  }
  return latest;
}

/** The latest leaf of each holder, if not expired long ago, and other leaves not yet expired. */
function prune(rows: readonly Row[], now: number): Row[] {
  const latest = new Set(latestPerHolder(rows).values());
  return rows.filter((r) => r.n > now || (latest.has(r) && r.n > now - 30 * 86_400_000));
}

function readRows(secret: Secret): Row[] {
  const raw = secret.data[KEY];
  if (!raw || raw.length === 0) return [];
  try {
    const rows = JSON.parse(decoder.decode(raw)) as Row[];
    if (!Array.isArray(rows)) throw new Error('not an array');
    return rows;
  } catch (err) {
    throw new CertloopError('CERTLOOP_STORE_CORRUPT', `the issuance ledger in ${secret.name} cannot be read`, {
      cause: err,
    });
  }
}

/** An {@link IssuanceLedger} in this process's memory (tests, single-process servers). */
export class MemoryIssuanceLedger implements IssuanceLedger {
  readonly #rows = new Map<string, Row>();

  async record(leaf: IssuedLeaf, options: BackendCallOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    const row = rowOf(leaf);
    this.#rows.set(`${row.i}/${row.s}`, row);
  }

  async live(query: { readonly issuerKeyId: string; readonly at: Date }, options: BackendCallOptions = {}) {
    throwIfAborted(options.signal);
    const id = query.issuerKeyId.toLowerCase();
    let count = 0;
    for (const row of latestPerHolder([...this.#rows.values()]).values()) {
      if (row.i === id && row.n > query.at.getTime()) count++;
    }
    return count;
  }
}
