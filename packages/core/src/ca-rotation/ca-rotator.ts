/**
 * `@certloop/core` CaRotator: rotates the relay's CAs on its own, beside the `Rotator` that renews leaves.
 *
 * Each pass (leader only): a rotation under way is moved on when its conditions hold (an interrupted intent is
 * resumed; converge → activate once every consumer holds {A, B} and the minimum dwell has passed; drain → retire once
 * no leaf under A is live and the drain dwell has passed); otherwise a CA whose remaining lifetime has fallen to
 * `ratio` of its lifetime gets a rotation prepared (the root first: its rotation also replaces the intermediate).
 * Defaults follow SPIRE's schedule (prepare at 1/2 of the lifetime, activate no sooner than 1/6 later) but never
 * move on without the convergence SPIRE does not check.
 *
 * Contract: `start` is idempotent; `stop` ends the loop and waits for the pass in flight (which stops at its next
 * write when aborted). `runOnce` runs one pass now (for tests and the CLI). A failed pass is reported (`failed`)
 * and retried at the next pass; every step it takes is idempotent, so nothing is done twice.
 */
import { type Clock, sleep, systemClock } from '../clock/clock.js';
import { CertloopError, isCertloopError } from '../errors.js';
import { Emitter } from '../lib/emitter.js';
import { CaRotation } from './ca-rotation.js';
import type { CaRotatorOptions } from './options.js';
import type { CaKind, CaRotationRecord } from './types.js';

export type CaRotatorEvent =
  | { readonly type: 'prepared'; readonly ca: CaKind; readonly record: CaRotationRecord }
  | { readonly type: 'activated'; readonly ca: CaKind; readonly record: CaRotationRecord }
  | { readonly type: 'retired'; readonly ca: CaKind; readonly record: CaRotationRecord }
  | { readonly type: 'resumed'; readonly ca: CaKind; readonly record: CaRotationRecord | undefined }
  | { readonly type: 'waiting'; readonly ca: CaKind; readonly phase: string; readonly reason: string }
  | { readonly type: 'failed'; readonly ca: CaKind; readonly error: CertloopError };

/** What one pass did, per CA. */
export type CaRotatorStep = 'idle' | 'prepared' | 'activated' | 'retired' | 'resumed' | 'waiting' | 'failed';

