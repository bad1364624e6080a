/**
 * `@certloop/vault-signer/testing` internal: Vault's HTTP envelope (contract section 0): success bodies, errors as
 * `{"errors":[…]}`, 204 for handlers with no output, raw PEM for the unauthenticated CA fetches.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A handler's refusal: the status and the `errors` array Vault would send. */
export class VaultHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errors: readonly string[],
  ) {
    super(errors[0] ?? `status ${status}`);
  }
}

/** Vault's permission-denied text, exactly as it is sent. */
export const PERMISSION_DENIED = '1 error occurred:\n\t* permission denied\n\n';
/** What a bad, expired or missing token gets: both `permission denied` and `invalid token`. */
export const INVALID_TOKEN = '2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n';

export const permissionDenied = () => new VaultHttpError(403, [PERMISSION_DENIED]);
export const invalidToken = () => new VaultHttpError(403, [INVALID_TOKEN]);
export const badRequest = (message: string) => new VaultHttpError(400, [message]);

/** What a handler answers. */
export type VaultReply =
  | {
      readonly kind: 'json';
      readonly data?: Record<string, unknown> | null;
      readonly auth?: Record<string, unknown> | null;
      readonly warnings?: readonly string[];
      readonly mountType?: string;
      readonly status?: number;
    }
  | { readonly kind: 'bare'; readonly body: unknown; readonly status?: number }
  | { readonly kind: 'raw'; readonly body: string | Buffer; readonly contentType: string }
  | { readonly kind: 'empty' };

export const ok = (
  data: Record<string, unknown> | null,
  extra: { warnings?: readonly string[]; auth?: Record<string, unknown> | null; mountType?: string } = {},
): VaultReply => ({ kind: 'json', data, ...extra });
export const noContent = (): VaultReply => ({ kind: 'empty' });

export function send(res: ServerResponse, reply: VaultReply): void {
  if (reply.kind === 'empty') {
    res.writeHead(204).end();
    return;
  }
  if (reply.kind === 'raw') {
    res.writeHead(200, { 'Content-Type': reply.contentType }).end(reply.body);
    return;
  }
  if (reply.kind === 'bare') {
    sendJson(res, reply.status ?? 200, reply.body);
    return;
  }
  sendJson(res, reply.status ?? 200, {
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data: reply.data ?? null,
    wrap_info: null,
    warnings: reply.warnings && reply.warnings.length > 0 ? reply.warnings : null,
    auth: reply.auth ?? null,
    mount_type: reply.mountType ?? '',
  });
}

export function sendError(res: ServerResponse, status: number, errors: readonly string[]): void {
  sendJson(res, status, { errors });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
}

const MAX_BODY = 1024 * 1024;

/** Reads a JSON body (empty: `{}`); bounded; bad JSON is a 400 as Vault gives. */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new VaultHttpError(413, ['request body too large']);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw badRequest('failed to parse JSON input: invalid character');
}
