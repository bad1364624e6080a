/**
 * `@certloop/k8s-store/testing` OpenAPI v3: the little kubectl reads before `apply` and `create -f`. It checks that
 * the server supports `fieldValidation` on PATCH for the kind, and computes a strategic merge patch from the
 * kind's schema. Self-contained schemas, no `$ref`s.
 */
import { LEASES, type ResourceKind, SECRETS } from './resources.js';

const stringMap = { type: 'object', additionalProperties: { type: 'string', default: '' } };
const objectMeta = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    generateName: { type: 'string' },
    namespace: { type: 'string' },
    uid: { type: 'string' },
    resourceVersion: { type: 'string' },
    creationTimestamp: { type: 'string', format: 'date-time' },
    labels: stringMap,
    annotations: stringMap,
  },
};

const SCHEMAS: Record<string, Record<string, unknown>> = {
  Secret: {
    data: { type: 'object', additionalProperties: { type: 'string', format: 'byte' } },
    stringData: stringMap,
    type: { type: 'string' },
    immutable: { type: 'boolean' },
  },
  Lease: {
    spec: {
      type: 'object',
      properties: {
        holderIdentity: { type: 'string' },
        leaseDurationSeconds: { type: 'integer', format: 'int32' },
        acquireTime: { type: 'string', format: 'date-time' },
        renewTime: { type: 'string', format: 'date-time' },
        leaseTransitions: { type: 'integer', format: 'int32' },
      },
    },
  },
};

function groupPath(r: ResourceKind): string {
  return r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
}

function document(r: ResourceKind) {
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const schemaName = r.group ? `io.k8s.api.coordination.v1.${r.kind}` : `io.k8s.api.core.v1.${r.kind}`;
  const param = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths: {
      [`/${groupPath(r)}/namespaces/{namespace}/${r.plural}/{name}`]: {
        patch: {
          operationId: `patch${r.kind}`,
          parameters: [param('dryRun'), param('fieldManager'), param('fieldValidation'), param('force')],
          responses: { '200': { description: 'OK' } },
          'x-kubernetes-action': 'patch',
          'x-kubernetes-group-version-kind': gvk,
        },
      },
    },
    components: {
      schemas: {
        [schemaName]: {
          type: 'object',
          properties: {
            apiVersion: { type: 'string' },
            kind: { type: 'string' },
            metadata: objectMeta,
            ...SCHEMAS[r.kind],
          },
          'x-kubernetes-group-version-kind': [gvk],
        },
      },
    },
  };
}

/** The OpenAPI v3 document for `path` (`/openapi/v3` or `/openapi/v3/<group path>`), or undefined. */
export function openapi(path: string): unknown {
  if (path === '/openapi/v3') {
    return {
      paths: Object.fromEntries(
        [SECRETS, LEASES].map((r) => [
          groupPath(r),
          { serverRelativeURL: `/openapi/v3/${groupPath(r)}?hash=certloop` },
        ]),
      ),
    };
  }
  for (const r of [SECRETS, LEASES]) if (path === `/openapi/v3/${groupPath(r)}`) return document(r);
  return undefined;
}
