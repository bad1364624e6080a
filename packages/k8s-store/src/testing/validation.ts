/**
 * `@certloop/k8s-store/testing` validation: decoding and validation of Secrets and Leases as a real
 * kube-apiserver does (`pkg/apis/core/validation`, the lease strategy, `metav1.MicroTime` parsing).
 *
 * Decoding failures are 400 (`... cannot be handled as a Secret: ...`); validation failures are 422 Invalid with
 * one cause per field.
 */
import { setOwn } from '../own-key.js';
import { type KubeObject, LEASES, type ResourceKind, SECRETS } from './resources.js';
import { type StatusCause, statusErrors } from './status.js';

export const MAX_SECRET_BYTES = 1024 * 1024;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const TLS_TYPE = 'kubernetes.io/tls';

const cause = (reason: string, field: string, message: string): StatusCause => ({ reason, field, message });

/** Name checks shared by every kind (DNS-1123 subdomain, at most 253 characters). */
export function nameCauses(name: unknown): StatusCause[] {
  if (typeof name !== 'string' || name === '')
    return [cause('FieldValueRequired', 'metadata.name', 'Required value: name or generateName is required')];
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    return [
      cause(
        'FieldValueInvalid',
        'metadata.name',
        `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      ),
    ];
  }
  return [];
}

function stringMap(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}

/** Decodes metadata maps strictly: labels and annotations must be string maps (else 400, as the JSON decoder fails). */
function decodeMeta(r: ResourceKind, obj: KubeObject): void {
  for (const key of ['labels', 'annotations'] as const) {
    const value = obj.metadata[key];
    if (value !== undefined && value !== null && !stringMap(value)) {
      throw statusErrors.decode(
        r,
        `json: cannot unmarshal into Go struct field ObjectMeta.metadata.${key} of type string`,
      );
    }
    if (value === null) delete obj.metadata[key];
  }
}

/**
 * Decodes a Secret body in place: `stringData` merged into `data` (and dropped), `type` defaulted to `Opaque`,
 * bad base64 refused with 400. Then validates; `old` is the stored object on update.
 */
export function admitSecret(obj: KubeObject, old: KubeObject | undefined): void {
  decodeMeta(SECRETS, obj);
  const data = (obj.data ?? {}) as Record<string, unknown>;
  if (typeof data !== 'object' || Array.isArray(data) || data === null) {
    throw statusErrors.decode(
      SECRETS,
      'json: cannot unmarshal into Go struct field Secret.data of type map[string][]uint8',
    );
  }
  for (const [key, value] of Object.entries(data)) {
    if (value === null) {
      setOwn(data, key, '');
      continue;
    }
    if (typeof value !== 'string' || !BASE64.test(value)) {
      throw statusErrors.decode(SECRETS, `illegal base64 data at input byte 0 (data[${key}])`);
    }
  }
  const stringData = obj.stringData;
  if (stringData !== undefined && stringData !== null) {
    if (!stringMap(stringData)) throw statusErrors.decode(SECRETS, 'json: cannot unmarshal stringData');
    for (const [key, value] of Object.entries(stringData))
      setOwn(data, key, Buffer.from(value, 'utf8').toString('base64'));
  }
  delete obj.stringData;
  obj.data = data;
  if (obj.type === undefined || obj.type === null || obj.type === '') obj.type = 'Opaque';
  if (obj.immutable === null) delete obj.immutable;

  const name = obj.metadata.name;
  const causes: StatusCause[] = [...nameCauses(name)];
  let total = 0;
  for (const [key, value] of Object.entries(data as Record<string, string>)) {
    if (!DATA_KEY.test(key) || key === '.' || key === '..' || key.startsWith('..') || key.length > 253) {
      causes.push(
        cause(
          'FieldValueInvalid',
          `data[${key}]`,
          `Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
        ),
      );
    }
    total += Buffer.byteLength(value, 'base64');
  }
  if (total > MAX_SECRET_BYTES) {
    causes.push(cause('FieldValueTooLong', 'data', `Too long: may not be more than ${MAX_SECRET_BYTES} bytes`));
  }
  if (obj.type === TLS_TYPE) {
    for (const key of ['tls.crt', 'tls.key']) {
      if (!(key in data)) causes.push(cause('FieldValueRequired', `data[${key}]`, 'Required value'));
    }
  }
  if (old) {
    if (old.type !== obj.type) {
      causes.push(cause('FieldValueInvalid', 'type', `Invalid value: "${String(obj.type)}": field is immutable`));
    }
    if (old.immutable === true) {
      if (JSON.stringify(sorted(old.data)) !== JSON.stringify(sorted(obj.data))) {
        causes.push(cause('FieldValueForbidden', 'data', 'Forbidden: field is immutable when `immutable` is set'));
      }
      if (obj.immutable !== true) {
        causes.push(cause('FieldValueForbidden', 'immutable', 'Forbidden: field is immutable when `immutable` is set'));
      }
    }
  }
  if (causes.length > 0) throw statusErrors.invalid(SECRETS, String(name ?? ''), causes);
}

function sorted(value: unknown): unknown {
  const map = (value ?? {}) as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(map)
      .sort()
      .map((k) => [k, map[k]]),
  );
}

/**
 * Decodes and validates a Lease body: MicroTime fields with exactly six fractional digits (else 400),
 * `leaseDurationSeconds` > 0 and `leaseTransitions` >= 0 when set (else 422).
 */
export function admitLease(obj: KubeObject): void {
  decodeMeta(LEASES, obj);
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  if (typeof spec !== 'object' || Array.isArray(spec)) throw statusErrors.decode(LEASES, 'json: cannot unmarshal spec');
  obj.spec = spec;
  for (const field of ['acquireTime', 'renewTime'] as const) {
    const value = spec[field];
    if (value === undefined || value === null) {
      delete spec[field];
      continue;
    }
    if (typeof value !== 'string' || !MICRO_TIME.test(value) || Number.isNaN(Date.parse(value))) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      const fraction = /(\.\d*Z?|Z)$/.exec(text)?.[0] ?? text;
      throw statusErrors.decode(
        LEASES,
        `parsing time "${text}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "${fraction}" as ".000000"`,
      );
    }
  }
  const causes: StatusCause[] = [...nameCauses(obj.metadata.name)];
  const duration = spec.leaseDurationSeconds;
  if (duration !== undefined && duration !== null) {
    if (!Number.isInteger(duration)) throw statusErrors.decode(LEASES, 'json: cannot unmarshal leaseDurationSeconds');
    if ((duration as number) <= 0) {
      causes.push(
        cause('FieldValueInvalid', 'spec.leaseDurationSeconds', `Invalid value: ${duration}: must be greater than 0`),
      );
    }
  }
  const transitions = spec.leaseTransitions;
  if (transitions !== undefined && transitions !== null) {
    if (!Number.isInteger(transitions)) throw statusErrors.decode(LEASES, 'json: cannot unmarshal leaseTransitions');
    if ((transitions as number) < 0) {
      causes.push(
        cause(
          'FieldValueInvalid',
          'spec.leaseTransitions',
          `Invalid value: ${transitions}: must be greater than or equal to 0`,
        ),
      );
    }
  }
  if (typeof spec.holderIdentity !== 'string' && spec.holderIdentity !== undefined && spec.holderIdentity !== null) {
    throw statusErrors.decode(LEASES, 'json: cannot unmarshal holderIdentity');
  }
  if (causes.length > 0) throw statusErrors.invalid(LEASES, String(obj.metadata.name ?? ''), causes);
}
