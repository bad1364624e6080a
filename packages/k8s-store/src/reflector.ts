/**
 * `@certloop/k8s-store` Reflector: client-go's list-watch loop for the Secrets of one namespace. Internal.
 *
 * LIST; WATCH from the list's resourceVersion with bookmarks and a random `timeoutSeconds`; remember the RV of
 * every event, bookmarks included; on Expired (an ERROR event with 410, or HTTP 410) re-LIST. As client-go: after
 * a stream that was healthy (it delivered an event or bookmark, or lasted a second), closed or dropped, WATCH again
 * from the last RV at once, and forget earlier failures; back off (jittered, capped, doubling) only after failures
 * to connect and streams that ended at once with nothing ("very short watch"), so repeated drops of working
 * streams never add up to a slow watch. A stream that sends nothing (no event, no bookmark) within the silence
 * bound is treated as dead and replaced; every resync period it re-LISTs. Every problem is reported to the handler, and the loop keeps going
 * until `stop()`. Timers run on the injected clock.
 */
import type { Clock } from '@certloop/core';
import { backoffDelay, CertloopError, isCertloopError, sleep } from '@certloop/core/base';
import type { KubeOperation } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { ListScanner } from './list-scanner.js';
import { packKubeSecret } from './packed-secret.js';
import type { KubeList, KubeSecret } from './secret-mapping.js';

export interface ReflectorTimings {
  /** Range of the watch's `timeoutSeconds`, drawn at random per watch (default [300, 600), client-go's). */
  readonly watchTimeoutSeconds?: { readonly min: number; readonly max: number };
  /** A stream silent this long (no event, no bookmark) is replaced (default 150 s). */
  readonly silenceTimeoutMs?: number;
  /** Re-LIST this often, emitting only real differences (default 10 min; 0 turns it off). */
  readonly resyncPeriodMs?: number;
  /** Backoff after failures: first delay (default 800 ms), doubling up to `maxBackoffMs` (default 30 s). */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Items per LIST page (default 500, client-go's); a LIST that fails on a later page applies nothing of it. */
  readonly listPageSize?: number;
}

export type ReflectorEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * Where the reflector's results go. Secrets arrive packed (`packed-secret.ts`) in a scratch buffer that is valid
 * only during the call: a handler copies what it keeps.
 */
export interface ReflectorHandler {
  /** A LIST begins: its items follow through `listed`, then `replace` (or, if it fails, the next `listing`). */
  listing(): void;
  /** One item of the LIST under way. */
  listed(name: string, packed: Buffer): void;
  /** The LIST is complete: the items listed are the full state at `resourceVersion`. */
  replace(resourceVersion: string): void;
  /** One watch event, in order. */
  apply(type: ReflectorEventType, name: string, packed: Buffer): void;
  /** A problem the reflector is recovering from. */
  error(err: CertloopError): void;
}

export interface ReflectorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly labelSelector?: string;
  readonly timings?: ReflectorTimings;
  readonly clock: Clock;
  readonly random?: () => number;
  readonly handler: ReflectorHandler;
}

/** Counters, for tests and benchmarks. */
export interface ReflectorStats {
  lists: number;
  watches: number;
  events: number;
  bookmarks: number;
  /** Backoff delays taken, and their sum in milliseconds (re-watches after a healthy stream take none). */
  backoffs: number;
  backoffMs: number;
}

/** A stream that lasted this long (or delivered anything) was healthy: the next watch starts at once. */
const HEALTHY_STREAM_MS = 1_000;

/** client-go's page size for the reflector's LIST. */
const LIST_PAGE_SIZE = 500;

type WatchOutcome = 'closed' | 'expired' | 'resync' | 'stopped' | 'relist';

/** How a stream ended: why, the failure that ended it (a drop, silence), and whether it was healthy. */
interface StreamEnd {
  readonly outcome: WatchOutcome;
  readonly failure?: CertloopError;
  readonly healthy: boolean;
}

interface WatchLine {
  type?: string;
  object?: KubeSecret & { code?: number; reason?: string; message?: string };
}

export class Reflector {
  readonly stats: ReflectorStats = { lists: 0, watches: 0, events: 0, bookmarks: 0, backoffs: 0, backoffMs: 0 };
  readonly #o: ReflectorOptions;
  readonly #random: () => number;
  readonly #stop = new AbortController();
  #resourceVersion = '';
  #closeStream: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #resyncDue = false;
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(options: ReflectorOptions) {
    this.#o = options;
    this.#random = options.random ?? Math.random;
  }

