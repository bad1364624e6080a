/**
 * `@certloop/k8s-store/testing` router: the HTTP handler of the emulator. Parses paths and verbs as the
 * kube-apiserver does, applies faults and auth, and dispatches to the object handlers or the watch hub.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorize, type EmulatorAuthOptions } from './auth.js';
import { discovery } from './discovery.js';
import type { EmulatorFaults, RequestInfo } from './faults.js';
import type { ObjectHandlers, Route } from './handlers.js';
import { NAMESPACES, type Namespaces } from './namespaces.js';
import { openapi } from './openapi.js';
import { LEASES, SECRETS } from './resources.js';
import { StatusError, statusErrors } from './status.js';
import { tableVersion, toTable } from './table.js';
import type { WatchHub } from './watch-hub.js';

export interface RouterContext {
  readonly faults: EmulatorFaults;
  readonly auth: EmulatorAuthOptions | undefined;
  readonly handlers: ObjectHandlers;
  readonly namespaces: Namespaces;
  readonly hub: WatchHub;
  readonly serverAddress: () => string;
}

const PATHS: Array<[RegExp, Route['resource']]> = [
  [/^\/api\/v1\/(?:namespaces\/([^/]+)\/)?secrets(?:\/([^/]+))?$/, SECRETS],
  [/^\/apis\/coordination\.k8s\.io\/v1\/(?:namespaces\/([^/]+)\/)?leases(?:\/([^/]+))?$/, LEASES],
];

const MAX_BODY = 4 * 1024 * 1024;

function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(statusErrors.custom(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function verbOf(method: string, name: string | undefined, watch: boolean): string | undefined {
  switch (method) {
    case 'GET':
      return watch ? 'watch' : name ? 'get' : 'list';
    case 'POST':
      return name ? undefined : 'create';
    case 'PUT':
      return name ? 'update' : undefined;
    case 'PATCH':
      return name ? 'patch' : undefined;
    case 'DELETE':
      return name ? 'delete' : undefined;
    default:
      return undefined;
  }
}

export function createRouter(ctx: RouterContext) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      await route(ctx, req, res);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof StatusError) sendJson(res, err.status.code, err.status, err.headers);
      else sendJson(res, 500, statusErrors.internal(String((err as Error)?.message ?? err)).status);
    }
  };
}

async function route(ctx: RouterContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://emulator');
  const method = req.method ?? 'GET';
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const watchParam = url.searchParams.get('watch');
  const watch = watchParam === 'true' || watchParam === '1';
  const auth = req.headers.authorization;
  const info: RequestInfo = {
    method,
    path,
    watch,
    token: auth?.startsWith('Bearer ') ? auth.slice(7) : undefined,
    userAgent: req.headers['user-agent'],
  };
  if (ctx.faults.isPartitioned(info)) {
    req.socket.destroy();
    return;
  }
  if (ctx.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, ctx.faults.latencyMs));
  const failure = ctx.faults.takeFailure(info);
  if (failure) {
    const reason =
      failure.status === 429
        ? 'TooManyRequests'
        : failure.status === 403
          ? 'Forbidden'
          : failure.status >= 500
            ? 'InternalError'
            : 'BadRequest';
    const message =
      failure.status === 429 ? 'Too many requests, please try again later.' : `injected failure ${failure.status}`;
    const headers: Record<string, string> =
      failure.retryAfterSeconds !== undefined ? { 'Retry-After': String(failure.retryAfterSeconds) } : {};
    const body = statusErrors.custom(failure.status, reason, message).status;
    if (failure.retryAfterSeconds !== undefined) body.details = { retryAfterSeconds: failure.retryAfterSeconds };
    sendJson(res, failure.status, body, headers);
    return;
  }
  const docs = method === 'GET' ? (discovery(path, ctx.serverAddress()) ?? openapi(path)) : undefined;
  if (docs !== undefined || path.startsWith('/openapi')) {
    const decision = authorize(ctx.auth, info.token, undefined, undefined);
    if (!decision.ok) throw statusErrors.unauthorized();
    if (docs === undefined) throw statusErrors.pathNotFound();
    sendJson(res, 200, docs);
    return;
  }
  const table = tableVersion(req.headers.accept);
  const namespacePath = /^\/api\/v1\/namespaces(?:\/([^/]+))?$/.exec(path);
  if (namespacePath) {
    serveNamespace(ctx, res, method, info, namespacePath[1], url.searchParams, table);
    return;
  }
  let matched: Route | undefined;
  for (const [pattern, resource] of PATHS) {
    const m = pattern.exec(path);
    if (m) {
      matched = {
        resource,
        namespace: m[1] === undefined ? undefined : decodeURIComponent(m[1]),
        name: m[2] === undefined ? undefined : decodeURIComponent(m[2]),
      };
      break;
    }
  }
  if (!matched) throw statusErrors.pathNotFound();
  const verb = verbOf(method, matched.name, watch);
  if (!verb || (matched.namespace === undefined && verb !== 'list' && verb !== 'watch')) {
    throw statusErrors.methodNotAllowed(method);
  }
  const decision = authorize(ctx.auth, info.token, verb, matched.resource.plural);
  if (!decision.ok) {
    if (decision.code === 401) throw statusErrors.unauthorized();
    throw statusErrors.forbidden(matched.resource, matched.name, decision.user, verb, matched.namespace ?? '');
  }
  if (verb === 'watch') {
    const request = ctx.handlers.watchRequest(matched, url.searchParams, table);
    ctx.hub.serve(request, res);
    return;
  }
  const body = method === 'GET' ? undefined : await readBody(req);
  const answer = ctx.handlers.handle(verb, matched, {
    query: url.searchParams,
    body,
    contentType: (req.headers['content-type'] ?? '').split(';')[0]!.trim(),
    table: verb === 'get' || verb === 'list' ? table : undefined,
  });
  sendJson(res, answer.code, answer.body);
}

/** `GET /api/v1/namespaces[/{name}]` (read-only; any known token may read them). */
function serveNamespace(
  ctx: RouterContext,
  res: ServerResponse,
  method: string,
  info: RequestInfo,
  encodedName: string | undefined,
  query: URLSearchParams,
  table: 'v1' | 'v1beta1' | undefined,
): void {
  if (method !== 'GET' || info.watch) throw statusErrors.methodNotAllowed(method);
  const decision = authorize(ctx.auth, info.token, undefined, undefined);
  if (!decision.ok) throw statusErrors.unauthorized();
  const options = { version: table!, includeObject: query.get('includeObject'), columns: true, now: Date.now() };
  if (encodedName === undefined) {
    const items = ctx.namespaces.list();
    const metadata = { resourceVersion: '1' };
    if (table) sendJson(res, 200, toTable(NAMESPACES.kind, items, metadata, options));
    else sendJson(res, 200, { kind: NAMESPACES.listKind, apiVersion: 'v1', metadata, items });
    return;
  }
  const name = decodeURIComponent(encodedName);
  const found = ctx.namespaces.get(name);
  if (!found) throw statusErrors.notFound(NAMESPACES, name);
  if (table) sendJson(res, 200, toTable(NAMESPACES.kind, [found], { resourceVersion: '1' }, options));
  else sendJson(res, 200, found);
}
