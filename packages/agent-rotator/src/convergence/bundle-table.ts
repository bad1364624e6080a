/**
 * `@certloop/agent-rotator` bundle table: which trust bundle each agent replica of each cluster reported, from the
 * relay's Hello, heartbeats, BundleReport messages and Renew calls. A CA rotation reads it (through core's
 * `ConvergenceSource`) to see every cluster take the new bundle before it moves on.
 *
 * An agent that goes offline stays in the table with the digest it last reported and when: a straggler keeps the
 * rotation waiting (shown as "last seen 3 m ago") until it returns and reports, is confirmed by hand, or its
 * entry is forgotten (`forgetAfterMs` past its last report while another replica of its cluster is newer).
 */
import type { BundleObservation, Clock } from '@certloop/core';

/** One reporter (an agent replica, or the cluster's Renew calls) as the table holds it. */
export interface BundleEntry {
  readonly cluster: string;
  /** The replica's name from Hello (its peer address when it sent none), or `renew` for Renew calls. */
  readonly reporter: string;
  readonly via: 'stream' | 'renew';
  readonly digest: string;
  /** When this reporter first reported `digest` (its last change). */
  readonly since: Date;
  readonly lastSeen: Date;
  /** Open relay streams of this reporter now (0: offline). */
  readonly streams: number;
  /** Authority key identifier of the client certificate it last used (which CA issued it), lower-case hex. */
  readonly issuerKeyId?: string | undefined;
}

export interface BundleReport {
  readonly cluster: string;
  readonly reporter: string;
  readonly via: 'stream' | 'renew';
  /** Empty: the agent does not report a bundle (an older agent): only liveness is recorded. */
  readonly digest: string;
  readonly issuerKeyId?: string | undefined;
}

const DAY_MS = 86_400_000;

function key(cluster: string, reporter: string): string {
  return `${cluster}\u0000${reporter}`;
}

/** Marker prefix of a cluster whose replicas hold different bundles (never equal to a real digest). */
export const MIXED_DIGEST_PREFIX = 'mixed:';

/**
 * One observation per cluster from its reporters: the digest they all hold, or, when they disagree, a
 * `mixed:`-prefixed value that equals no bundle digest (the cluster has not converged on anything). A Renew report
 * older than some stream report of the same cluster is superseded by it; an offline reporter silent for
 * `forgetAfterMs` is left out while a newer one of its cluster exists.
 */
export function clusterObservations(
  entries: Iterable<BundleEntry>,
  options: { readonly forgetAfterMs?: number } = {},
): BundleObservation[] {
  const forgetAfterMs = options.forgetAfterMs ?? DAY_MS;
  const byCluster = new Map<string, BundleEntry[]>();
  for (const entry of entries) {
    if (!entry.digest) continue;
    const list = byCluster.get(entry.cluster) ?? [];
    list.push(entry);
    byCluster.set(entry.cluster, list);
  }
  const out: BundleObservation[] = [];
  for (const [cluster, list] of byCluster) {
    const newest = Math.max(...list.map((e) => e.lastSeen.getTime()));
    const newestStream = Math.max(0, ...list.filter((e) => e.via === 'stream').map((e) => e.lastSeen.getTime()));
    const live = list.filter((e) => {
      if (e.via === 'renew' && e.lastSeen.getTime() <= newestStream) return false;
      return e.streams > 0 || e.lastSeen.getTime() > newest - forgetAfterMs;
    });
    const digests = [...new Set(live.map((e) => e.digest))].sort();
    const online = live.filter((e) => e.streams > 0).length;
    const replicas = live.filter((e) => e.via === 'stream').length;
    const detail =
      digests.length === 1
        ? `${replicas} replica(s), ${online} online`
        : `${replicas} replica(s), ${online} online; they disagree: ${digests
            .map((d) => `${live.filter((e) => e.digest === d).length} on ${d.slice(0, 12)}`)
            .join(', ')}`;
    out.push({
      consumer: cluster,
      kind: 'agent',
      bundleDigest: digests.length === 1 ? digests[0]! : `${MIXED_DIGEST_PREFIX}${digests.join(',')}`,
      observedAt: new Date(Math.max(...live.map((e) => e.lastSeen.getTime()))),
      detail,
    });
  }
  return out.sort((a, b) => a.consumer.localeCompare(b.consumer));
}