  /** The last resourceVersion seen (list, event or bookmark). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  start(): void {
    if (this.#running) return;
    // The clock's timers do not hold the process open; a running watch must, even while it backs off with no
    // socket open, or a process that only watches would exit in the middle of an API outage.
    this.#keepAlive = setInterval(() => {}, 1 << 30);
    this.#running = this.#run().catch((err) => {
      if (!this.#stop.signal.aborted) this.#o.handler.error(asError(err, 'the reflector stopped'));
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.#keepAlive);
    this.#stop.abort();
    this.#closeStream?.();
    await this.#running;
  }

  #op(verb: string): KubeOperation {
    return { verb, resource: 'secrets', namespace: this.#o.namespace };
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    let failures = 0;
    const backoff = async (cause?: unknown) => {
      failures += 1;
      const t = this.#o.timings;
      const ms = backoffDelay(
        failures,
        { initialMs: t?.initialBackoffMs ?? 800, maxMs: t?.maxBackoffMs ?? 30_000 },
        this.#random,
      );
      // a 429 or 503 with Retry-After is honoured: never sooner than the server asked
      const asked =
        isCertloopError(cause) && typeof cause.details?.retryAfterMs === 'number' ? cause.details.retryAfterMs : 0;
      const delay = Math.max(ms, asked);
      this.stats.backoffs += 1;
      this.stats.backoffMs += delay;
      await sleep(this.#o.clock, delay, signal);
    };
    const resyncMs = this.#o.timings?.resyncPeriodMs ?? 600_000;
    while (!signal.aborted) {
      try {
        await this.#list();
        failures = 0;
      } catch (err) {
        if (signal.aborted) return;
        this.#o.handler.error(asError(err, 'listing secrets failed'));
        await backoff(err).catch(() => {});
        continue;
      }
      const resync = resyncMs > 0 ? this.#o.clock.setTimeout(() => this.#requestResync(), resyncMs) : undefined;
      try {
        for (;;) {
          let ended: StreamEnd;
          try {
            ended = await this.#watchOnce();
          } catch (err) {
            // no stream: a failure to connect (or an HTTP error answer)
            if (signal.aborted) return;
            if (isCertloopError(err, 'CERTLOOP_K8S_EXPIRED')) {
              this.#o.handler.error(err);
              break;
            }
            this.#o.handler.error(asError(err, 'the secret watch failed'));
            await backoff(err);
            continue;
          }
          const { outcome, failure, healthy } = ended;
          if (outcome === 'stopped') return;
          // a healthy stream proves the server works: earlier failures no longer count towards the backoff
          if (healthy) failures = 0;
          if (failure) this.#o.handler.error(failure);
          if (outcome === 'relist') await backoff();
          if (outcome === 'expired' || outcome === 'resync' || outcome === 'relist') break;
          // closed or dropped: at once after a healthy stream, else client-go's "very short watch" backoff
          if (!healthy) await backoff(failure);
        }
      } catch {
        return; // aborted during backoff
      } finally {
        if (resync) this.#o.clock.clearTimeout(resync);
      }
    }
  }

  #requestResync(): void {
    this.#resyncDue = true;
    this.#closeStream?.();
  }

  /**
   * LIST in pages of {@link LIST_PAGE_SIZE} (client-go's), so 10,000 Secrets never sit in one response; each page
   * is read item by item as it arrives (`ListScanner`), each item decoded at once, so no page is held whole.
   */
  async #list(): Promise<void> {
    this.#resyncDue = false;
    const handler = this.#o.handler;
    handler.listing();
    const onItem = (json: string) => {
      let item: KubeSecret;
      try {
        item = JSON.parse(json) as KubeSecret;
      } catch (err) {
        throw new CertloopError('CERTLOOP_WATCH_FAILED', 'the secret list answer holds an item that is not JSON', {
          cause: err,
        });
      }
      if (!item?.metadata?.name) return;
      handler.listed(item.metadata.name, packKubeSecret(item));
    };
    const pageSize = this.#o.timings?.listPageSize ?? LIST_PAGE_SIZE;
    let resourceVersion = '';
    let token: string | undefined;
    do {
      const scanner = new ListScanner(onItem);
      await this.#o.client.requestChunks(
        {
          method: 'GET',
          path: `/api/v1/namespaces/${encodeURIComponent(this.#o.namespace)}/secrets`,
          query: { labelSelector: this.#o.labelSelector, limit: String(pageSize), continue: token },
          signal: this.#stop.signal,
          op: this.#op('list'),
        },
        (chunk) => scanner.push(chunk),
      );
      const page = scanner.end<KubeList<KubeSecret>>();
      if (!resourceVersion) resourceVersion = page.metadata?.resourceVersion ?? '';
      token = page.metadata?.continue || undefined;
    } while (token);
    this.stats.lists += 1;
    this.#resourceVersion = resourceVersion;
    handler.replace(resourceVersion);
  }

  /** One watch stream, to its end; throws when it cannot be opened. */
  async #watchOnce(): Promise<StreamEnd> {
    const timings = this.#o.timings;
    const range = timings?.watchTimeoutSeconds ?? { min: 300, max: 600 };
    const timeoutSeconds = Math.floor(range.min + (range.max - range.min) * this.#random());
    const { res, close } = await this.#o.client.stream({
      method: 'GET',
      path: `/api/v1/namespaces/${encodeURIComponent(this.#o.namespace)}/secrets`,
      query: {
        watch: 'true',
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(timeoutSeconds),
        labelSelector: this.#o.labelSelector,
      },
      signal: this.#stop.signal,
      op: this.#op('watch'),
    });
    this.stats.watches += 1;
    const clock = this.#o.clock;
    const silenceMs = timings?.silenceTimeoutMs ?? 150_000;
    const openedAt = clock.monotonicNow();
    const delivered = () => this.stats.events + this.stats.bookmarks;
    const deliveredBefore = delivered();
    return new Promise<StreamEnd>((resolve) => {
      let settled = false;
      let outcome: WatchOutcome = 'closed';
      let failure: CertloopError | undefined;
      let lastActivity = clock.now().getTime();
      let buffer = '';
      let silenceTimer = clock.setTimeout(checkSilence, silenceMs);
      const finish = () => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(silenceTimer);
        this.#closeStream = undefined;
        // decide before destroying the response: its 'close' and 'aborted' listeners would set a failure
        const settledFailure = failure;
        const settledOutcome = this.#resyncDue ? 'resync' : outcome;
        close();
        const healthy = delivered() > deliveredBefore || clock.monotonicNow() - openedAt >= HEALTHY_STREAM_MS;
        if (this.#stop.signal.aborted) resolve({ outcome: 'stopped', healthy });
        else if (settledFailure) resolve({ outcome: 'closed', failure: settledFailure, healthy });
        else resolve({ outcome: settledOutcome, healthy });
      };
      function checkSilence() {
        const idle = clock.now().getTime() - lastActivity;
        if (idle >= silenceMs) {
          failure = new CertloopError(
            'CERTLOOP_WATCH_FAILED',
            `the secret watch was silent for ${idle} ms; reconnecting`,
            {
              details: { silenceTimeoutMs: silenceMs },
            },
          );
          finish();
        } else silenceTimer = clock.setTimeout(checkSilence, silenceMs - idle);
      }
      this.#closeStream = finish;
      // stop() may have run between the answer's headers and here, when there was no stream yet to close
      if (this.#stop.signal.aborted) {
        finish();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (settled) return;
        lastActivity = clock.now().getTime();
        buffer += chunk;
        let newline = buffer.indexOf('\n');
        while (newline >= 0 && !settled) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line.trim() !== '')
            this.#onLine(line, (o, f) => {
              outcome = o;
              failure = f;
              finish();
            });
          newline = buffer.indexOf('\n');
        }
      });
      res.on('end', finish);
      res.on('aborted', () => {
        failure ??= new CertloopError('CERTLOOP_UNAVAILABLE', 'the secret watch connection was dropped');
        finish();
      });
      res.on('error', (err) => {
        failure ??= asError(err, 'the secret watch connection failed', 'CERTLOOP_UNAVAILABLE');
        finish();
      });
      res.on('close', () => {
        if (!res.complete)
          failure ??= new CertloopError('CERTLOOP_UNAVAILABLE', 'the secret watch connection was dropped');
        finish();
      });
    });
  }

  #onLine(line: string, end: (outcome: WatchOutcome, failure?: CertloopError) => void): void {
    let event: WatchLine;
    try {
      event = JSON.parse(line) as WatchLine;
    } catch {
      end('closed', new CertloopError('CERTLOOP_WATCH_FAILED', 'the secret watch sent a line that is not JSON'));
      return;
    }
    const object = event.object;
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        if (!object?.metadata?.name) return;
        this.stats.events += 1;
        if (object.metadata.resourceVersion) this.#resourceVersion = object.metadata.resourceVersion;
        this.#o.handler.apply(event.type, object.metadata.name, packKubeSecret(object));
        return;
      }
      case 'BOOKMARK':
        this.stats.bookmarks += 1;
        if (object?.metadata?.resourceVersion) this.#resourceVersion = object.metadata.resourceVersion;
        return;
      case 'ERROR': {
        const code = object?.code;
        if (code === 410 || object?.reason === 'Expired' || object?.reason === 'Gone') {
          this.#o.handler.error(
            new CertloopError(
              'CERTLOOP_K8S_EXPIRED',
              `the secret watch expired (${object?.message ?? '410'}); re-listing`,
              {
                details: { resourceVersion: this.#resourceVersion },
              },
            ),
          );
          end('expired');
          return;
        }
        // anything else (a 504 for a future RV, a 500): re-list after a backoff
        this.#o.handler.error(
          new CertloopError('CERTLOOP_WATCH_FAILED', `the secret watch answered an error: ${object?.message ?? code}`, {
            details: { code, reason: object?.reason },
          }),
        );
        end('relist');
        return;
      }
      default:
        return;
    }
  }
}

function asError(
  err: unknown,
  message: string,
  code: 'CERTLOOP_WATCH_FAILED' | 'CERTLOOP_UNAVAILABLE' = 'CERTLOOP_WATCH_FAILED',
): CertloopError {
  if (err instanceof CertloopError) return err;
  return new CertloopError(code, message, { cause: err });
}
