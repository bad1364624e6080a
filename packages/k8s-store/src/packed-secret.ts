/**
 * `@certloop/k8s-store` packed Secret: the informer's compact form of one Secret, one byte buffer per Secret.
 *
 * The cache keeps each Secret as these bytes (no JS objects per field, no `Uint8Array` per data key: about a third
 * of the V8 heap the decoded form took), and builds a `Secret` from them only when it hands one out: its data
 * values are views of the packed buffer (never copied), and the objects around them are garbage as soon as the
 * consumer drops the event.
 *
 * Layout (integers u32 little-endian, strings UTF-8 with a u32 byte length before them):
 * `metaLength, dataLength, version, type, labelCount, (key, value)*, annotationCount, (key, value)*, dataCount,
 * (key, byteLength)*`, then the data values back to back (`dataLength` bytes). Internal.
 */
import type { Secret } from '@certloop/core';
import { setOwn } from './own-key.js';
import { type KubeSecret, OPAQUE_SECRET_TYPE, TLS_SECRET_TYPE, WRITE_ID_ANNOTATION } from './secret-mapping.js';

const HEADER = 8;

/** A reused scratch buffer for {@link packKubeSecret} (grown on demand; packing is synchronous). */
let scratch = Buffer.allocUnsafeSlow(16 * 1024);

/**
 * Packs a Secret as the API sends it (base64 `data`; the `certloop.io/write-id` annotation left out, as
 * `fromKubeSecret` does). The result is a view of a shared scratch buffer, valid until the next call: copy what
 * you keep.
 */
export function packKubeSecret(obj: KubeSecret): Buffer {
  const version = obj.metadata.resourceVersion ?? '';
  const type = obj.type === TLS_SECRET_TYPE ? TLS_SECRET_TYPE : obj.type || OPAQUE_SECRET_TYPE;
  const labels = Object.entries(obj.metadata.labels ?? {});
  const annotations = Object.entries(obj.metadata.annotations ?? {}).filter(([key]) => key !== WRITE_ID_ANNOTATION);
  const data = Object.entries(obj.data ?? {});
  // an upper bound: base64's decoded length never exceeds Buffer.byteLength(text, 'base64')
  let bound = HEADER + 16 + stringSize(version) + stringSize(type);
  for (const [key, value] of labels) bound += stringSize(key) + stringSize(text(value));
  for (const [key, value] of annotations) bound += stringSize(key) + stringSize(text(value));
  for (const [key, value] of data) bound += stringSize(key) + 4 + Buffer.byteLength(text(value), 'base64');
  if (scratch.length < bound) scratch = Buffer.allocUnsafeSlow(Math.max(bound, scratch.length * 2));
  const out = scratch;
  let at = HEADER;
  const putString = (value: string) => {
    const written = out.write(value, at + 4, 'utf8');
    out.writeUInt32LE(written, at);
    at += 4 + written;
  };
  putString(version);
  putString(type);
  out.writeUInt32LE(labels.length, at);
  at += 4;
  for (const [key, value] of labels) {
    putString(key);
    putString(text(value));
  }
  out.writeUInt32LE(annotations.length, at);
  at += 4;
  for (const [key, value] of annotations) {
    putString(key);
    putString(text(value));
  }
  out.writeUInt32LE(data.length, at);
  at += 4;
  const lengthAt: number[] = [];
  for (const [key] of data) {
    putString(key);
    lengthAt.push(at);
    at += 4;
  }
  const metaLength = at - HEADER;
  let dataAt = at;
  for (let i = 0; i < data.length; i++) {
    const value = text(data[i]![1]);
    const written = value ? out.write(value, dataAt, 'base64') : 0;
    out.writeUInt32LE(written, lengthAt[i]!);
    dataAt += written;
  }
  out.writeUInt32LE(metaLength, 0);
  out.writeUInt32LE(dataAt - at, 4);
  return out.subarray(0, dataAt);
}

/** An exact-size copy of `packed` in a buffer of its own (not a slice of Node's shared pool). */
export function ownPacked(packed: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(packed.length);
  packed.copy(own);
  return own;
}

/** The resourceVersion of a packed Secret, without unpacking the rest. */
export function packedVersion(packed: Buffer): string {
  const length = packed.readUInt32LE(HEADER);
  return packed.toString('utf8', HEADER + 4, HEADER + 4 + length);
}

/**
 * A `Secret` named `name` from its packed form (one that nobody changes any more: `ownPacked`'s): fresh objects,
 * and data values that are views of the packed buffer.
 */
export function unpackSecret(name: string, packed: Buffer): Secret {
  const metaEnd = HEADER + packed.readUInt32LE(0);
  let at = HEADER;
  const getString = () => {
    const length = packed.readUInt32LE(at);
    const value = packed.toString('utf8', at + 4, at + 4 + length);
    at += 4 + length;
    return value;
  };
  const getRecord = () => {
    const record: Record<string, string> = {};
    const count = packed.readUInt32LE(at);
    at += 4;
    for (let i = 0; i < count; i++) {
      const key = getString();
      setOwn(record, key, getString());
    }
    return record;
  };
  const version = getString();
  const type = getString();
  const labels = getRecord();
  const annotations = getRecord();
  const count = packed.readUInt32LE(at);
  at += 4;
  const data: Record<string, Uint8Array> = {};
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const key = getString();
    const length = packed.readUInt32LE(at);
    at += 4;
    setOwn(data, key, new Uint8Array(packed.buffer, packed.byteOffset + metaEnd + offset, length));
    offset += length;
  }
  return { name, type, data, labels, annotations, version };
}

function stringSize(value: string): number {
  return 4 + Buffer.byteLength(value, 'utf8');
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : value == null ? '' : String(value);
}
