/**
 * `@certloop/core` ExpiryMonitor: watches any set of certificate secrets (root, intermediate, server, client;
 * managed or bring-your-own) and reports their state as events and, opt-in, as Prometheus metrics.
 *
 * Beyond Gloo, which does not monitor its root and intermediate: every certificate gets not-before, not-after,
 * renewal time, seconds left and a ready state, re-evaluated when the secret changes and when a time boundary
 * (renewal time, expiry) passes on the injected clock.
 *
 * States are judged on the wall clock (certificates are); timers run on durations, so each secret is also
 * re-evaluated at least every `recheckIntervalMs`: a wall clock that stepped (back before a certificate's
 * notBefore, or forward past its notAfter) shows in its state and in a `status` event within that interval.
 */
import { setMaxListeners } from 'node:events';
import { type Clock, systemClock, type TimerHandle } from '../clock/clock.js';
import { CertloopError } from '../errors.js';
import { Emitter } from '../lib/emitter.js';
import { assertGraceRatio } from '../rotation/renewal-time.js';
import type { RotatorEvent } from '../rotation/rotator.js';
import type { Watcher } from '../watch/types.js';
import { KeyCheckCache } from './key-check-cache.js';
import { type CertificateStatus, type StatusFacts, secretFacts, statusAt } from './status.js';

export type MonitorEvent =
  /** A secret's state or certificate changed (also the first status of each secret). */
  | { readonly type: 'status'; readonly status: CertificateStatus; readonly previous: CertificateStatus | undefined }
  | { readonly type: 'rotation'; readonly name: string; readonly result: 'succeeded' | 'failed' };

export interface MonitoredSecret {
  readonly name: string;
  /** Grace ratio used to compute this secret's renewal time (default: the monitor's). */
  readonly ratio?: number;
}

export interface ExpiryMonitorOptions {
  readonly watcher: Watcher;
  readonly secrets: readonly (string | MonitoredSecret)[];
  /** Grace ratio for renewal times (default 0.1, Gloo's). */
  readonly ratio?: number;
  /** The longest time a secret goes without re-evaluation, so wall-clock steps are noticed (default 60 s). */
  readonly recheckIntervalMs?: number;
  readonly clock?: Clock;
}

interface Entry {
  readonly name: string;
  readonly ratio: number;
  facts: StatusFacts | undefined;
  status: CertificateStatus | undefined;
  timer: TimerHandle | undefined;
}

export class ExpiryMonitor {
  readonly #clock: Clock;
  readonly #watcher: Watcher;
  readonly #entries = new Map<string, Entry>();
  // one key check per key and certificate, however often the same material comes back
  readonly #keyChecks = new KeyCheckCache();
  readonly #events = new Emitter<MonitorEvent>();
  readonly #rotations = new Map<string, { succeeded: number; failed: number }>();
  readonly #recheckMs: number;
  #abort: AbortController | undefined;

  constructor(options: ExpiryMonitorOptions) {
    const ratio = options.ratio ?? 0.1;
    assertGraceRatio(ratio);
    this.#clock = options.clock ?? systemClock;
    this.#watcher = options.watcher;
    this.#recheckMs = options.recheckIntervalMs ?? 60_000;
    if (!Number.isFinite(this.#recheckMs) || this.#recheckMs <= 0) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'recheckIntervalMs must be a positive number', {
        details: { recheckIntervalMs: this.#recheckMs },
      });
    }
    for (const s of options.secrets) {
      const spec = typeof s === 'string' ? { name: s } : s;
      if (spec.ratio !== undefined) assertGraceRatio(spec.ratio);
      this.#entries.set(spec.name, {
        name: spec.name,
        ratio: spec.ratio ?? ratio,
        facts: undefined,
        status: undefined,
        timer: undefined,
      });
    }
  }

  subscribe(listener: (event: MonitorEvent) => void): () => void {
    return this.#events.subscribe(listener);
  }

  /** Starts watching every secret; resolves when each has reported its initial state. */
  async start(): Promise<void> {
    if (this.#abort) return;
    this.#abort = new AbortController();
    const signal = this.#abort.signal;
    // one signal ends every watch of this monitor: thousands of listeners on it are expected
    setMaxListeners(0, signal);
    await Promise.all(
      [...this.#entries.values()].map(
        (entry) =>
          new Promise<void>((resolve) => {
            void (async () => {
              try {
                for await (const event of this.#watcher.watch(entry.name, { signal })) {
                  // a watch that starts with trouble must not hold up start(): its state follows when it recovers
                  if (event.type === 'error') {
                    resolve();
                    continue;
                  }
                  const secret = event.type === 'deleted' ? undefined : event.secret;
                  entry.facts = secretFacts(entry.name, secret, entry.ratio, (key, der) =>
                    this.#keyChecks.matches(key, der),
                  );
                  this.#evaluate(entry);
                  resolve();
                }
              } finally {
                resolve();
              }
            })();
          }),
      ),
    );
  }

  stop(): void {
    this.#abort?.abort();
    for (const entry of this.#entries.values()) if (entry.timer) this.#clock.clearTimeout(entry.timer);
  }

  /** The status of every monitored secret now. */
  snapshot(): CertificateStatus[] {
    const now = this.#clock.now();
    return [...this.#entries.values()].map((e) => statusAt(e.name, e.facts, now));
  }

  /** Rotation counts by secret and result, as fed by {@link ExpiryMonitor.observeRotator}. */
  rotationCounts(): ReadonlyMap<string, { succeeded: number; failed: number }> {
    return this.#rotations;
  }

  /** Counts a rotator's results (for the rotations metric); returns the unsubscribe function. */
  observeRotator(rotator: { subscribe(listener: (event: RotatorEvent) => void): () => void }): () => void {
    return rotator.subscribe((event) => {
      if (event.type === 'succeeded' || event.type === 'failed') this.recordRotation(event.name, event.type);
    });
  }

  recordRotation(name: string, result: 'succeeded' | 'failed'): void {
    const counts = this.#rotations.get(name) ?? { succeeded: 0, failed: 0 };
    counts[result] += 1;
    this.#rotations.set(name, counts);
    this.#events.emit({ type: 'rotation', name, result });
  }

  #evaluate(entry: Entry): void {
    const now = this.#clock.now();
    const status = statusAt(entry.name, entry.facts, now);
    const previous = entry.status;
    entry.status = status;
    if (!previous || previous.state !== status.state || previous.version !== status.version) {
      this.#events.emit({ type: 'status', status, previous });
    }
    if (entry.timer) this.#clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    // wake at the next boundary where the state can change by time alone, or at the recheck interval (the wall
    // clock may step meanwhile); a secret with no certificate waits for the watcher
    if (!entry.facts?.notAfter) return;
    const t = now.getTime();
    const next = [entry.facts.notBefore, entry.facts.renewAt, entry.facts.notAfter]
      .map((d) => d?.getTime())
      .filter((v): v is number => v !== undefined && v > t)
      .sort((a, b) => a - b)[0];
    const delay = Math.min(next === undefined ? Number.POSITIVE_INFINITY : next - t, this.#recheckMs);
    entry.timer = this.#clock.setTimeout(() => this.#evaluate(entry), delay);
  }
}
