/**
 * `certloop status --serve`: a small local web page of the relay's secrets, live over server-sent events.
 *
 * `GET /` is the page (no external assets), `GET /api/status` the rows as JSON, `GET /events` an event stream
 * that sends every row (`event: status`) at once, on each change, and every few seconds (time moves on); with each
 * row the certificate it last replaced, the recent events, and the relay's clusters when this process knows them. Listens
 * on loopback unless told otherwise.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Clock, systemClock } from '@certloop/core';
import type { StatusBoard } from './board.js';
import { StatusHistory } from './history.js';
import { statusPage } from './page.js';
import type { RotationLine } from './rotation-board.js';

/** One agent replica of a cluster, as the page shows it (the demo knows its replicas; a lone `status` does not). */
export interface ClusterReplica {
  readonly name: string;
  readonly alive: boolean;
  readonly leader: boolean;
  readonly connected: boolean;
  /** ISO time of its last heartbeat on the relay stream. */
  readonly lastHeartbeat?: string;
}

export interface ClusterView {
  readonly cluster: string;
  /** Its client certificate's secret and who manages it. */
  readonly secret: string;
  readonly managed: boolean;
  readonly replicas: readonly ClusterReplica[];
}

export interface StatusServerOptions {
  readonly board: StatusBoard;
  /** More boards whose rows follow the first (the demo's bring-your-own client of cluster-2). */
  readonly moreBoards?: readonly StatusBoard[];
  /** The relay's clusters, when this process knows them. */
  readonly clusters?: () => readonly ClusterView[];
  readonly host: string;
  readonly port: number;
  /** Shown on the page: where the secrets are. */
  readonly storeDescription: string;
  readonly clock?: Clock;
  /** CA rotations under way or finished (shown above the secrets). */
  readonly rotations?: () => readonly RotationLine[];
  /** How often every client gets the rows again without a change (default 5 s). */
  readonly refreshMs?: number;
}

export interface StatusServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const clock = options.clock ?? systemClock;
  const clients = new Set<ServerResponse>();
  const boards = [options.board, ...(options.moreBoards ?? [])];
  const history = new StatusHistory(() => clock.now());
  const payload = () =>
    JSON.stringify({
      now: clock.now().toISOString(),
      store: options.storeDescription,
      secrets: history.rows(boards.flatMap((b) => b.snapshot())),
      events: history.events(),
      ...(options.clusters ? { clusters: options.clusters() } : {}),
      rotations: options.rotations?.() ?? [],
    });
  const send = (res: ServerResponse) => res.write(`event: status\ndata: ${payload()}\n\n`);
  const broadcast = () => {
    for (const res of clients) send(res);
  };
  let pending: NodeJS.Timeout | undefined;
  const unsubscribes = boards.map((board) =>
    board.subscribe((event) => {
      history.record(event);
      // a burst of changes (one write touches several keys) goes out as one update
      pending ??= setTimeout(() => {
        pending = undefined;
        broadcast();
      }, 50);
    }),
  );
  const unsubscribe = () => {
    for (const u of unsubscribes) u();
  };
  const refresh = setInterval(broadcast, options.refreshMs ?? 5000);

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/') {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy':
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
      });
      res.end(statusPage());
      return;
    }
    if (path === '/api/status') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(payload());
      return;
    }
    if (path === '/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      clients.add(res);
      req.on('close', () => clients.delete(res));
      send(res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    async close() {
      unsubscribe();
      clearInterval(refresh);
      if (pending) clearTimeout(pending);
      for (const res of clients) res.end();
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
