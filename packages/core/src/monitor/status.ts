/**
 * `@certloop/core` certificate status: the readiness and timing facts the expiry monitor reports for a secret.
 */
import { isCertloopError } from '../errors.js';
import { renewalTime } from '../rotation/renewal-time.js';
import { isManagedSecret, readTlsMaterial } from '../secret/tls-layout.js';
import type { Secret } from '../secret/types.js';
import { inspectCertificate } from '../x509/inspect.js';
import { privateKeyMatchesCertificate } from '../x509/key-match.js';
import { splitCertificates } from '../x509/pem.js';

/**
 * `ok`: valid and before its renewal time; `renewal-due`: past the renewal time; `expired`; `not-yet-valid`;
 * `invalid`: unreadable, key mismatch or no certificate; `missing`: no such secret.
 */
export type CertificateState = 'ok' | 'renewal-due' | 'expired' | 'not-yet-valid' | 'invalid' | 'missing';

/** What does not change with time: read once per secret version. */
export interface StatusFacts {
  readonly name: string;
  /** certloop manages (and may rotate) it; false for bring-your-own. */
  readonly managed: boolean;
  readonly version?: string;
  readonly subject?: string;
  readonly issuer?: string;
  readonly serialNumber?: string;
  readonly isCA?: boolean;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly renewAt?: Date;
  /** The failure code for `invalid`. */
  readonly errorCode?: string;
}

export interface CertificateStatus extends StatusFacts {
  readonly state: CertificateState;
  /** True for `ok` and `renewal-due`: the material can serve now. */
  readonly ready: boolean;
  /** Seconds until notAfter at `checkedAt` (negative once expired). */
  readonly secondsLeft?: number;
  readonly checkedAt: Date;
}

/**
 * Reads what does not change with time from a secret (parsed once per version). `keyCheck` (say a
 * `KeyCheckCache`) answers whether the key belongs to the certificate; default a fresh check.
 */
export function secretFacts(
  name: string,
  secret: Secret | undefined,
  ratio: number,
  keyCheck: (privateKeyPem: string, certificateDer: Uint8Array) => boolean = privateKeyMatchesCertificate,
): StatusFacts | undefined {
  if (!secret) return undefined;
  const managed = isManagedSecret(secret);
  const base = { name, managed, version: secret.version };
  const { certificatePem, privateKeyPem } = readTlsMaterial(secret);
  if (!certificatePem) return { ...base, errorCode: 'CERTLOOP_NOT_FOUND' };
  try {
    // decode the leaf once; inspection and the key check both read the DER
    const leafDer = splitCertificates(certificatePem)[0]!;
    const leaf = inspectCertificate(leafDer);
    let errorCode: string | undefined;
    if (privateKeyPem && !keyCheck(privateKeyPem, leafDer)) errorCode = 'CERTLOOP_KEY_MISMATCH';
    return {
      ...base,
      subject: leaf.subjectText,
      issuer: leaf.issuerText,
      serialNumber: leaf.serialNumber,
      isCA: leaf.isCA,
      notBefore: leaf.notBefore,
      notAfter: leaf.notAfter,
      renewAt: renewalTime({ notBefore: leaf.notBefore, notAfter: leaf.notAfter, ratio }),
      errorCode,
    };
  } catch (err) {
    return { ...base, errorCode: isCertloopError(err) ? err.code : 'CERTLOOP_INVALID_PEM' };
  }
}

/** The status of a secret at `at`, from its time-independent facts. */
export function statusAt(name: string, facts: StatusFacts | undefined, at: Date): CertificateStatus {
  if (!facts) return { name, state: 'missing', ready: false, managed: false, checkedAt: at };
  const { errorCode, notBefore, notAfter, renewAt } = facts;
  const t = at.getTime();
  let state: CertificateState;
  if (errorCode || !notBefore || !notAfter) state = 'invalid';
  else if (t < notBefore.getTime()) state = 'not-yet-valid';
  else if (t >= notAfter.getTime()) state = 'expired';
  else if (renewAt && t >= renewAt.getTime()) state = 'renewal-due';
  else state = 'ok';
  return {
    ...facts,
    state,
    ready: state === 'ok' || state === 'renewal-due',
    secondsLeft: notAfter ? Math.floor((notAfter.getTime() - t) / 1000) : undefined,
    checkedAt: at,
  };
}
