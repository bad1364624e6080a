/**
 * Internal (`@certloop/core` ca-rotation): pure functions of a rotation record (what signs, which bundle, which
 * slots), shared by the steps, the rotator and the tests.
 */
import { inspectCertificate } from '../x509/inspect.js';
import { joinPemBundle, splitPemBundle } from '../x509/pem.js';
import type { KeyAlgorithm } from '../x509/types.js';
import { refuse } from './refusal.js';
import type { CaHandle, CaRotationPhase, CaRotationRecord } from './types.js';

export const FINAL: readonly CaRotationPhase[] = ['retired', 'aborted'];

/** True while a rotation is under way (its phase is not final). */
export function isUnderWay(record: CaRotationRecord | undefined): record is CaRotationRecord {
  return record !== undefined && !FINAL.includes(record.phase);
}

/** The key id leaves are issued by once B is active: the new intermediate's (root rotation) or B's. */
export function newSigningKeyId(record: CaRotationRecord): string | undefined {
  return record.ca === 'root' ? record.newIntermediate?.keyId : record.new?.keyId;
}

/** The key id leaves were issued by under A. */
export function oldSigningKeyId(record: CaRotationRecord): string {
  return record.ca === 'root' ? (record.oldIntermediate?.keyId ?? record.old.keyId) : record.old.keyId;
}

/** The slot ids of a rotation: where each CA it makes or keeps lives in the backend. */
export const slots = (id: string) => ({
  oldRoot: `${id}-old-root`,
  oldInt: `${id}-old-int`,
  root: `${id}-root`,
  int: `${id}-int`,
  cross: `${id}-cross`,
});

/** The bundle published during the rotation: the one before, plus B for a root. */
export function duringBundle(rec: CaRotationRecord): string {
  if (rec.ca === 'root' && rec.new) return unionBundle(rec.bundleBeforePem, [rec.new.certificatePem]);
  return rec.bundleBeforePem;
}

/** The bundle published after retire: the one during, without A. */
export function afterBundle(rec: CaRotationRecord): string {
  if (rec.ca !== 'root') return rec.bundleBeforePem;
  const old = inspectCertificate(rec.old.certificatePem).fingerprintSha256;
  return joinPemBundle(
    splitPemBundle(duringBundle(rec)).filter((pem) => inspectCertificate(pem).fingerprintSha256 !== old),
  );
}

export function handleOf(info: { readonly certificatePem: string; readonly keyRef?: string }): CaHandle {
  if (!info.keyRef) refuse('no-key', 'the record names no key for this CA', 'the key was destroyed');
  return { keyRef: info.keyRef, certificatePem: info.certificatePem, chainPem: '' };
}

export function dropKeyRef<T extends { readonly keyRef?: string }>(info: T): Omit<T, 'keyRef'> {
  const { keyRef: _k, ...rest } = info;
  return rest;
}

/** `bundle` plus `extra`, without duplicates, in order. */
export function unionBundle(bundle: string, extra: readonly string[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const pem of [...splitPemBundle(bundle), ...extra.flatMap((e) => splitPemBundle(e))]) {
    const fp = inspectCertificate(pem).fingerprintSha256;
    if (seen.has(fp)) continue;
    seen.add(fp);
    out.push(pem);
  }
  return joinPemBundle(out);
}

export function commonNameOf(pem: string): string {
  return inspectCertificate(pem).subject.commonName ?? 'certloop CA';
}

export function inferAlgorithm(pem: string): KeyAlgorithm {
  return inspectCertificate(pem).publicKey.algorithm ?? 'ECDSA-P256';
}
