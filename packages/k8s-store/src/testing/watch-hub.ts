/**
 * `@certloop/k8s-store/testing` watch hub: serves `?watch=true` streams as a kube-apiserver does. HTTP 200,
 * chunked `application/json`, headers flushed at once, one `{"type","object"}` line per event: a synthetic ADDED
 * per object from RV unset or "0", else every change after the RV from the bounded history (ERROR 410 Expired and
 * close when it is too old, ERROR 504 when it is in the future), then live events; bookmarks when asked for; a clean
 * end after `timeoutSeconds`.
 */
import type { ServerResponse } from 'node:http';
import type { EmulatorFaults, WatchControl } from './faults.js';
import type { KubeObject, ResourceKind } from './resources.js';
import type { Selector } from './selectors.js';
import type { Change, Storage } from './storage.js';

export interface WatchRequest {
  readonly resource: ResourceKind;
  readonly namespace: string | undefined;
  readonly select: Selector;
  readonly resourceVersion: string | null;
  readonly allowBookmarks: boolean;
  readonly timeoutSeconds: number | undefined;
  /** Shapes an object as the API returns it (kind and apiVersion set). */
  readonly present: (obj: KubeObject) => KubeObject;
}

interface OpenWatch {
  readonly res: ServerResponse;
  stalled: boolean;
  close(): void;
}

export class WatchHub implements WatchControl {
  readonly #storage: Storage;
  readonly #faults: EmulatorFaults;
  readonly #bookmarkMs: number;
  readonly #open = new Set<OpenWatch>();

  constructor(storage: Storage, faults: EmulatorFaults, bookmarkIntervalMs: number) {
    this.#storage = storage;
    this.#faults = faults;
    this.#bookmarkMs = bookmarkIntervalMs;
  }

  get openCount(): number {
    return this.#open.size;
  }

  dropAll(): number {
    const all = [...this.#open];
    for (const watch of all) {
      watch.close();
      watch.res.socket?.destroy();
      watch.res.destroy();
    }
    return all.length;
  }

  stallAll(): number {
    for (const watch of this.#open) watch.stalled = true;
    return this.#open.size;
  }

  /** Ends every stream (server shutdown). */
  closeAll(): void {
    for (const watch of [...this.#open]) {
      watch.close();
      watch.res.end();
    }
  }

  serve(request: WatchRequest, res: ServerResponse): void {
    const expire = this.#faults.takeExpire();
    if (expire === 'http') {
      const body = JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${request.resourceVersion ?? 0} (${this.#storage.revision})`,
        reason: 'Expired',
        code: 410,
      });
      res.writeHead(410, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Transfer-Encoding': 'chunked',
      'Cache-Control': 'no-cache, private',
    });
    res.flushHeaders();
    const write = (type: string, object: unknown) => {
      if (!watch.stalled && !res.destroyed) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const fail = (status: Record<string, unknown>) => {
      write('ERROR', { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', ...status });
      watch.close();
      res.end();
    };
    const storage = this.#storage;
    const { resource, namespace, select, present } = request;
    const inScope = (obj: KubeObject) =>
      (namespace === undefined || obj.metadata.namespace === namespace) && select(obj);
    const deliver = (change: Change) => {
      if (change.resource !== resource) return;
      const now = inScope(change.object);
      const before = change.previous !== undefined && inScope(change.previous);
      if (change.type === 'DELETED') {
        if (before) write('DELETED', present(change.object));
      } else if (change.type === 'ADDED') {
        if (now) write('ADDED', present(change.object));
      } else if (now && before) write('MODIFIED', present(change.object));
      else if (now) write('ADDED', present(change.object));
      else if (before) {
        // left the selector: a real server sends DELETED with the new state
        write('DELETED', present(change.object));
      }
    };
    let unsubscribe = () => {};
    const timers: NodeJS.Timeout[] = [];
    const watch: OpenWatch = {
      res,
      stalled: this.#faults.stallNewWatches,
      close: () => {
        unsubscribe();
        for (const timer of timers) clearTimeout(timer);
        this.#open.delete(watch);
      },
    };
    this.#open.add(watch);
    res.on('close', () => watch.close());

    const rv = request.resourceVersion;
    if (expire === 'event') {
      fail({ message: `too old resource version: ${rv ?? 0} (${storage.revision})`, reason: 'Expired', code: 410 });
      return;
    }
    if (rv === null || rv === '' || rv === '0') {
      for (const obj of storage.list(resource, namespace)) if (select(obj)) write('ADDED', present(obj));
    } else {
      const from = Number(rv);
      if (!Number.isInteger(from) || from < 0) {
        fail({ message: `invalid resource version: ${rv}`, reason: 'BadRequest', code: 400 });
        return;
      }
      if (from > storage.revision) {
        fail({
          message: 'Too large resource version',
          reason: 'Timeout',
          code: 504,
          details: {
            causes: [
              {
                reason: 'ResourceVersionTooLarge',
                message: `Too large resource version: ${from}, current: ${storage.revision}`,
              },
            ],
            retryAfterSeconds: 1,
          },
        });
        return;
      }
      if (from < storage.compactedThrough) {
        fail({
          message: `too old resource version: ${from} (${storage.compactedThrough})`,
          reason: 'Expired',
          code: 410,
        });
        return;
      }
      for (const change of storage.since(from)) deliver(change);
    }
    unsubscribe = storage.subscribe(deliver);
    if (request.allowBookmarks) {
      const tick = () => {
        write('BOOKMARK', {
          kind: resource.kind,
          apiVersion: resource.apiVersion,
          metadata: { resourceVersion: String(storage.revision) },
        });
        timers[0] = setTimeout(tick, this.#bookmarkMs);
        timers[0].unref();
      };
      timers[0] = setTimeout(tick, this.#bookmarkMs);
      timers[0].unref();
    }
    const timeoutMs = (request.timeoutSeconds ?? 1800 * (1 + Math.random())) * 1000;
    const end = setTimeout(() => {
      if (watch.stalled) return; // a half-dead stream never ends by itself
      watch.close();
      res.end();
    }, timeoutMs);
    end.unref();
    timers.push(end);
  }
}
