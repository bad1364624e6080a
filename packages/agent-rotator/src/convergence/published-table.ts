/**
 * `@certloop/agent-rotator` published bundle tables: how the convergence of agents connected to several server
 * replicas reaches the one process driving a CA rotation (a leader replica, or `certloop ca` on an operator's
 * machine).
 *
 * Each replica writes its own table to the store as a secret of its own (`relay-bundle-observations-<replica>`,
 * gzipped JSON, label `certloop.io/bundle-observations: relay`), debounced after a digest change and refreshed
 * periodically; it is the only writer of that secret, so the compare-and-swap never contends. A
 * `StoreConvergenceSource` lists those secrets and merges them (per cluster and reporter, the latest report wins)
 * into core's `ConvergenceSource`. Why the store and not a peer protocol: the store is already the replicas' only
 * shared state (DESIGN, "stateless replicas behind one address"), it works the same on files and Kubernetes, and a
 * rotation run by `certloop ca` from outside the cluster reads it without reaching any replica.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  ANNOTATIONS,
  type BundleObservation,
  CertloopError,
  type Clock,
  type ConvergenceSource,
  isCertloopError,
  MANAGED_BY_VALUE,
  type SecretStore,
  systemClock,
  type TimerHandle,
} from '@certloop/core';
import { type BundleEntry, clusterObservations } from './bundle-table.js';

/** Label every published table carries (value `relay`). */
export const BUNDLE_TABLE_LABEL = 'certloop.io/bundle-observations';
/** Default name prefix of the published tables. */
export const BUNDLE_TABLE_PREFIX = 'relay-bundle-observations';
const DATA_KEY = 'observations.json.gz';
const MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024;

/** What one replica publishes. */
export interface BundleTableSnapshot {
  readonly replica: string;
  readonly publishedAt: Date;
  readonly entries: readonly BundleEntry[];
  /** The replica's own consumers: itself (`replica`) and its server credential provider (`provider`). */
  readonly own: readonly BundleObservation[];
}

interface WireEntry {
  c: string;
  r: string;
  v: 's' | 'r';
  d: string;
  s: number;
  l: number;
  n: number;
  i?: string;
}

export function encodeSnapshot(snapshot: BundleTableSnapshot): Uint8Array {
  const body = {
    version: 1,
    replica: snapshot.replica,
    publishedAt: snapshot.publishedAt.getTime(),
    entries: snapshot.entries.map(
      (e): WireEntry => ({
        c: e.cluster,
        r: e.reporter,
        v: e.via === 'renew' ? 'r' : 's',
        d: e.digest,
        s: e.since.getTime(),
        l: e.lastSeen.getTime(),
        n: e.streams,
        ...(e.issuerKeyId ? { i: e.issuerKeyId } : {}),
      }),
    ),
    own: snapshot.own.map((o) => ({ ...o, observedAt: o.observedAt.getTime() })),
  };
  return gzipSync(JSON.stringify(body));
}

/** Reads a published table; throws `CERTLOOP_INVALID_ARGUMENT` for anything malformed. */
export function decodeSnapshot(bytes: Uint8Array): BundleTableSnapshot {
  try {
    const text = gunzipSync(bytes, { maxOutputLength: MAX_SNAPSHOT_BYTES }).toString('utf8');
    const body = JSON.parse(text) as {
      version: number;
      replica: string;
      publishedAt: number;
      entries: WireEntry[];
      own: Array<Omit<BundleObservation, 'observedAt'> & { observedAt: number }>;
    };
    if (body.version !== 1 || typeof body.replica !== 'string' || !Array.isArray(body.entries)) {
      throw new Error('unknown layout');
    }
    return {
      replica: body.replica,
      publishedAt: new Date(body.publishedAt),
      entries: body.entries.map((e) => ({
        cluster: String(e.c),
        reporter: String(e.r),
        via: e.v === 'r' ? 'renew' : 'stream',
        digest: String(e.d),
        since: new Date(Number(e.s)),
        lastSeen: new Date(Number(e.l)),
        streams: Number(e.n) || 0,
        issuerKeyId: e.i,
      })),
      own: (body.own ?? []).map((o) => ({
        consumer: String(o.consumer),
        kind: o.kind,
        bundleDigest: String(o.bundleDigest),
        observedAt: new Date(Number(o.observedAt)),
        ...(o.detail ? { detail: String(o.detail) } : {}),
      })),
    };
  } catch (err) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'a published bundle table is unreadable', { cause: err });
  }
}

/** A name for the replica's table secret: the prefix and the replica id, lower-cased to a DNS label's alphabet. */
export function bundleTableSecretName(replica: string, prefix = BUNDLE_TABLE_PREFIX): string {
  const safe = replica
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return `${prefix}-${safe || 'replica'}`.slice(0, 253);
}

export interface BundleTablePublisherOptions {
  readonly store: SecretStore;
  readonly replica: string;
  readonly snapshot: () => BundleTableSnapshot;
  readonly prefix?: string;
  /** Wait this long after a change before writing, gathering a burst of reports into one write (default 1 s). */
  readonly debounceMs?: number;
  /** Rewrite at least this often so last-seen times stay fresh (default 30 s). */
  readonly refreshMs?: number;
  readonly clock?: Clock;
  readonly onError?: (error: CertloopError) => void;
  readonly onPublished?: () => void;
}

