/**
 * `@certloop/k8s-store` secret mapping: a Kubernetes Secret (JSON, base64 `data`) to certloop's `Secret` and back.
 *
 * `version` is the resourceVersion. Every write carries a fresh `certloop.io/write-id` annotation, because a real
 * API server does not bump the resourceVersion of a write that changes nothing, while certloop's store contract
 * promises a new version on every write; the annotation is hidden again on read. Internal.
 */
import { randomBytes } from 'node:crypto';
import type { Secret, SecretInput } from '@certloop/core';

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
 * Decodes a Secret from the API; the result is a fresh object nobody else holds, except that when `previous` (the
 * version this one replaces, a read-only snapshot) holds the same keys with the same bytes, its `data` is shared
 * instead of decoded again (so are its name, labels and annotations when unchanged): a re-put or an annotation change then costs no second copy of the bytes, however many
 * watchers still hold the previous snapshot. Otherwise all values share one exact-size backing buffer (one
 * allocation per Secret, no pooled slabs kept alive by small slices), which keeps an informer over 10,000 Secrets
 * small.
 */
export function fromKubeSecret(obj: KubeSecret, previous?: Secret): Secret {
  const entries = Object.entries(obj.data ?? {});
  const labels = obj.metadata.labels ?? {};
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(obj.metadata.annotations ?? {})) {
    if (key !== WRITE_ID_ANNOTATION) annotations[key] = value;
  }
  return {
    name: previous?.name === obj.metadata.name ? previous.name : obj.metadata.name,
    type: obj.type === TLS_SECRET_TYPE ? TLS_SECRET_TYPE : obj.type || OPAQUE_SECRET_TYPE,
    data: previous && sameBytes(entries, previous.data) ? previous.data : decodeData(entries),
    labels: previous && sameRecord(labels, previous.labels) ? previous.labels : { ...labels },
    annotations: previous && sameRecord(annotations, previous.annotations) ? previous.annotations : annotations,
    version: obj.metadata.resourceVersion ?? '',
  };
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (a[key] !== b[key] || !Object.hasOwn(b, key)) return false;
  return true;
}

function decodeData(entries: [string, string][]): Record<string, Uint8Array> {
  let total = 0;
  for (const [, value] of entries) total += Buffer.byteLength(value ?? '', 'base64');
  const backing = Buffer.allocUnsafeSlow(total);
  const data: Record<string, Uint8Array> = {};
  let offset = 0;
  for (const [key, value] of entries) {
    const written = value ? backing.write(value, offset, 'base64') : 0;
    data[key] = new Uint8Array(backing.buffer, backing.byteOffset + offset, written);
    offset += written;
  }
  return data;
}

/** A reused scratch buffer for {@link sameBytes} (grown on demand; comparisons are synchronous). */
let scratch: Buffer | undefined;

/** True when the base64 `entries` decode to exactly `data` (same keys, same bytes), without allocating per call. */
function sameBytes(entries: [string, string][], data: Readonly<Record<string, Uint8Array>>): boolean {
  if (entries.length !== Object.keys(data).length) return false;
  for (const [key, value] of entries) {
    const held = data[key];
    if (held === undefined) return false;
    const text = value ?? '';
    const size = Buffer.byteLength(text, 'base64');
    if (!scratch || scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.max(size, 4096));
    const written = text ? scratch.write(text, 0, 'base64') : 0;
    if (written !== held.byteLength) return false;
    if (!scratch.subarray(0, written).equals(held)) return false;
  }
  return true;
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
    data[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
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
  for (const [key, value] of Object.entries(secret.data)) data[key] = value.slice();
  return { ...secret, data, labels: { ...secret.labels }, annotations: { ...secret.annotations } };
}