export interface BundleTableOptions {
  readonly clock: Clock;
  /** How long an offline reporter is kept once a newer one of its cluster exists (default one day). */
  readonly forgetAfterMs?: number;
  /** At most this many reporters are kept; the least recently seen offline ones go first (default 100,000). */
  readonly maxEntries?: number;
}

type MutableEntry = { -readonly [K in keyof BundleEntry]: BundleEntry[K] };

/** The per-cluster table one server replica keeps. Not persisted by itself: see `BundleTablePublisher`. */
export class BundleTable {
  readonly #o: BundleTableOptions;
  readonly #entries = new Map<string, MutableEntry>();
  readonly #listeners = new Set<(change: 'digest' | 'presence') => void>();

  constructor(options: BundleTableOptions) {
    this.#o = options;
  }

  /** Called on a digest change or a reporter going online/offline (not on every heartbeat). */
  onChange(listener: (change: 'digest' | 'presence') => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(change: 'digest' | 'presence'): void {
    for (const listener of this.#listeners) listener(change);
  }

  /** Records a report; `stream: 'opened' | 'closed'` counts the reporter's open streams. */
  report(report: BundleReport, stream?: 'opened' | 'closed'): void {
    const now = this.#o.clock.now();
    const k = key(report.cluster, report.reporter);
    let entry = this.#entries.get(k);
    let change: 'digest' | 'presence' | undefined;
    if (!entry) {
      entry = {
        cluster: report.cluster,
        reporter: report.reporter,
        via: report.via,
        digest: report.digest,
        since: now,
        lastSeen: now,
        streams: 0,
        issuerKeyId: report.issuerKeyId,
      };
      this.#entries.set(k, entry);
      this.#trim();
      change = 'digest';
    } else {
      if (report.digest && report.digest !== entry.digest) {
        entry.digest = report.digest;
        entry.since = now;
        change = 'digest';
      }
      entry.lastSeen = now;
      if (report.issuerKeyId !== undefined && report.issuerKeyId !== entry.issuerKeyId) {
        entry.issuerKeyId = report.issuerKeyId;
        change ??= 'presence';
      }
    }
    if (stream === 'opened') {
      entry.streams++;
      change ??= 'presence';
    } else if (stream === 'closed') {
      entry.streams = Math.max(0, entry.streams - 1);
      change ??= 'presence';
    }
    if (change) this.#emit(change);
  }

  /** Forgets a cluster (e.g. it was decommissioned): a rotation stops waiting for it. */
  forget(cluster: string): number {
    let n = 0;
    for (const [k, e] of this.#entries) {
      if (e.cluster === cluster) {
        this.#entries.delete(k);
        n++;
      }
    }
    if (n) this.#emit('presence');
    return n;
  }

  #trim(): void {
    const max = this.#o.maxEntries ?? 100_000;
    if (this.#entries.size <= max) return;
    const offline = [...this.#entries].filter(([, e]) => e.streams === 0);
    offline.sort(([, a], [, b]) => a.lastSeen.getTime() - b.lastSeen.getTime());
    for (const [k] of offline.slice(0, this.#entries.size - max)) this.#entries.delete(k);
  }

  /** Every reporter, copied. */
  entries(): BundleEntry[] {
    return [...this.#entries.values()].map((e) => ({ ...e }));
  }

  /** One observation per cluster (see {@link clusterObservations}). */
  observations(): BundleObservation[] {
    return clusterObservations(this.#entries.values(), { forgetAfterMs: this.#o.forgetAfterMs });
  }
}
