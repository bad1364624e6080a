/**
 * Internal (`@certloop/core` ca-rotation): reading and writing the rotation records.
 *
 * All records live in one secret (default `relay-ca-rotation`), one JSON data key per CA (`root.json`,
 * `intermediate.json`), so a root and an intermediate rotation can never be moved at once by two processes: every
 * write is a compare-and-swap of the whole secret on the version read.
 */
import { CertloopError } from '../errors.js';
import { ANNOTATIONS, MANAGED_BY_VALUE } from '../secret/tls-layout.js';
import type { Secret, SecretStore } from '../store/types.js';
import { inspectCertificate } from '../x509/inspect.js';
import type { CaCertificateInfo, CaKind, CaRotationRecord } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const RECORD_KEYS: Readonly<Record<CaKind, string>> = { root: 'root.json', intermediate: 'intermediate.json' };

export interface RecordsSnapshot {
  readonly secret: Secret | undefined;
  readonly records: Readonly<Partial<Record<CaKind, CaRotationRecord>>>;
}

function corrupt(name: string, cause?: unknown): CertloopError {
  return new CertloopError('CERTLOOP_STORE_CORRUPT', `the CA rotation record in ${name} cannot be read`, { cause });
}

function parseRecord(name: string, ca: CaKind, raw: Uint8Array): CaRotationRecord {
  let value: CaRotationRecord;
  try {
    value = JSON.parse(decoder.decode(raw)) as CaRotationRecord;
  } catch (err) {
    throw corrupt(name, err);
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    value.schema !== 1 ||
    value.ca !== ca ||
    typeof value.id !== 'string' ||
    typeof value.phase !== 'string' ||
    typeof value.old?.certificatePem !== 'string'
  ) {
    throw corrupt(name);
  }
  return value;
}

export async function readRecords(store: SecretStore, name: string, signal?: AbortSignal): Promise<RecordsSnapshot> {
  const secret = await store.get(name, { signal });
  const records: Partial<Record<CaKind, CaRotationRecord>> = {};
  if (secret) {
    for (const ca of ['root', 'intermediate'] as const) {
      const raw = secret.data[RECORD_KEYS[ca]];
      if (raw && raw.length > 0) records[ca] = parseRecord(name, ca, raw);
    }
  }
  return { secret, records };
}

/**
 * Writes `record` for its CA with compare-and-swap on the snapshot's version. A conflict throws
 * `CERTLOOP_CONFLICT` (the caller re-reads and re-decides); nothing else in the secret changes.
 */
export async function writeRecord(
  store: SecretStore,
  name: string,
  snapshot: RecordsSnapshot,
  record: CaRotationRecord,
  signal?: AbortSignal,
): Promise<RecordsSnapshot> {
  const data: Record<string, Uint8Array> = { ...(snapshot.secret?.data ?? {}) };
  data[RECORD_KEYS[record.ca]] = encoder.encode(`${JSON.stringify(record, null, 2)}\n`);
  const stored = await store.put(
    name,
    {
      type: 'Opaque',
      data,
      labels: { ...(snapshot.secret?.labels ?? {}), 'certloop.io/kind': 'ca-rotation' },
      annotations: {
        ...(snapshot.secret?.annotations ?? {}),
        [ANNOTATIONS.managedBy]: MANAGED_BY_VALUE,
        [ANNOTATIONS.role]: 'ca-rotation',
      },
    },
    { expectedVersion: snapshot.secret?.version ?? null, signal },
  );
  return { secret: stored, records: { ...snapshot.records, [record.ca]: record } };
}

/** What the record keeps of a CA certificate. */
export function certificateInfo(certificatePem: string, keyRef?: string): CaCertificateInfo {
  const c = inspectCertificate(certificatePem);
  return {
    certificatePem: c.certificatePem,
    keyId: c.subjectKeyId ?? '',
    serialNumber: c.serialNumber,
    subject: c.subjectText,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    fingerprintSha256: c.fingerprintSha256,
    ...(keyRef ? { keyRef } : {}),
  };
}
