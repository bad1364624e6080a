/**
 * `@certloop/core` validateChain: does a leaf chain up to a root of the trust bundle, at a given time, for a
 * given use? certloop's own path validation (RFC 5280 6.1, the parts a private PKI needs), no pkijs.
 *
 * Paths are built from the leaf by issuer name (and AKI/SKI when both are present), trust anchors first, then
 * intermediates; signatures are not used to pick issuers, so a bad signature is reported as such rather than as
 * "untrusted". Each complete path is then checked certificate by certificate, leaf first; the first path that
 * passes wins, and when none does the first failure of the first complete path is thrown. Every certificate is
 * parsed once and every issuer key imported once per call.
 */
import type { Clock } from '../clock/clock.js';
import { systemClock } from '../clock/clock.js';
import { CertloopError, type CertloopErrorCode, isCertloopError } from '../errors.js';
import { bytesEqual, type ParsedCertificate, parseCertificate } from './certificate.js';
import type { CryptoEngine, EngineKey } from './crypto-engine.js';
import { nodeCryptoEngine } from './crypto-engine.js';
import { type DecodedExtensions, decodeExtensions } from './extensions.js';
import { describeCertificate, type InspectedCertificate } from './inspect.js';
import { decodeName } from './name.js';
import { splitCertificates } from './pem.js';
import { verifySignature } from './signature.js';
import { describePublicKey } from './spki.js';

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
  /** Most certificates in a path, leaf and anchor included. Default 8. */
  readonly maxChainLength?: number;
  readonly engine?: CryptoEngine;
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

/** One certificate of the call's pool: parsed once, extensions and key decoded at most once. */
class PoolEntry {
  private decoded: DecodedExtensions | undefined;
  private key: Promise<EngineKey> | undefined;
  constructor(
    readonly parsed: ParsedCertificate,
    readonly anchor: boolean,
  ) {}
  get ext(): DecodedExtensions {
    this.decoded ??= decodeExtensions(this.parsed.extensions);
    return this.decoded;
  }
  publicKey(engine: CryptoEngine): Promise<EngineKey> {
    this.key ??= Promise.resolve().then(() =>
      engine.importPublicKey(this.parsed.spkiDer, describePublicKey(this.parsed.spkiDer)),
    );
    return this.key;
  }
  get selfIssued(): boolean {
    return bytesEqual(this.parsed.issuerDer, this.parsed.subjectDer);
  }
}

const nameKey = (name: Uint8Array) => Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1');

function chainError(code: CertloopErrorCode, message: string, entry: PoolEntry, index: number, cause?: unknown) {
  return new CertloopError(code, message, {
    ...(cause === undefined ? {} : { cause }),
    details: {
      index,
      subject: decodeName(entry.parsed.subjectNode).text,
      serialNumber: entry.parsed.serialNumber,
    },
  });
}

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
  const at = options.at ?? (options.clock ?? systemClock).now();
  const engine = options.engine ?? nodeCryptoEngine;
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
  const anchorDer = new Set<string>();
  for (const entry of [...anchors, ...intermediates]) {
    const derKey = nameKey(entry.parsed.der);
    if (!entry.anchor && anchorDer.has(derKey)) continue;
    if (entry.anchor) anchorDer.add(derKey);
    const key = nameKey(entry.parsed.subjectDer);
    const list = bySubject.get(key);
    if (list) list.push(entry);
    else bySubject.set(key, [entry]);
  }
  const isAnchor = (entry: PoolEntry) => entry.anchor || anchorDer.has(nameKey(entry.parsed.der));

  const issuersOf = (child: PoolEntry): PoolEntry[] => {
    const found = bySubject.get(nameKey(child.parsed.issuerDer)) ?? [];
    const aki = child.ext.authorityKeyId;
    if (aki === undefined) return found;
    // A candidate whose SKI differs from the child's AKI holds another key: skip it; exact matches go first.
    const exact = found.filter((c) => c.ext.subjectKeyId === aki);
    return [...exact, ...found.filter((c) => c.ext.subjectKeyId === undefined)];
  };

  const checks = new PathChecks(at, usage, engine);
  let firstFailure: unknown;
  let tooLong = false;
  let steps = 0;
  let complete = 0;
  const path: PoolEntry[] = [leaf!];

  const search = async (): Promise<PoolEntry[] | undefined> => {
    if (++steps > MAX_SEARCH_STEPS || complete >= MAX_COMPLETE_PATHS) return undefined;
    const current = path[path.length - 1]!;
    if (isAnchor(current)) {
      complete++;
      try {
        await checks.run(path);
        return [...path];
      } catch (err) {
        firstFailure ??= err;
        return undefined;
      }
    }
    if (path.length >= maxLength) {
      tooLong = true;
      return undefined;
    }
    for (const candidate of issuersOf(current)) {
      if (path.includes(candidate)) continue;
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
    throw chainError('CERTLOOP_CHAIN_UNTRUSTED', 'no path from the leaf to the trust bundle', leaf!, 0);
  }
  const chain = found.map((entry) => describeCertificate(entry.parsed, entry.ext));
  return { chain, anchor: chain[chain.length - 1]! };
}