export class CaRotator {
  readonly #o: CaRotatorOptions;
  readonly #clock: Clock;
  readonly #rotations: ReadonlyMap<CaKind, CaRotation>;
  readonly #events = new Emitter<CaRotatorEvent>();
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(options: CaRotatorOptions) {
    const ratio = options.ratio ?? 0.5;
    if (!(ratio > 0 && ratio < 1)) throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'ratio must be in (0, 1)');
    for (const share of [options.dwell?.convergeShare, options.dwell?.drainShare]) {
      if (share !== undefined && !(share >= 0 && share < 1)) {
        throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'dwell shares must be in [0, 1)');
      }
    }
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    const cas = options.cas ?? ['root', 'intermediate'];
    this.#rotations = new Map(cas.map((ca) => [ca, new CaRotation({ ...options, ca, ratio })]));
  }

  /** The CaRotation this rotator drives for `ca` (for status and manual steps). */
  rotation(ca: CaKind): CaRotation | undefined {
    return this.#rotations.get(ca);
  }

  subscribe(listener: (event: CaRotatorEvent) => void): () => void {
    return this.#events.subscribe(listener);
  }

  start(): void {
    if (this.#loop) return;
    this.#abort = new AbortController();
    this.#loop = this.#run(this.#abort.signal);
  }

  async stop(): Promise<void> {
    this.#abort?.abort();
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
  }

  poke(): void {
    this.#wake?.();
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.runOnce({ signal }).catch(() => undefined);
      if (signal.aborted) return;
      const wake = new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      const timer = new AbortController();
      await Promise.race([
        sleep(this.#clock, this.#o.recheckIntervalMs ?? 60_000, AbortSignal.any([signal, timer.signal])).catch(
          () => undefined,
        ),
        wake,
      ]);
      timer.abort();
      this.#wake = undefined;
    }
  }

  /** One pass over every CA. Not leading: nothing is done (`idle`). */
  async runOnce(options: { readonly signal?: AbortSignal } = {}): Promise<Partial<Record<CaKind, CaRotatorStep>>> {
    const out: Partial<Record<CaKind, CaRotatorStep>> = {};
    const leader = this.#o.leader;
    if (leader && !leader.isLeader()) return out;
    for (const [ca, rotation] of this.#rotations) {
      try {
        out[ca] = await this.#pass(ca, rotation, options.signal);
      } catch (err) {
        const error = isCertloopError(err)
          ? err
          : new CertloopError('CERTLOOP_CA_RESPONSE_INVALID', 'the CA rotation pass failed', { cause: err });
        this.#events.emit({ type: 'failed', ca, error });
        out[ca] = 'failed';
      }
    }
    return out;
  }

  async #pass(ca: CaKind, rotation: CaRotation, signal: AbortSignal | undefined): Promise<CaRotatorStep> {
    const opts = signal ? { signal } : {};
    const status = await rotation.status(opts);
    const rec = status.record;
    const now = this.#clock.now().getTime();
    if (!status.underWay || !rec) {
      if (!status.due) return 'idle';
      const other = this.#rotations.get(ca === 'root' ? 'intermediate' : 'root');
      const otherStatus = other ? await other.status(opts) : undefined;
      if (otherStatus?.underWay) return this.#waiting(ca, rec ?? otherStatus.record!, `the ${other!.ca} is rotating`);
      if (ca === 'intermediate' && otherStatus?.due) return 'idle'; // the root goes first (it replaces both)
      const record = await rotation.prepare({
        ...opts,
        mode: 'automatic',
        crossSign: this.#o.crossSign ?? true,
        reason: 'automatic: due at the grace ratio',
      });
      this.#events.emit({ type: 'prepared', ca, record });
      return 'prepared';
    }
    switch (rec.phase) {
      case 'prepare':
      case 'activate':
      case 'retire':
      case 'abort': {
        const record = await rotation.resume(opts);
        this.#events.emit({ type: 'resumed', ca, record });
        return 'resumed';
      }
      case 'converge': {
        const figures = await rotation.checkConvergence(opts);
        const since = Date.parse(rec.timestamps.preparedAt ?? rec.timestamps.phaseSince);
        const dwell = this.#dwell(rec, this.#o.dwell?.convergeShare ?? 1 / 6);
        if (!figures.complete) return this.#waiting(ca, rec, figures.summary);
        if (now - since < dwell)
          return this.#waiting(ca, rec, `minimum dwell until ${new Date(since + dwell).toISOString()}`);
        const record = await rotation.activate(opts);
        this.#events.emit({ type: 'activated', ca, record });
        return 'activated';
      }
      case 'drain': {
        const figures = await rotation.drain(opts);
        const since = Date.parse(rec.timestamps.activatedAt ?? rec.timestamps.phaseSince);
        const dwell = this.#dwell(rec, this.#o.dwell?.drainShare ?? 0);
        if (figures.liveUnderOld > 0) return this.#waiting(ca, rec, `${figures.liveUnderOld} leaves live under A`);
        if (now - since < dwell)
          return this.#waiting(ca, rec, `minimum dwell until ${new Date(since + dwell).toISOString()}`);
        const record = await rotation.retire(opts);
        this.#events.emit({ type: 'retired', ca, record });
        return 'retired';
      }
      default:
        return 'idle';
    }
  }

  #waiting(ca: CaKind, rec: CaRotationRecord, reason: string): CaRotatorStep {
    this.#events.emit({ type: 'waiting', ca, phase: rec.phase, reason });
    return 'waiting';
  }

  /** A dwell, ms: `share` of the old CA's lifetime, capped by `maxDwellSeconds`. */
  #dwell(rec: CaRotationRecord, share: number): number {
    // an expired CA is replaced as soon as the steps allow: waiting protects nobody
    if (this.#clock.now().getTime() >= Date.parse(rec.old.notAfter)) return 0;
    const lifetime = Date.parse(rec.old.notAfter) - Date.parse(rec.old.notBefore);
    const max = this.#o.dwell?.maxDwellSeconds;
    const dwell = share * lifetime;
    return max === undefined ? dwell : Math.min(dwell, max * 1000);
  }
}
