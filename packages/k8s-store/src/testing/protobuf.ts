/**
 * `@certloop/k8s-store/testing` protobuf: decodes the Kubernetes protobuf envelope (`k8s\0` + `runtime.Unknown`)
 * of a Secret, because kubectl sends built-in kinds as `application/vnd.kubernetes.protobuf` (it accepts JSON
 * answers). Only the fields a Secret write carries are read: metadata name, generateName, namespace,
 * resourceVersion, labels, annotations; data, stringData, type, immutable. Unknown fields are skipped.
 */
import { statusErrors } from './status.js';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

type Field = { readonly number: number; readonly wire: number; readonly value: bigint | Uint8Array };

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length || shift > 63n) throw statusErrors.badRequest('malformed protobuf body');
      const byte = buf[pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const wire = key & 7;
    const number = key >>> 3;
    if (wire === 0) yield { number, wire, value: varint() };
    else if (wire === 2) {
      const length = Number(varint());
      if (pos + length > buf.length) throw statusErrors.badRequest('malformed protobuf body');
      yield { number, wire, value: buf.subarray(pos, pos + length) };
      pos += length;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw statusErrors.badRequest('malformed protobuf body');
  }
}

const utf8 = new TextDecoder();
const text = (v: Field['value']) => utf8.decode(v as Uint8Array);

function mapEntry(buf: Uint8Array): [string, Uint8Array] {
  let key = '';
  let value: Uint8Array = new Uint8Array(0);
  for (const f of fields(buf)) {
    if (f.number === 1) key = text(f.value);
    if (f.number === 2) value = f.value as Uint8Array;
  }
  return [key, value];
}

function objectMeta(buf: Uint8Array): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  for (const f of fields(buf)) {
    if (f.number === 1) meta.name = text(f.value);
    else if (f.number === 2) meta.generateName = text(f.value);
    else if (f.number === 3) meta.namespace = text(f.value);
    else if (f.number === 6) meta.resourceVersion = text(f.value);
    else if (f.number === 11) {
      const [k, v] = mapEntry(f.value as Uint8Array);
      labels[k] = utf8.decode(v);
    } else if (f.number === 12) {
      const [k, v] = mapEntry(f.value as Uint8Array);
      annotations[k] = utf8.decode(v);
    }
  }
  if (Object.keys(labels).length > 0) meta.labels = labels;
  if (Object.keys(annotations).length > 0) meta.annotations = annotations;
  for (const key of ['name', 'generateName', 'namespace', 'resourceVersion']) if (meta[key] === '') delete meta[key];
  return meta;
}

function secret(buf: Uint8Array): Record<string, unknown> {
  const out: Record<string, unknown> = { apiVersion: 'v1', kind: 'Secret', metadata: {} };
  const data: Record<string, string> = {};
  const stringData: Record<string, string> = {};
  for (const f of fields(buf)) {
    if (f.number === 1) out.metadata = objectMeta(f.value as Uint8Array);
    else if (f.number === 2) {
      const [k, v] = mapEntry(f.value as Uint8Array);
      data[k] = Buffer.from(v).toString('base64');
    } else if (f.number === 3) out.type = text(f.value);
    else if (f.number === 4) {
      const [k, v] = mapEntry(f.value as Uint8Array);
      stringData[k] = utf8.decode(v);
    } else if (f.number === 5) out.immutable = f.value !== 0n;
  }
  if (Object.keys(data).length > 0) out.data = data;
  if (Object.keys(stringData).length > 0) out.stringData = stringData;
  return out;
}

/** Decodes a protobuf-encoded Secret body to its JSON form; anything else is 415 (client-go then sends JSON). */
export function decodeProtobufSecret(body: Uint8Array): Record<string, unknown> {
  if (body.length < 4 || utf8.decode(body.subarray(0, 4)) !== 'k8s\0') {
    throw statusErrors.badRequest('protobuf body without the k8s envelope');
  }
  let kind = '';
  let raw: Uint8Array | undefined;
  for (const f of fields(body.subarray(4))) {
    if (f.number === 1) {
      for (const t of fields(f.value as Uint8Array)) if (t.number === 2) kind = text(t.value);
    } else if (f.number === 2) raw = f.value as Uint8Array;
  }
  if (kind !== 'Secret' || !raw) {
    throw statusErrors.custom(
      415,
      'UnsupportedMediaType',
      `protobuf is only understood for Secrets (got ${kind || 'nothing'})`,
    );
  }
  return secret(raw);
}
