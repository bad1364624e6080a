/**
 * `@certloop/k8s-store` KubeClient: HTTP(S) calls to the Kubernetes API with the credentials of a kubeconfig (certloop's
 * `loadKubeConfig()` or a client-node `KubeConfig`: tokens, client certificates, exec plugins, CA; re-applied on every call so rotated tokens are used),
 * over one keep-alive agent. Answers are JSON; failures become typed errors (see `errors.ts`). Internal.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { abortError, CertloopError, onAbort } from '@certloop/core/base';
import { errorFromResponse, errorFromTransport, type KubeOperation, type KubeStatus } from './errors.js';
import type { KubeConfigLike } from './kubeconfig.js';

export interface KubeRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly signal?: AbortSignal;
  /** Ends the call with `CERTLOOP_TIMEOUT` (default the client's request timeout; watches pass their own). */
  readonly timeoutMs?: number;
  readonly op: KubeOperation;
}

export interface KubeResponse<T> {
  readonly status: number;
  readonly body: T;
}

export interface KubeClientOptions {
  /** Per-request timeout for non-watch calls (default 30 s). */
  readonly requestTimeoutMs?: number;
}

export class KubeClient {
  readonly #config: KubeConfigLike;
  readonly #server: URL;
  readonly #timeoutMs: number;
  #agent: http.Agent | undefined;

  constructor(kubeConfig: KubeConfigLike, options: KubeClientOptions = {}) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'the kubeconfig has no current cluster');
    this.#config = kubeConfig;
    this.#server = new URL(cluster.server);
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** The API server's base URL. */
  get server(): string {
    return this.#server.href;
  }

  async #options(req: KubeRequest, payload: string | undefined): Promise<https.RequestOptions> {
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'certloop-k8s-store' };
    if (payload !== undefined) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const opts: https.RequestOptions = { method: req.method, headers };
    await this.#config.applyToHTTPSOptions(opts);
    const cluster = this.#config.getCurrentCluster();
    if (!cluster?.proxyUrl) {
      // client-node makes a new agent per call; keep one keep-alive agent with the same TLS settings instead
      this.#agent ??=
        this.#server.protocol === 'https:'
          ? new https.Agent({
              keepAlive: true,
              ca: opts.ca,
              cert: opts.cert,
              key: opts.key,
              pfx: opts.pfx,
              passphrase: opts.passphrase,
              servername: opts.servername,
              ...(opts.rejectUnauthorized !== undefined && { rejectUnauthorized: opts.rejectUnauthorized }),
            })
          : new http.Agent({ keepAlive: true });
      opts.agent = this.#agent;
    }
    return opts;
  }

  #url(req: KubeRequest): URL {
    const base = this.#server.href.replace(/\/+$/, '');
    const url = new URL(base + req.path);
    for (const [key, value] of Object.entries(req.query ?? {}))
      if (value !== undefined) url.searchParams.set(key, value);
    return url;
  }

  /** Opens the call; resolves the response once headers arrive (status not yet checked). */
  async #open(req: KubeRequest, timeoutMs: number): Promise<{ res: IncomingMessage; done: () => void }> {
    if (req.signal?.aborted) throw abortError(req.signal);
    const payload =
      req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const opts = await this.#options(req, payload);
    const url = this.#url(req);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      let timedOut = false;
      let settled = false;
      const request = transport.request(url, opts);
      const timer = setTimeout(() => {
        timedOut = true;
        request.destroy();
      }, timeoutMs);
      timer.unref();
      // one native listener per signal, however many calls share it (Node warns past 10)
      const off = req.signal ? onAbort(req.signal, () => request.destroy(abortError(req.signal))) : undefined;
      const done = () => {
        clearTimeout(timer);
        off?.();
      };
      request.on('error', (err) => {
        done();
        if (settled) return;
        settled = true;
        if (req.signal?.aborted) reject(abortError(req.signal));
        else reject(errorFromTransport(req.op, err, timedOut));
      });
      request.on('response', (res) => {
        settled = true;
        resolve({ res, done });
      });
      request.end(payload);
    });
  }

  /** One call; resolves the decoded JSON body of a 2xx answer, else throws the typed error. */
  async request<T>(req: KubeRequest): Promise<KubeResponse<T>> {
    const { res, done } = await this.#open(req, req.timeoutMs ?? this.#timeoutMs);
    try {
      const text = await readAll(res, req);
      const status = res.statusCode ?? 0;
      const body = jsonOrUndefined(text);
      if (status < 200 || status >= 300) throw errorFromResponse(req.op, status, body as KubeStatus, res.headers);
      return { status, body: body as T };
    } finally {
      done();
    }
  }

  /**
   * One call whose 2xx body is handed to `onChunk` as it arrives (a LIST page, read by a `ListScanner`), so no
   * page is held whole; resolves at the body's end. The request timeout covers the whole body. A non-2xx answer
   * throws the typed error; so does `onChunk`'s own error (the call is then cut).
   */
  async requestChunks(req: KubeRequest, onChunk: (chunk: Buffer) => void): Promise<void> {
    const { res, done } = await this.#open(req, req.timeoutMs ?? this.#timeoutMs);
    try {
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) throw await refusalOf(req, res, status);
      await new Promise<void>((resolve, reject) => {
        res.on('data', (chunk: Buffer) => {
          try {
            onChunk(chunk);
          } catch (err) {
            res.destroy();
            reject(err);
          }
        });
        res.on('end', resolve);
        res.on('error', (err) =>
          reject(req.signal?.aborted ? abortError(req.signal) : errorFromTransport(req.op, err, false)),
        );
        res.on('aborted', () => reject(errorFromTransport(req.op, new Error('response aborted'), false)));
      });
    } finally {
      done();
    }
  }

  /**
   * A streaming call (watch): resolves the 200 response to read lines from; a non-2xx answer throws the typed
   * error. `close()` ends it. The request timeout does not apply to the stream.
   */
  async stream(req: KubeRequest): Promise<{ res: IncomingMessage; close: () => void }> {
    const { res, done } = await this.#open(req, req.timeoutMs ?? this.#timeoutMs);
    done();
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw await refusalOf(req, res, status);
    return { res, close: () => res.destroy() };
  }

  /** Frees the keep-alive sockets. */
  close(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
  }
}

function readAll(res: IncomingMessage, req: KubeRequest): Promise<string> {
  return new Promise((resolve, reject) => {
    // decode as it arrives into V8's heap: a LIST page is megabytes, and one big native buffer per page would raise
    // the allocator's mmap threshold and stay in the RSS after it is freed
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
    });
    res.on('end', () => resolve(text));
    res.on('error', (err) =>
      reject(req.signal?.aborted ? abortError(req.signal) : errorFromTransport(req.op, err, false)),
    );
    res.on('aborted', () => reject(errorFromTransport(req.op, new Error('response aborted'), false)));
  });
}

/** A body's JSON, or undefined when it is empty or not JSON. */
function jsonOrUndefined(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The typed error of a non-2xx answer, from its Status body when it has one (a body that cannot be read: none). */
async function refusalOf(req: KubeRequest, res: IncomingMessage, status: number): Promise<Error> {
  const text = await readAll(res, req).catch(() => '');
  return errorFromResponse(req.op, status, jsonOrUndefined(text) as KubeStatus, res.headers);
}