/** Writes one replica's table to the store, debounced. */
export class BundleTablePublisher {
  readonly name: string;
  readonly #o: BundleTablePublisherOptions;
  readonly #clock: Clock;
  #timer: TimerHandle | undefined;
  #dueAt = 0;
  #writing: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: BundleTablePublisherOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.name = bundleTableSecretName(options.replica, options.prefix);
  }

  /** Publishes now, then keeps it fresh. */
  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** A change worth publishing: written within `debounceMs`. */
  changed(): void {
    if (this.#stopped) return;
    this.#schedule(this.#o.debounceMs ?? 1000, true);
  }

  #schedule(delayMs: number, onlyIfSooner = false): void {
    const dueAt = this.#clock.monotonicNow() + delayMs;
    if (this.#timer) {
      if (onlyIfSooner && this.#dueAt <= dueAt) return;
      this.#clock.clearTimeout(this.#timer);
    }
    this.#dueAt = dueAt;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, delayMs);
  }

  /** Writes the current table now (resolves when written or failed). */
  flush(): Promise<void> {
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  async #write(): Promise<void> {
    if (this.#stopped) return;
    const { store } = this.#o;
    try {
      const data = { [DATA_KEY]: encodeSnapshot(this.#o.snapshot()) };
      for (let attempt = 0; ; attempt++) {
        const current = await store.get(this.name);
        try {
          await store.put(
            this.name,
            {
              type: 'Opaque',
              data,
              labels: { [BUNDLE_TABLE_LABEL]: 'relay' },
              annotations: { [ANNOTATIONS.managedBy]: MANAGED_BY_VALUE, [ANNOTATIONS.role]: 'bundle-observations' },
            },
            { expectedVersion: current?.version ?? null },
          );
          break;
        } catch (err) {
          // only this replica writes its table; a conflict is a previous incarnation's write racing ours
          if (!isCertloopError(err, 'CERTLOOP_CONFLICT') || attempt >= 2) throw err;
        }
      }
      this.#o.onPublished?.();
    } catch (err) {
      this.#o.onError?.(
        isCertloopError(err)
          ? err
          : new CertloopError('CERTLOOP_UNAVAILABLE', 'the bundle table could not be published', { cause: err }),
      );
    } finally {
      if (!this.#stopped && !this.#timer) this.#schedule(this.#o.refreshMs ?? 30_000);
    }
  }

  /** Stops publishing; with `remove`, deletes the replica's table (a replica scaled away). */
  async stop(options: { readonly remove?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    if (options.remove) await this.#o.store.delete(this.name).catch(() => false);
  }
}

export interface StoreConvergenceSourceOptions {
  readonly store: SecretStore;
  /** A replica in this process: its live table is used instead of what it last published. */
  readonly local?: { snapshot(): BundleTableSnapshot };
  /** A table published longer ago than this counts its streams as offline (default 2 min). */
  readonly staleAfterMs?: number;
  /** As `BundleTable`'s (default one day). */
  readonly forgetAfterMs?: number;
  readonly clock?: Clock;
}

/** Every replica's published table, merged: the convergence of the whole fleet for a CA rotation. */
export class StoreConvergenceSource implements ConvergenceSource {
  readonly #o: StoreConvergenceSourceOptions;

  constructor(options: StoreConvergenceSourceOptions) {
    this.#o = options;
  }

  /** Every replica's table (unreadable ones are left out). */
  async snapshots(options: { readonly signal?: AbortSignal } = {}): Promise<BundleTableSnapshot[]> {
    const secrets = await this.#o.store.list({
      labelSelector: { [BUNDLE_TABLE_LABEL]: 'relay' },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const local = this.#o.local?.snapshot();
    const out: BundleTableSnapshot[] = local ? [local] : [];
    for (const secret of secrets) {
      const bytes = secret.data[DATA_KEY];
      if (!bytes) continue;
      let snapshot: BundleTableSnapshot;
      try {
        snapshot = decodeSnapshot(bytes);
      } catch {
        continue;
      }
      if (local && snapshot.replica === local.replica) continue;
      out.push(snapshot);
    }
    return out;
  }

  /** The merged reporters: per cluster and reporter, the latest report of any replica. */
  async entries(options: { readonly signal?: AbortSignal } = {}): Promise<BundleEntry[]> {
    return mergeSnapshots(await this.snapshots(options), this.#now(), this.#o.staleAfterMs);
  }

  async observations(options: { readonly signal?: AbortSignal } = {}): Promise<readonly BundleObservation[]> {
    const snapshots = await this.snapshots(options);
    const agents = clusterObservations(mergeSnapshots(snapshots, this.#now(), this.#o.staleAfterMs), {
      forgetAfterMs: this.#o.forgetAfterMs,
    });
    return [...agents, ...snapshots.flatMap((s) => s.own)];
  }

  #now(): number {
    return (this.#o.clock ?? systemClock).now().getTime();
  }
}

/** Merges replicas' tables: per (cluster, reporter) the entry seen last; streams of stale tables count as closed. */
export function mergeSnapshots(
  snapshots: readonly BundleTableSnapshot[],
  nowMs: number,
  staleAfterMs = 120_000,
): BundleEntry[] {
  const merged = new Map<string, BundleEntry>();
  for (const snapshot of snapshots) {
    const stale = snapshot.publishedAt.getTime() < nowMs - staleAfterMs;
    for (const entry of snapshot.entries) {
      const k = `${entry.cluster}\u0000${entry.reporter}`;
      const seen = merged.get(k);
      const streams = stale ? 0 : entry.streams;
      if (!seen) {
        merged.set(k, { ...entry, streams });
      } else {
        const newer = entry.lastSeen.getTime() > seen.lastSeen.getTime() ? entry : seen;
        merged.set(k, { ...newer, streams: seen.streams + streams });
      }
    }
  }
  return [...merged.values()];
}
