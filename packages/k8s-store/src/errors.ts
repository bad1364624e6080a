/**
 * `@certloop/k8s-store` errors: every Kubernetes API failure as a `CertloopError` with a stable code.
 *
 * | HTTP | reason | code | retried |
 * |---|---|---|---|
 * | 401 | Unauthorized | `CERTLOOP_UNAUTHENTICATED` | no |
 * | 403 | Forbidden | `CERTLOOP_FORBIDDEN` (message names verb, resource, namespace and the RBAC to grant) | no |
 * | 404 | NotFound | `CERTLOOP_NOT_FOUND` | no |
 * | 409 | AlreadyExists, Conflict | `CERTLOOP_CONFLICT` | no |
 * | 410 | Expired, Gone | `CERTLOOP_K8S_EXPIRED` | re-list |
 * | 413, 422 too long | RequestEntityTooLarge, Invalid | `CERTLOOP_INPUT_TOO_LARGE` | no |
 * | 422 immutable | Invalid | `CERTLOOP_K8S_IMMUTABLE` | no |
 * | 422 | Invalid | `CERTLOOP_K8S_INVALID` | no |
 * | 400, 415 | BadRequest | `CERTLOOP_INVALID_ARGUMENT` | no |
 * | 429 | TooManyRequests | `CERTLOOP_RATE_LIMITED` (honours Retry-After) | yes |
 * | 5xx, socket errors | InternalError, ServiceUnavailable | `CERTLOOP_UNAVAILABLE` | yes |
 * | 504, request timeout | Timeout | `CERTLOOP_TIMEOUT` | yes |
 */
import type { CertloopErrorCode } from '@certloop/core';
import { CertloopError } from '@certloop/core/base';

/** The Status body of a failed call, as far as the server sent one. */
export interface KubeStatus {
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
  readonly details?: { readonly causes?: ReadonlyArray<{ reason?: string; message?: string; field?: string }> };
}

/** What was being done, for messages that say what to fix. */
export interface KubeOperation {
  /** RBAC verb: get, list, watch, create, update, patch, delete. */
  readonly verb: string;
  /** `secrets` or `leases` (group `coordination.k8s.io`). */
  readonly resource: string;
  readonly namespace: string;
  readonly name?: string;
}

const RBAC_HINT =
  'grant a Role with get, list, watch, create, update on secrets and get, create, update on leases.coordination.k8s.io (see the @certloop/k8s-store README)';

export const RETRYABLE_CODES: ReadonlySet<CertloopErrorCode> = new Set([
  'CERTLOOP_UNAVAILABLE',
  'CERTLOOP_RATE_LIMITED',
  'CERTLOOP_TIMEOUT',
]);

/** True for failures worth retrying with backoff (5xx, 429, timeouts, dropped connections). */
export function isRetryable(err: unknown): err is CertloopError {
  return err instanceof CertloopError && RETRYABLE_CODES.has(err.code);
}

function describe(op: KubeOperation): string {
  const target = op.name ? `${op.resource} "${op.name}"` : op.resource;
  return `${op.verb} ${target} in namespace "${op.namespace}"`;
}

/** Parses `Retry-After` (seconds or an HTTP date) to milliseconds. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Maps an HTTP failure of the Kubernetes API to a typed error. */
export function errorFromResponse(
  op: KubeOperation,
  httpStatus: number,
  status: KubeStatus | undefined,
  headers: Record<string, string | string[] | undefined> = {},
): CertloopError {
  const reason = status?.reason;
  const serverMessage = status?.message ?? `HTTP ${httpStatus}`;
  const causes = status?.details?.causes ?? [];
  const details: Record<string, unknown> = { ...op, httpStatus, reason, causes };
  const make = (code: CertloopErrorCode, message: string) =>
    new CertloopError(code, `${message}: ${serverMessage}`, { details });
  switch (true) {
    case httpStatus === 401:
      return make(
        'CERTLOOP_UNAUTHENTICATED',
        `Kubernetes API: not authenticated to ${describe(op)} (check the kubeconfig credentials)`,
      );
    case httpStatus === 403:
      return make('CERTLOOP_FORBIDDEN', `Kubernetes API: forbidden to ${describe(op)}; ${RBAC_HINT}`);
    case httpStatus === 404:
      return make('CERTLOOP_NOT_FOUND', `Kubernetes API: ${describe(op)}: not found`);
    case httpStatus === 409:
      return make('CERTLOOP_CONFLICT', `Kubernetes API: ${describe(op)}: conflict`);
    case httpStatus === 410:
      return make('CERTLOOP_K8S_EXPIRED', `Kubernetes API: ${describe(op)}: resource version expired`);
    case httpStatus === 413:
      return make('CERTLOOP_INPUT_TOO_LARGE', `Kubernetes API: ${describe(op)}: request too large`);
    case httpStatus === 422: {
      const texts = causes.map((c) => `${c.field ?? ''} ${c.message ?? ''}`).join('; ') + serverMessage;
      if (/Too long|too long/.test(texts)) {
        return make('CERTLOOP_INPUT_TOO_LARGE', `Kubernetes API: ${describe(op)}: more than 1 MiB of data`);
      }
      if (/immutable when `immutable` is set/.test(texts)) {
        return make('CERTLOOP_K8S_IMMUTABLE', `Kubernetes API: ${describe(op)}: the Secret is immutable`);
      }
      return make('CERTLOOP_K8S_INVALID', `Kubernetes API: ${describe(op)}: invalid`);
    }
    case httpStatus === 429: {
      const wait = retryAfterMs(headers['retry-after']);
      return new CertloopError(
        'CERTLOOP_RATE_LIMITED',
        `Kubernetes API: ${describe(op)}: rate limited: ${serverMessage}`,
        {
          details: { ...details, retryAfterMs: wait },
        },
      );
    }
    case httpStatus === 504:
      return make('CERTLOOP_TIMEOUT', `Kubernetes API: ${describe(op)}: server timeout`);
    case httpStatus >= 500: {
      const wait = retryAfterMs(headers['retry-after']);
      return new CertloopError(
        'CERTLOOP_UNAVAILABLE',
        `Kubernetes API: ${describe(op)}: server unavailable: ${serverMessage}`,
        {
          details: { ...details, retryAfterMs: wait },
        },
      );
    }
    default:
      return make('CERTLOOP_INVALID_ARGUMENT', `Kubernetes API: ${describe(op)}: bad request`);
  }
}

/** Maps a transport failure (refused, reset, timed out) to a retryable typed error. */
export function errorFromTransport(op: KubeOperation, cause: unknown, timedOut: boolean): CertloopError {
  const code: CertloopErrorCode = timedOut ? 'CERTLOOP_TIMEOUT' : 'CERTLOOP_UNAVAILABLE';
  const what = timedOut ? 'timed out' : `connection failed (${(cause as NodeJS.ErrnoException)?.code ?? 'error'})`;
  return new CertloopError(code, `Kubernetes API: ${describe(op)}: ${what}`, { cause, details: { ...op } });
}
