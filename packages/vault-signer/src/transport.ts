/**
 * `@certloop/vault-signer` internal: the HTTP layer handed to node-vault through its `request-promise` option, in
 * place of its default (axios with follow-redirects), which cost about as much CPU per call as the signer's own
 * checks. node-vault builds every request but writes (paths, token and namespace headers, JSON bodies) and judges
 * their answers (`handleVaultResponse`: only 200 and 204 succeed); writes, the signer's hot path, come from
 * `VaultClient.write` straight to this layer, built and judged the same way. This layer only moves bytes, on
 * `node:http(s)` with the caller's agents (no `Accept` header: Vault answers JSON whatever is asked).
 *
 * What it keeps from the default layer: `httpAgent`/`httpsAgent`, the TLS options (`ca`, `cert`, `key`,
 * `passphrase`, `pfx`, `agentOptions`, `strictSSL`, `VAULT_SKIP_VERIFY`), `timeout` (one deadline for the whole
 * exchange, checked by a shared sweep at most an eighth of it late, then an error with code `ETIMEDOUT`), network errors with their `code`, JSON answers parsed (others as
 * text), and 307/308 redirects followed with the same method and body (a standby Vault node redirects to the active
 * one), at most 5. 301/302/303 are not followed (Vault does not send them). An `AbortSignal` in the request options
 * destroys the request.
 */
import { request as httpRequest, type RequestOptions } from 'node:http';
import { type Agent as HttpsAgent, Agent as HttpsAgentClass, request as httpsRequest } from 'node:https';
import { Deadlines } from './deadlines.js';

/** One request as node-vault hands it to its request layer. */
export interface RequestLayerOptions {
  readonly method: string;
  readonly uri: string;
  readonly headers?: Record<string, string>;
  readonly json?: unknown;
  readonly timeout?: number;
  readonly httpAgent?: unknown;
  readonly httpsAgent?: unknown;
  readonly signal?: AbortSignal;
  readonly strictSSL?: boolean;
  readonly agentOptions?: Record<string, unknown>;
  readonly [tls: string]: unknown;
}

/** What node-vault expects back: the status, the parsed body, and the request path. */
export interface RequestLayerAnswer {
  readonly statusCode: number;
  readonly body: unknown;
  readonly request: { readonly path: string };
}

const TLS_KEYS = ['ca', 'cert', 'key', 'passphrase', 'pfx'] as const;
const MAX_REDIRECTS = 5;
const deadlines = new Deadlines();
const MAX_BODY = 16 * 1024 * 1024;

/** node-vault's `request-promise` hook: `defaults(rpDefaults)` gives the function node-vault calls per request. */
export const requestLayer = {
  defaults(defaults: { readonly strictSSL?: boolean; readonly timeout?: number }) {
    const httpsAgents = new Map<string, HttpsAgent>();
    const httpsAgentFor = (options: RequestLayerOptions): HttpsAgent | undefined => {
      if (options.httpsAgent) return options.httpsAgent as HttpsAgent;
      const tls: Record<string, unknown> = { keepAlive: true, ...options.agentOptions };
      for (const key of TLS_KEYS) if (options[key] !== undefined) tls[key] = options[key];
      const strict = options.strictSSL ?? defaults.strictSSL;
      if (strict === false) tls.rejectUnauthorized = false;
      // one kept-alive agent per distinct TLS setting (the usual case: one)
      const id = JSON.stringify(Object.entries(tls).map(([k, v]) => [k, typeof v === 'string' ? v : String(v)]));
      let agent = httpsAgents.get(id);
      if (!agent) {
        agent = new HttpsAgentClass(tls);
        httpsAgents.set(id, agent);
      }
      return agent;
    };
    const layer = (options: RequestLayerOptions): Promise<RequestLayerAnswer> =>
      send(options, options.uri, httpsAgentFor, options.timeout ?? defaults.timeout, MAX_REDIRECTS);
    /** Closes the kept-alive HTTPS connections of the agents this layer made (not those the caller passed). */
    layer.close = () => {
      for (const agent of httpsAgents.values()) agent.destroy();
      httpsAgents.clear();
    };
    return layer;
  },
};

interface Target {
  readonly url: URL;
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: string;
  readonly path: string;
  /** `user:password` from the URI, as node:http would take it from a URL. */
  readonly auth: string | undefined;
}

const targets = new Map<string, Target>();

/** A URI's parts as `node:http` takes them, remembered (the signer sends the same few URIs again and again). */
function targetOf(uri: string): Target {
  let target = targets.get(uri);
  if (target === undefined) {
    const url = new URL(uri);
    const secure = url.protocol === 'https:';
    target = {
      url,
      secure,
      // node:http wants an IPv6 literal without its brackets
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      auth:
        url.username || url.password
          ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
          : undefined,
    };
    if (targets.size >= 64) targets.clear();
    targets.set(uri, target);
  }
  return target;
}

function send(
  options: RequestLayerOptions,
  uri: string,
  httpsAgentFor: (options: RequestLayerOptions) => HttpsAgent | undefined,
  timeoutMs: number | undefined,
  redirectsLeft: number,
): Promise<RequestLayerAnswer> {
  return new Promise((resolve, reject) => {
    const { url, secure, hostname, port, path, auth } = targetOf(uri);
    const payload =
      options.json !== undefined && typeof options.json === 'object' ? JSON.stringify(options.json) : undefined;
    const headers: Record<string, string | number> = { ...options.headers };
    if (payload !== undefined) {
      headers['Content-Type'] ??= 'application/json';
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    // one object of one shape (no spreads: this runs on every request)
    const requestOptions: RequestOptions = {
      protocol: url.protocol,
      hostname,
      path,
      method: options.method,
      headers,
      agent: secure ? httpsAgentFor(options) : (options.httpAgent as RequestOptions['agent']),
    };
    if (port) requestOptions.port = port;
    if (auth) requestOptions.auth = auth;
    if (options.signal) requestOptions.signal = options.signal;
    // one deadline for the whole exchange, kept by a shared sweep (a socket idle timeout re-arms on every read and
    // write; a timer per request cost about 8 % of a request's CPU)
    let deadline = 0;
    const fail = (err: unknown) => {
      deadlines.delete(deadline);
      reject(err);
    };
    const req = (secure ? httpsRequest : httpRequest)(requestOptions, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY) {
          req.destroy(Object.assign(new Error('vault answer too large'), { code: 'ERR_BODY_TOO_LARGE' }));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('end', () => {
        deadlines.delete(deadline);
        const status = res.statusCode ?? 0;
        // res.headers is built on first read: only a redirect needs it
        const location = status === 307 || status === 308 ? res.headers.location : undefined;
        if (location && redirectsLeft > 0) {
          resolve(send(options, new URL(location, url).href, httpsAgentFor, timeoutMs, redirectsLeft - 1));
          return;
        }
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        if (text) {
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON (raw PEM fetches): the text itself
          }
        }
        resolve({ statusCode: status, body, request: { path: url.pathname } });
      });
    });
    if (timeoutMs !== undefined && timeoutMs > 0) {
      deadline = deadlines.add(timeoutMs, () => {
        req.destroy(Object.assign(new Error(`timeout of ${timeoutMs}ms exceeded`), { code: 'ETIMEDOUT' }));
      });
    }
    req.on('error', fail);
    req.end(payload);
  });
}
