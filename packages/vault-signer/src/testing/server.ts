/**
 * `@certloop/vault-signer/testing` startVaultEmulator: Vault's HTTP API for what certloop uses, on loopback.
 *
 * Configured only the way a real Vault is, through its own API with the root token (mounts, root and intermediate
 * generation, roles, auth methods), so a setup script runs unchanged on both. Time (token TTLs, certificate
 * validity) follows the injected clock; certificates are signed by certloop's own engine.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Clock, systemClock } from '@certloop/core';
import { authorize } from './acl.js';
import { routeAuth } from './auth.js';
import { FaultPlan, faultErrors, type VaultFaults } from './faults.js';
import { readJsonBody, send, sendError, VaultHttpError } from './http.js';
import { routePki } from './pki.js';
import { initialPolicies } from './policies.js';
import { findMount, noHandler, type Operation, type RequestContext } from './router.js';
import { defaultServiceAccountValidator } from './service-account.js';
import type { EmulatorState, ServiceAccountValidator } from './state.js';
import { health, routeSys } from './sys.js';
import { TokenStore } from './tokens.js';

export interface VaultEmulatorOptions {
  /** Time for token TTLs and certificate validity (default the system clock). */
  readonly clock?: Clock;
  /** Validates Kubernetes service account JWTs (default: {@link defaultServiceAccountValidator}). */
  readonly validateServiceAccount?: ServiceAccountValidator;
  /** Seconds; the system default and max lease TTL (default 768 h, as a stock server). */
  readonly systemMaxTtlSeconds?: number;
  /** Loopback port (default: any free one). */
  readonly port?: number;
}

/** One request as the emulator saw it (for tests: which token state each request came with). */
export interface RequestRecord {
  readonly operation: Operation | 'HEAD';
  readonly path: string;
  /** `none`: no token sent; `live`: a token the emulator knows and that has not expired; `unknown` otherwise. */
  readonly token: 'none' | 'live' | 'unknown';
  readonly status: number;
  /** `X-Vault-Namespace`, when sent (an Enterprise header: the emulator, like Community Edition, ignores it). */
  readonly namespace?: string;
}

export interface VaultEmulator {
  /** `http://127.0.0.1:<port>`, what VAULT_ADDR would hold. */
  readonly endpoint: string;
  readonly rootToken: string;
  /** The key `sys/unseal` accepts. */
  readonly unsealKey: string;
  readonly faults: VaultFaults;
  /** Every answered request, oldest first (bounded to the last 10,000). */
  readonly requests: readonly RequestRecord[];
  close(): Promise<void>;
}

const MAX_RECORDS = 10_000;

function operationOf(req: IncomingMessage, query: URLSearchParams): Operation | 'HEAD' | undefined {
  switch (req.method) {
    case 'GET':
      return query.get('list') === 'true' || query.get('list') === '1' ? 'LIST' : 'GET';
    case 'LIST':
      return 'LIST';
    case 'POST':
    case 'PUT':
      return 'WRITE';
    case 'PATCH':
      return 'PATCH';
    case 'DELETE':
      return 'DELETE';
    case 'HEAD':
      return 'HEAD';
    default:
      return undefined;
  }
}

export async function startVaultEmulator(options: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const clock = options.clock ?? systemClock;
  const systemMaxTtl = options.systemMaxTtlSeconds ?? 768 * 3600;
  const tokens = new TokenStore(clock, systemMaxTtl);
  const state: EmulatorState = {
    clock,
    tokens,
    rootToken: tokens.createRoot(),
    unsealKey: randomBytes(32).toString('base64'),
    version: '1.17.0+emulator',
    systemDefaultTtl: systemMaxTtl,
    systemMaxTtl,
    mounts: new Map(),
    authMounts: new Map(),
    validateServiceAccount: options.validateServiceAccount ?? defaultServiceAccountValidator(clock),
    policies: initialPolicies(),
    sealed: false,
  };
  const faults = new FaultPlan(
    (token) => tokens.revoke(token),
    (prefix) => tokens.revokeByPath(prefix),
  );
  const requests: RequestRecord[] = [];
  const record = (entry: RequestRecord) => {
    requests.push(entry);
    if (requests.length > MAX_RECORDS) requests.splice(0, requests.length - MAX_RECORDS);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!url.pathname.startsWith('/v1/')) {
      sendError(res, 404, []);
      return;
    }
    const path = decodeURIComponent(url.pathname.slice(4)).replace(/\/+$/, '');
    const operation = operationOf(req, url.searchParams);
    const header = req.headers['x-vault-token'];
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const rawToken = (Array.isArray(header) ? header[0] : header) || bearer || undefined;
    const tokenState = rawToken ? (tokens.lookup(rawToken) ? 'live' : 'unknown') : 'none';
    const namespaceHeader = req.headers['x-vault-namespace'];
    const namespace = Array.isArray(namespaceHeader) ? namespaceHeader[0] : namespaceHeader;
    const reply = (status: number) =>
      record({ operation: operation ?? 'GET', path, token: tokenState, status, ...(namespace ? { namespace } : {}) });

    const fault = faults.take(path);
    if (fault.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
    if (fault.hang) {
      reply(0);
      return; // never answered; the socket is destroyed when the emulator closes
    }
    if (fault.status) {
      sendError(res, fault.status, faultErrors(fault.status, path));
      reply(fault.status);
      return;
    }
    if (path === 'sys/health') {
      const { status, body } = health(state, url.searchParams);
      if (operation === 'HEAD') res.writeHead(status).end();
      else send(res, { kind: 'bare', status, body });
      reply(status);
      return;
    }
    if (!operation || operation === 'HEAD') {
      sendError(res, 405, ['1 error occurred:\n\t* unsupported operation\n\n']);
      reply(405);
      return;
    }
    if (state.sealed && path !== 'sys/unseal' && path !== 'sys/seal-status') {
      sendError(res, 503, ['Vault is sealed']);
      reply(503);
      return;
    }
    try {
      const body = operation === 'WRITE' || operation === 'PATCH' ? await readJsonBody(req) : {};
      const ctx: RequestContext = { state, operation, path, query: url.searchParams, body, rawToken };
      authorize(ctx);
      let answer: Awaited<ReturnType<typeof routePki>>;
      if (path.startsWith('sys/')) answer = routeSys(ctx, path);
      else if (path.startsWith('auth/')) answer = await routeAuth(ctx, path);
      else {
        const found = findMount(state, path);
        if (!found) throw noHandler(path);
        answer = await routePki(ctx, found.mount, found.rest);
      }
      send(res, answer);
      reply(answer.kind === 'empty' ? 204 : answer.kind === 'bare' ? (answer.status ?? 200) : 200);
    } catch (err) {
      const status = err instanceof VaultHttpError ? err.status : 500;
      sendError(
        res,
        status,
        err instanceof VaultHttpError ? err.errors : ['1 error occurred:\n\t* internal error\n\n'],
      );
      reply(status);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendError(res, 500, ['1 error occurred:\n\t* internal error\n\n']);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    rootToken: state.rootToken,
    unsealKey: state.unsealKey,
    faults,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
