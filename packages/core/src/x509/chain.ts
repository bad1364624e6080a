/**
 * `@certloop/core` validateChain: does a leaf chain up to a root of the trust bundle, at a given time, for a
 * given use? certloop's own path validation (RFC 5280 6.1, the parts a private PKI needs), no pkijs.
 *
 * Paths are built from the leaf by issuer name (and AKI/SKI when both are present), trust anchors first, then
 * intermediates; signatures are not used to pick issuers, so a bad signature is reported as such rather than as
 * "untrusted". Each complete path is then checked certificate by certificate, leaf first (see chain-checks.ts:
 * validity, key floors, usages, signatures, name constraints, CRLs); the first path that passes wins, and when none
 * does the first failure of the first complete path is thrown. Every certificate is parsed once; issuer keys are
 * imported once per process (a bounded cache keyed by the key itself). Times compare at whole seconds.
 */
import type { Clock } from '../clock/clock.js';
import { systemClock } from '../clock/clock.js';
import { CertloopError } from '../errors.js';
import { parseCertificate } from './certificate.js';
import { chainError, checkPath, PoolEntry } from './chain-checks.js';
import { type CrlInput, readCrls } from './crl.js';
import type { CryptoEngine } from './crypto-engine.js';
import { nodeCryptoEngine } from './crypto-engine.js';
import { describeCertificate, type InspectedCertificate } from './inspect.js';
import { checkRsaFloor } from './key-strength.js';
import { decodeName } from './name.js';
import { optionalClock, optionalEngine } from './options.js';
import { splitCertificates } from './pem.js';

export interface ValidateChainOptions {
  /** The leaf, PEM; further certificates after it (as in `tls.crt`) join the intermediates. */
  readonly leafPem: string;
  /** Candidate intermediates, PEM, any order; unused ones are ignored. */
  readonly intermediatesPem?: string;
  /** The trust anchors, PEM (several while a root is being replaced). */
  readonly trustBundlePem: string;
  /** The time to validate at; defaults to `clock.now()`. */
  readonly at?: Date;
  readonly clock?: Clock;
  /** When set, the leaf and every CA must allow this extended key usage, and the leaf digitalSignature. */
  readonly usage?: 'serverAuth' | 'clientAuth';
  /**
   * Most certificates in a path, leaf and anchor included; self-issued intermediates (key rollover) do not count
   * (RFC 5280 6.1.4 (l)). Default 8.
   */
  readonly maxChainLength?: number;
  readonly engine?: CryptoEngine;
  /** Smallest RSA modulus accepted on the path, bits: 2048 (the default) or more. */
  readonly minRsaBits?: number;
  /**
   * CRLs (PEM `X509 CRL` blocks or DER). When given, the leaf's issuer must have one among them
   * (`CERTLOOP_CHAIN_CRL_ISSUER_MISMATCH` otherwise), every certificate whose issuer has one is checked against it
   * (`CERTLOOP_CHAIN_REVOKED`), and each CRL used must verify under its issuer's key
   * (`CERTLOOP_CHAIN_CRL_SIGNATURE_INVALID`) and be inside thisUpdate..nextUpdate (`CERTLOOP_CHAIN_CRL_EXPIRED`).
   */
  readonly crls?: CrlInput;
  /** How long past its nextUpdate a CRL is still used, seconds. Default 0. */
  readonly crlGraceSeconds?: number;
}

export interface ChainValidationResult {
  /** Leaf first, anchor last (one element when the leaf itself is trusted). */
  readonly chain: readonly InspectedCertificate[];
  readonly anchor: InspectedCertificate;
}

const DEFAULT_MAX_CHAIN_LENGTH = 8;
/** Bounds the search in a pool of look-alike certificates; real pools need a handful of steps. */
const MAX_SEARCH_STEPS = 256;
const MAX_COMPLETE_PATHS = 8;

/** A Map key for bytes (names, whole certificates): byte-equal inputs give equal keys. */
const bytesKey = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

function readPool(text: string, anchor: boolean, what: string): PoolEntry[] {
  if (typeof text !== 'string') throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', `${what} must be PEM text`);
  return splitCertificates(text).map((der) => new PoolEntry(parseCertificate(der), anchor));
}

/**
 * Validates the leaf's chain to the trust bundle. Resolves the path (leaf to anchor) or throws a
 * `CertloopError` whose code names the failure (`CERTLOOP_CHAIN_*`, or an input code for bad PEM/DER and
 * oversize input); its `details` hold the failing certificate's `index` in the path and its `subject`.
 */
