/**
 * `@certloop/k8s-store/testing` faults: what tests do to the emulator to make a client's life hard. Drop every watch
 * stream, make the next watch answer 410, stall streams silently, answer the next N requests with a status,
 * add latency, compact the history, or partition one client away.
 */

/** What a fault filter sees of a request. */
export interface RequestInfo {
  readonly method: string;
  readonly path: string;
  readonly watch: boolean;
  /** The bearer token, if any. */
  readonly token: string | undefined;
  readonly userAgent: string | undefined;
}

export interface FailNextOptions {
  /** HTTP status to answer with (500, 503, 429, 403, ...). */
  readonly status: number;
  /** How many requests (default 1). */
  readonly count?: number;
  /** Sets `Retry-After` (seconds), as a server under load does with 429. */
  readonly retryAfterSeconds?: number;
  /** Only requests this returns true for count and fail (default: all). */
  readonly filter?: (request: RequestInfo) => boolean;
}

interface PendingFailure {
  remaining: number;
  readonly options: FailNextOptions;
}

/** Hooks the watch hub installs so faults can act on open streams. */
export interface WatchControl {
  dropAll(): number;
  stallAll(): number;
}

export class EmulatorFaults {
  #latencyMs = 0;
  #expireNext: 'event' | 'http' | undefined;
  #stallNew = false;
  readonly #failures: PendingFailure[] = [];
  readonly #partitions = new Set<(request: RequestInfo) => boolean>();
  #watches: WatchControl | undefined;
  #compact: (() => void) | undefined;

  /** @internal wiring by the emulator. */
  attach(watches: WatchControl, compact: () => void): void {
    this.#watches = watches;
    this.#compact = compact;
  }

  /** Destroys every open watch socket abruptly (a dropped connection); resolves how many. */
  dropWatches(): number {
    return this.#watches?.dropAll() ?? 0;
  }

  /**
   * The next watch request answers Expired: by default as the server does (HTTP 200 then an ERROR event with a
   * 410 Status, then the stream closes); `{ http: true }` answers HTTP 410 instead.
   */
  expireNextWatch(options: { http?: boolean } = {}): void {
    this.#expireNext = options.http ? 'http' : 'event';
  }

  /** Every open watch stays open but sends nothing more, not even bookmarks (a silent, half-dead stream). */
  stallWatches(options: { alsoNew?: boolean } = {}): number {
    this.#stallNew = options.alsoNew ?? false;
    return this.#watches?.stallAll() ?? 0;
  }

  /** Answers the next `count` matching requests with `status` (a Status body). */
  failNext(options: FailNextOptions): void {
    this.#failures.push({ remaining: options.count ?? 1, options });
  }

  /** Adds `ms` of latency before every answer (0 removes it). */
  setLatency(ms: number): void {
    this.#latencyMs = ms;
  }

  /** Drops the watch history: a watch from any revision before now is 410 Expired. */
  compact(): void {
    this.#compact?.();
  }

  /**
   * Cuts off requests `filter` matches (their sockets are destroyed, as in a network partition) until the
   * returned function heals it.
   */
  partition(filter: (request: RequestInfo) => boolean): () => void {
    this.#partitions.add(filter);
    return () => {
      this.#partitions.delete(filter);
    };
  }

  /** Removes every fault. */
  clear(): void {
    this.#latencyMs = 0;
    this.#expireNext = undefined;
    this.#stallNew = false;
    this.#failures.length = 0;
    this.#partitions.clear();
  }

  /** @internal */
  get latencyMs(): number {
    return this.#latencyMs;
  }

  /** @internal */
  isPartitioned(request: RequestInfo): boolean {
    for (const filter of this.#partitions) if (filter(request)) return true;
    return false;
  }

  /** @internal the failure to answer `request` with, if one is pending. */
  takeFailure(request: RequestInfo): FailNextOptions | undefined {
    for (const pending of this.#failures) {
      if (pending.remaining > 0 && (pending.options.filter?.(request) ?? true)) {
        pending.remaining -= 1;
        if (pending.remaining === 0) this.#failures.splice(this.#failures.indexOf(pending), 1);
        return pending.options;
      }
    }
    return undefined;
  }

  /** @internal */
  takeExpire(): 'event' | 'http' | undefined {
    const value = this.#expireNext;
    this.#expireNext = undefined;
    return value;
  }

  /** @internal */
  get stallNewWatches(): boolean {
    return this.#stallNew;
  }
}