/** The per-certificate checks of one complete path, leaf first; signatures cached across paths. */
class PathChecks {
  private readonly signatures = new Map<string, Promise<boolean>>();
  private readonly ids = new Map<PoolEntry, number>();
  constructor(
    private readonly at: Date,
    private readonly usage: 'serverAuth' | 'clientAuth' | undefined,
    private readonly engine: CryptoEngine,
  ) {}

  async run(path: readonly PoolEntry[]): Promise<void> {
    const time = this.at.getTime();
    for (let i = 0; i < path.length; i++) {
      const entry = path[i]!;
      const { parsed, ext } = entry;
      if (ext.unknownCritical.length > 0) {
        throw chainError(
          'CERTLOOP_CHAIN_UNKNOWN_CRITICAL_EXTENSION',
          `unknown critical extension ${ext.unknownCritical[0]}`,
          entry,
          i,
        );
      }
      if (parsed.notBefore.getTime() > time)
        throw chainError('CERTLOOP_CHAIN_NOT_YET_VALID', 'certificate not yet valid', entry, i);
      if (parsed.notAfter.getTime() < time) throw chainError('CERTLOOP_CHAIN_EXPIRED', 'certificate expired', entry, i);
      if (i === 0 && this.usage) {
        if (ext.keyUsage && !ext.keyUsage.includes('digitalSignature')) {
          throw chainError('CERTLOOP_CHAIN_KEY_USAGE', 'leaf key usage lacks digitalSignature', entry, i);
        }
      }
      if (
        this.usage &&
        ext.extKeyUsage &&
        !ext.extKeyUsage.includes(this.usage) &&
        !ext.extKeyUsage.includes('anyExtendedKeyUsage')
      ) {
        throw chainError('CERTLOOP_CHAIN_EXT_KEY_USAGE', `extended key usage excludes ${this.usage}`, entry, i);
      }
      const issuer = path[i + 1];
      if (!issuer) continue;
      await this.checkSignature(entry, issuer, i);
      this.checkIssuer(path, i + 1);
    }
  }

  private async checkSignature(child: PoolEntry, issuer: PoolEntry, index: number): Promise<void> {
    const key = `${this.id(child)}:${this.id(issuer)}`;
    let pending = this.signatures.get(key);
    if (!pending) {
      pending = issuer.publicKey(this.engine).then((publicKey) =>
        verifySignature({
          publicKey,
          algorithmDer: child.parsed.signatureAlgorithmDer,
          data: child.parsed.tbs,
          signature: child.parsed.signature,
          engine: this.engine,
        }),
      );
      this.signatures.set(key, pending);
    }
    let valid: boolean;
    try {
      valid = await pending;
    } catch (err) {
      // An unsupported algorithm or an issuer key that cannot be imported: keep the code, say where.
      const code = isCertloopError(err) ? err.code : 'CERTLOOP_CHAIN_SIGNATURE_INVALID';
      throw chainError(code, 'signature could not be checked', child, index, err);
    }
    if (!valid) throw chainError('CERTLOOP_CHAIN_SIGNATURE_INVALID', 'signature does not verify', child, index);
  }

  /** CA, keyCertSign and pathLenConstraint of the certificate at `index`, which issued the one below it. */
  private checkIssuer(path: readonly PoolEntry[], index: number): void {
    const issuer = path[index]!;
    const { basicConstraints, keyUsage } = issuer.ext;
    if (!basicConstraints?.ca) throw chainError('CERTLOOP_CHAIN_ISSUER_NOT_CA', 'issuer is not a CA', issuer, index);
    if (keyUsage && !keyUsage.includes('keyCertSign')) {
      throw chainError('CERTLOOP_CHAIN_KEY_USAGE', 'issuer key usage lacks keyCertSign', issuer, index);
    }
    if (basicConstraints.pathLength !== undefined) {
      // RFC 5280 4.2.1.9: non-self-issued intermediates below this CA, the leaf not counted.
      let below = 0;
      for (let k = 1; k < index; k++) if (!path[k]!.selfIssued) below++;
      if (below > basicConstraints.pathLength) {
        throw chainError(
          'CERTLOOP_CHAIN_PATH_LENGTH_EXCEEDED',
          `pathLenConstraint ${basicConstraints.pathLength} exceeded`,
          issuer,
          index,
        );
      }
    }
  }

  private id(entry: PoolEntry): number {
    let id = this.ids.get(entry);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(entry, id);
    }
    return id;
  }
}
