/**
 * `@certloop/k8s-store` secret mapping: a Kubernetes Secret (JSON, base64 `data`) to certloop's `Secret` and back.
 *
 * `version` is the resourceVersion. Every write carries a fresh `certloop.io/write-id` annotation, because a real
 * API server does not bump the resourceVersion of a write that changes nothing, while certloop's store contract
 * promises a new version on every write; the annotation is hidden again on read. Internal.
 */
import { randomBytes } from 'node:crypto';
import type { Secret, SecretInput } from '@certloop/core';
import { setOwn } from './own-key.js';

/** The annotation that makes every write a real change (hidden from certloop's `Secret`). */
export const WRITE_ID_ANNOTATION = 'certloop.io/write-id';
export const TLS_SECRET_TYPE = 'kubernetes.io/tls';
export const OPAQUE_SECRET_TYPE = 'Opaque';

/** The JSON of a Secret as the API sends it (fields certloop reads). */
export interface KubeSecret {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  type?: string;
  data?: Record<string, string>;
  immutable?: boolean;
}

export interface KubeList<T> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

/**
 * Decodes a Secret from the API into a fresh object nobody else holds; all data values share one exact-size backing
 * buffer (one allocation per Secret, no pooled slab kept alive by small slices).
 */
export function fromKubeSecret(obj: KubeSecret): Secret {
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(obj.metadata.annotations ?? {})) {
    if (key !== WRITE_ID_ANNOTATION) setOwn(annotations, key, value);
  }
  return {
    name: obj.metadata.name,
    type: obj.type === TLS_SECRET_TYPE ? TLS_SECRET_TYPE : obj.type || OPAQUE_SECRET_TYPE,
    data: decodeData(Object.entries(obj.data ?? {})),
    labels: { ...obj.metadata.labels },
    annotations,
    version: obj.metadata.resourceVersion ?? '',
  };
}

function decodeData(entries: [string, string][]): Record<string, Uint8Array> {
  let total = 0;
  for (const [, value] of entries) total += Buffer.byteLength(value ?? '', 'base64');
  const backing = Buffer.allocUnsafeSlow(total);
  const data: Record<string, Uint8Array> = {};
  let offset = 0;
  for (const [key, value] of entries) {
    const written = value ? backing.write(value, offset, 'base64') : 0;
    setOwn(data, key, new Uint8Array(backing.buffer, backing.byteOffset + offset, written));
    offset += written;
  }
  return data;
}

export interface ToKubeSecretRequest {
  readonly name: string;
  readonly namespace: string;
  readonly input: Required<Pick<SecretInput, 'data' | 'labels' | 'annotations'>> & { readonly type: string };
  /** For a PUT: the compare-and-swap precondition; omitted for a create or an unconditional replace. */
  readonly resourceVersion?: string;
  /** The write's `certloop.io/write-id` (default a fresh one): one per `put`, so a retry can recognise its own. */
  readonly writeId?: string;
}

/** A fresh `certloop.io/write-id` value. */
export function newWriteId(): string {
  return randomBytes(8).toString('hex');
}

/** Encodes a write. */
export function toKubeSecret(request: ToKubeSecretRequest): KubeSecret {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(request.input.data)) {
    setOwn(data, key, Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'));
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: request.name,
      namespace: request.namespace,
      ...(request.resourceVersion !== undefined && { resourceVersion: request.resourceVersion }),
      labels: { ...request.input.labels },
      annotations: { ...request.input.annotations, [WRITE_ID_ANNOTATION]: request.writeId ?? newWriteId() },
    },
    type: request.input.type,
    data,
  };
}

/** A deep copy (fresh maps and bytes): what `get`, `list` and `put` hand to callers. */
export function copySecret(secret: Secret): Secret {
  const data: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(secret.data)) setOwn(data, key, value.slice());
  return { ...secret, data, labels: { ...secret.labels }, annotations: { ...secret.annotations } };
}
