/**
 * `@certloop/k8s-store/testing` Status bodies: the error answers of a real kube-apiserver (apimachinery's
 * `pkg/api/errors`), with the HTTP code equal to `code` and the right reason, message and details.
 */
import type { ResourceKind } from './resources.js';

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field: string;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: Record<string, unknown>;
  code: number;
}

/** A Status to answer with: thrown inside the router, written as the response. */
export class StatusError extends Error {
  readonly status: Status;
  readonly headers: Record<string, string>;
  constructor(status: Status, headers: Record<string, string> = {}) {
    super(status.message);
    this.status = status;
    this.headers = headers;
  }
}

function failure(code: number, reason: string, message: string, details?: Record<string, unknown>): StatusError {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) status.details = details;
  return new StatusError(status);
}

function details(resource: ResourceKind, name: string): Record<string, unknown> {
  return { name, ...(resource.group && { group: resource.group }), kind: resource.plural };
}

export const statusErrors = {
  notFound: (r: ResourceKind, name: string) =>
    failure(404, 'NotFound', `${r.qualified} "${name}" not found`, details(r, name)),
  alreadyExists: (r: ResourceKind, name: string) =>
    failure(409, 'AlreadyExists', `${r.qualified} "${name}" already exists`, details(r, name)),
  conflict: (r: ResourceKind, name: string, why: string) =>
    failure(409, 'Conflict', `Operation cannot be fulfilled on ${r.qualified} "${name}": ${why}`, details(r, name)),
  modified: (r: ResourceKind, name: string) =>
    statusErrors.conflict(
      r,
      name,
      'the object has been modified; please apply your changes to the latest version and try again',
    ),
  invalid: (r: ResourceKind, name: string, causes: StatusCause[]) => {
    const texts = causes.map((c) => `${c.field}: ${c.message}`);
    const summary = texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`;
    return failure(422, 'Invalid', `${r.kind} "${name}" is invalid: ${summary}`, {
      name,
      ...(r.group && { group: r.group }),
      kind: r.kind,
      causes,
    });
  },
  badRequest: (message: string) => failure(400, 'BadRequest', message),
  decode: (r: ResourceKind, why: string) =>
    failure(400, 'BadRequest', `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${why}`),
  expired: (message: string) => failure(410, 'Expired', message),
  tooLargeVersion: () => failure(504, 'Timeout', 'Too large resource version'),
  internal: (message: string) => failure(500, 'InternalError', message),
  unsupportedMediaType: (type: string) =>
    failure(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${type})`,
    ),
  methodNotAllowed: (method: string) =>
    failure(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`),
  pathNotFound: () => failure(404, 'NotFound', 'the server could not find the requested resource'),
  unauthorized: () => failure(401, 'Unauthorized', 'Unauthorized'),
  forbidden: (r: ResourceKind, name: string | undefined, user: string, verb: string, namespace: string) =>
    failure(
      403,
      'Forbidden',
      `${r.qualified}${name ? ` "${name}"` : ''} is forbidden: User "${user}" cannot ${verb} resource "${r.plural}" in API group "${r.group}" in the namespace "${namespace}"`,
      { ...(name && { name }), ...(r.group && { group: r.group }), kind: r.plural },
    ),
  custom: (code: number, reason: string, message: string) => failure(code, reason, message),
};

/** The Success Status a DELETE answers with. */
export function deletedStatus(r: ResourceKind, name: string, uid: string): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, ...(r.group && { group: r.group }), kind: r.plural, uid },
  };
}