export async function validateChain(options: ValidateChainOptions): Promise<ChainValidationResult> {
  if (typeof options !== 'object' || options === null) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'validateChain needs an options object');
  }
  const clock = optionalClock(options.clock) ?? systemClock;
  const given = options.at ?? clock.now();
  // An invalid Date compares false both ways and would pass every validity check.
  if (!(given instanceof Date) || Number.isNaN(given.getTime())) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'at must be a valid Date');
  }
  // Certificates carry whole seconds: 12:00:00.999 is still 12:00:00 for a notAfter of 12:00:00.
  const at = new Date(Math.floor(given.getTime() / 1000) * 1000);
  const minRsaBits = checkRsaFloor(options.minRsaBits);
  const crlGraceSeconds = options.crlGraceSeconds ?? 0;
  if (!Number.isFinite(crlGraceSeconds) || crlGraceSeconds < 0) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'crlGraceSeconds must be a non-negative number');
  }
  const crls = options.crls === undefined ? [] : readCrls(options.crls);
  const engine = optionalEngine(options.engine) ?? nodeCryptoEngine;
  const maxLength = options.maxChainLength ?? DEFAULT_MAX_CHAIN_LENGTH;
  if (!Number.isSafeInteger(maxLength) || maxLength < 1) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'maxChainLength must be a positive integer');
  }
  const usage = options.usage;
  if (usage !== undefined && usage !== 'serverAuth' && usage !== 'clientAuth') {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'usage must be serverAuth or clientAuth');
  }

  const [leaf, ...extra] = readPool(options.leafPem, false, 'leafPem');
  const anchors = readPool(options.trustBundlePem, true, 'trustBundlePem');
  const intermediates = [
    ...extra,
    ...(options.intermediatesPem ? readPool(options.intermediatesPem, false, 'intermediatesPem') : []),
  ];

  // Candidate issuers by subject name: anchors first (shortest path), then intermediates not already anchors.
  const bySubject = new Map<string, PoolEntry[]>();
  const anchorDer = new Set(anchors.map((entry) => bytesKey(entry.parsed.der)));
  for (const entry of [...anchors, ...intermediates]) {
    if (!entry.anchor && anchorDer.has(bytesKey(entry.parsed.der))) continue;
    const key = bytesKey(entry.parsed.subjectDer);
    const list = bySubject.get(key);
    if (list) list.push(entry);
    else bySubject.set(key, [entry]);
  }
  // The leaf is the one certificate outside `bySubject` that may itself be trusted (a self-signed leaf).
  const leafTrusted = anchorDer.has(bytesKey(leaf!.parsed.der));
  const isAnchor = (entry: PoolEntry) => entry.anchor || (entry === leaf && leafTrusted);

  const issuersOf = (child: PoolEntry): PoolEntry[] => {
    const found = bySubject.get(bytesKey(child.parsed.issuerDer)) ?? [];
    const aki = child.ext.authorityKeyId;
    if (aki === undefined) return found;
    // A candidate whose SKI differs from the child's AKI holds another key: skip it; exact matches go first.
    const exact = found.filter((c) => c.ext.subjectKeyId === aki);
    return [...exact, ...found.filter((c) => c.ext.subjectKeyId === undefined)];
  };

  const checkOptions = { at, usage, engine, minRsaBits, crls, crlGraceSeconds };
  let firstFailure: unknown;
  let tooLong = false;
  let steps = 0;
  let complete = 0;
  const path: PoolEntry[] = [leaf!];

  let deadEnd: { entry: PoolEntry; depth: number } | undefined;
  const search = async (): Promise<PoolEntry[] | undefined> => {
    if (++steps > MAX_SEARCH_STEPS || complete >= MAX_COMPLETE_PATHS) return undefined;
    const current = path[path.length - 1]!;
    if (isAnchor(current)) {
      complete++;
      try {
        await checkPath(path, checkOptions);
        return [...path];
      } catch (err) {
        firstFailure ??= err;
        return undefined;
      }
    }
    const candidates = issuersOf(current).filter((candidate) => !path.includes(candidate));
    // the deepest certificate whose issuer is nowhere: what an UNTRUSTED error names as missing
    if (candidates.length === 0 && (deadEnd === undefined || path.length > deadEnd.depth)) {
      deadEnd = { entry: current, depth: path.length };
    }
    // RFC 5280 6.1.4 (l): self-issued intermediates do not count towards the length.
    let counted = 1;
    for (let i = 1; i < path.length; i++) if (!path[i]!.selfIssued) counted++;
    if (counted >= maxLength) {
      // Only "too long" when the path could have gone on; a dead end is plain untrusted.
      if (candidates.length > 0) tooLong = true;
      return undefined;
    }
    for (const candidate of candidates) {
      path.push(candidate);
      const found = await search();
      path.pop();
      if (found) return found;
    }
    return undefined;
  };

  const found = await search();
  if (!found) {
    if (firstFailure !== undefined) throw firstFailure;
    if (tooLong) {
      throw chainError('CERTLOOP_CHAIN_TOO_LONG', `no path within ${maxLength} certificates`, leaf!, 0);
    }
    throw untrusted(leaf!, deadEnd?.entry ?? leaf!, anchors);
  }
  const chain = found.map((entry) => describeCertificate(entry.parsed, entry.ext));
  return { chain, anchor: chain[chain.length - 1]! };
}

/**
 * CERTLOOP_CHAIN_UNTRUSTED naming the missing piece: the issuer that neither the chain nor the bundle holds, and
 * what the bundle does hold (details: `missingIssuer`, `of`, `trustBundleSubjects`).
 */
function untrusted(leaf: PoolEntry, stuck: PoolEntry, anchors: readonly PoolEntry[]): Error {
  const missing = decodeName(stuck.parsed.issuerNode).text;
  const of = decodeName(stuck.parsed.subjectNode).text;
  const held = anchors.map((a) => decodeName(a.parsed.subjectNode).text);
  const bundle = held.length
    ? `the trust bundle holds ${held.map((h) => JSON.stringify(h)).join(', ')}`
    : 'the trust bundle is empty';
  return chainError(
    'CERTLOOP_CHAIN_UNTRUSTED',
    `no path from the leaf to the trust bundle: no certificate of the issuer ${JSON.stringify(missing)} of ${JSON.stringify(of)} in the chain or the bundle (${bundle}); add that issuer's certificate to the chain, or its root to the trust bundle`,
    leaf,
    0,
    undefined,
    { missingIssuer: missing, of, trustBundleSubjects: held },
  );
}
