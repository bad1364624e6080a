/**
 * `@certloop/k8s-store/testing` cutting proxy: a plain-HTTP proxy in front of the emulator (or any HTTP server)
 * that loses answers the way a flaky network does. Every request is forwarded whole; then, as told, the proxy
 * cuts the client's connection instead of passing the answer on (the server applied the request, the client never
 * learns it), or cuts every open connection (watch streams included) at an interval.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What a cut filter sees of a forwarded request. */
export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
}

export interface CuttingProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /**
   * The answers to the next `count` (default 1) requests `filter` matches (default all) are lost: the request
   * reaches the server, and the proxy destroys the client's connection once the server has answered.
   */
  loseNextAnswers(options?: { count?: number; filter?: (request: ProxiedRequest) => boolean }): void;
  /** Destroys every open client connection (watch streams included) every `ms` (0 stops). */
  cutEvery(ms: number): void;
  /** Destroys every open client connection now; resolves how many. */
  cutAll(): number;
  /** How many answers were lost and connections cut so far. */
  readonly stats: { readonly lostAnswers: number; readonly cuts: number };
  close(): Promise<void>;
}

/** Starts a cutting proxy on loopback forwarding to `target` (an `http://` URL). */
export async function startCuttingProxy(target: string): Promise<CuttingProxy> {
  const upstream = new URL(target);
  if (upstream.protocol !== 'http:') throw new Error('the cutting proxy forwards to http:// targets only');
  const agent = new http.Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  const losses: Array<{ remaining: number; filter: (request: ProxiedRequest) => boolean }> = [];
  const stats = { lostAnswers: 0, cuts: 0 };
  let interval: NodeJS.Timeout | undefined;

  const takeLoss = (request: ProxiedRequest): boolean => {
    for (const loss of losses) {
      if (loss.remaining > 0 && loss.filter(request)) {
        loss.remaining -= 1;
        if (loss.remaining === 0) losses.splice(losses.indexOf(loss), 1);
        return true;
      }
    }
    return false;
  };

  const server = http.createServer((req, res) => {
    const info = { method: req.method ?? 'GET', path: req.url ?? '/' };
    const lose = takeLoss(info);
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (answer) => {
        if (lose) {
          // the server has applied the request and answered: the client never hears of it
          stats.lostAnswers++;
          answer.resume();
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.flushHeaders();
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    forward.on('error', () => res.destroy());
    // a client that went away ends the upstream call too (a watch stream must not outlive its client)
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const cutAll = () => {
    const count = sockets.size;
    for (const socket of sockets) socket.destroy();
    stats.cuts += count;
    return count;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    loseNextAnswers(options = {}) {
      losses.push({ remaining: options.count ?? 1, filter: options.filter ?? (() => true) });
    },
    cutEvery(ms) {
      if (interval) clearInterval(interval);
      interval = ms > 0 ? setInterval(cutAll, ms) : undefined;
    },
    cutAll,
    stats,
    async close() {
      if (interval) clearInterval(interval);
      cutAll();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
