/**
 * Internal (`@certloop/core` x509): the certificate pool of one `validateChain` call and the checks it runs
 * on a complete path (RFC 5280 6.1 as a private PKI needs it, plus the EKU nesting browsers and Go apply).
 */
import { CertloopError, type CertloopErrorCode, isCertloopError } from '../errors.js';
import { bytesEqual, type ParsedCertificate } from './certificate.js';
import type { ParsedCrl } from './crl.js';
import type { CryptoEngine, EngineKey } from './crypto-engine.js';
import { type DecodedExtensions, decodeExtensions } from './extensions.js';
import { cachedPublicKey } from './issuer-key-cache.js';
import { keyWeakness } from './key-strength.js';
import { decodeName } from './name.js';
import {
  checkNameConstraints,
  constrainedNames,
  decodeNameConstraints,
  leafCnFallback,
  type NameConstraints,
  type TaggedName,
} from './name-constraints.js';
import { OID } from './oids.js';
import { verifySignature } from './signature.js';

/** One certificate of the call's pool: parsed once; extensions, key and signatures worked out at most once. */
export class PoolEntry {
  private decoded: DecodedExtensions | undefined;
  private constraints: NameConstraints | null | undefined;
  /** By `leaf` (0: as a CA on the path, 1: as the leaf): the leaf's CNs count too. */
  private readonly names: [TaggedName[]?, TaggedName[]?] = [];
  private readonly verdicts = new Map<PoolEntry, Promise<boolean>>();
  constructor(
    readonly parsed: ParsedCertificate,
    readonly anchor: boolean,
  ) {}

  get ext(): DecodedExtensions {
    this.decoded ??= decodeExtensions(this.parsed.extensions);
    return this.decoded;
  }

  get selfIssued(): boolean {
    return bytesEqual(this.parsed.issuerDer, this.parsed.subjectDer);
  }

  /** The nameConstraints this certificate imposes (critical or not), or undefined. */
  get nameConstraints(): NameConstraints | undefined {
    if (this.constraints === undefined) {
      const ext = this.parsed.extensions.find((e) => e.oid === OID.nameConstraints);
      this.constraints = ext ? decodeNameConstraints(ext.value) : null;
    }
    return this.constraints ?? undefined;
  }

  /** The names constraints apply to (see name-constraints.ts); `leaf` adds the CNs a TLS client could match. */
  constrainedNames(leaf: boolean): TaggedName[] {
    const index = leaf ? 1 : 0;
    let names = this.names[index];
    if (!names) {
      const san = this.parsed.extensions.find((e) => e.oid === OID.subjectAltName);
      names = constrainedNames(
        this.parsed.subjectNode,
        san?.value,
        leaf ? leafCnFallback(this.ext.extKeyUsage) : 'none',
      );
      this.names[index] = names;
    }
    return names;
  }

  /** The imported public key, shared across calls through the issuer-key cache. */
  publicKey(engine: CryptoEngine): Promise<EngineKey> {
    return cachedPublicKey(engine, this.parsed.spkiDer);
  }

  /** Whether `issuer`'s key signed this certificate (cached: several candidate paths may share a link). */
  signedBy(issuer: PoolEntry, engine: CryptoEngine): Promise<boolean> {
    let verdict = this.verdicts.get(issuer);
    if (!verdict) {
      verdict = issuer.publicKey(engine).then((publicKey) =>
        verifySignature({
          publicKey,
          algorithmDer: this.parsed.signatureAlgorithmDer,
          data: this.parsed.tbs,
          signature: this.parsed.signature,
          engine,
        }),
      );
      this.verdicts.set(issuer, verdict);
    }
    return verdict;
  }
}

/** A chain error naming the certificate: its index in the path (leaf 0), subject and serial. */
export function chainError(
  code: CertloopErrorCode,
  message: string,
  entry: PoolEntry,
  index: number,
  cause?: unknown,
  extra?: Readonly<Record<string, unknown>>,
): CertloopError {
  return new CertloopError(code, message, {
    ...(cause === undefined ? {} : { cause }),
    details: {
      index,
      subject: decodeName(entry.parsed.subjectNode).text,
      serialNumber: entry.parsed.serialNumber,
      ...extra,
    },
  });
}

export interface PathCheckOptions {
  /** Whole seconds: certificates and CRLs carry no finer time. */
  readonly at: Date;
  readonly usage: 'serverAuth' | 'clientAuth' | undefined;
  readonly engine: CryptoEngine;
  readonly minRsaBits: number;
  readonly crls: readonly ParsedCrl[];
  /** How long past its nextUpdate a CRL is still used, seconds. */
  readonly crlGraceSeconds: number;
}

/** Extensions OpenSSL refuses when marked critical although it knows them (RFC 5280 says they MUST NOT be). */
const NEVER_CRITICAL: ReadonlySet<string> = new Set([OID.authorityKeyIdentifier, OID.subjectKeyIdentifier]);

/**
 * Checks a complete path (leaf first, anchor last) certificate by certificate and throws the first failure. For
 * each certificate: unknown (or never-critical) critical extensions, validity at `at`, the key-size floor, a
 * non-CA asserting keyCertSign or cRLSign, the leaf's key usage and every certificate's EKU for `usage`, then the
 * signature by the next certificate and that issuer's CA flag, keyCertSign and pathLenConstraint. Then the name
 * constraints of every CA on the path, and the CRLs. The anchor's own signature is not checked: it is trusted by
 * being in the bundle.
 */
export async function checkPath(path: readonly PoolEntry[], options: PathCheckOptions): Promise<void> {
  const time = options.at.getTime();
  const usage = options.usage;
  for (let i = 0; i < path.length; i++) {
    const entry = path[i]!;
    const { parsed, ext } = entry;
    if (ext.unknownCritical.length > 0) {
      const oid = ext.unknownCritical[0];
      throw chainError('CERTLOOP_CHAIN_UNKNOWN_CRITICAL_EXTENSION', `unknown critical extension ${oid}`, entry, i);
    }
    const neverCritical = parsed.extensions.find((e) => e.critical && NEVER_CRITICAL.has(e.oid));
    if (neverCritical) {
      throw chainError(
        'CERTLOOP_CHAIN_UNKNOWN_CRITICAL_EXTENSION',
        `extension ${neverCritical.oid} must not be critical`,
        entry,
        i,
      );
    }
    if (parsed.notBefore.getTime() > time) {
      throw chainError('CERTLOOP_CHAIN_NOT_YET_VALID', 'certificate not yet valid', entry, i);
    }
    if (parsed.notAfter.getTime() < time) throw chainError('CERTLOOP_CHAIN_EXPIRED', 'certificate expired', entry, i);
    const weakness = keyWeakness(parsed.spkiDer, options.minRsaBits);
    if (weakness) throw chainError('CERTLOOP_CHAIN_WEAK_KEY', 'key below the floor', entry, i, undefined, weakness);
    if (!ext.basicConstraints?.ca && ext.keyUsage?.some((u) => u === 'keyCertSign' || u === 'cRLSign')) {
      throw chainError('CERTLOOP_CHAIN_KEY_USAGE', 'keyCertSign or cRLSign without CA:TRUE', entry, i);
    }
    if (usage && i === 0 && ext.keyUsage && !ext.keyUsage.includes('digitalSignature')) {
      throw chainError('CERTLOOP_CHAIN_KEY_USAGE', 'leaf key usage lacks digitalSignature', entry, i);
    }
    const eku = ext.extKeyUsage;
    if (usage && eku && !eku.includes(usage) && !eku.includes('anyExtendedKeyUsage')) {
      throw chainError('CERTLOOP_CHAIN_EXT_KEY_USAGE', `extended key usage excludes ${usage}`, entry, i);
    }
    const issuer = path[i + 1];
    if (!issuer) continue;
    await checkSignature(entry, issuer, i, options.engine);
    checkIssuer(path, i + 1);
  }
  checkPathNameConstraints(path);
  if (options.crls.length > 0) await checkRevocation(path, options);
}

/**
 * RFC 5280 6.1.3 (b), (c): every CA on the path (the anchor included, as OpenSSL and Go do) constrains the
 * names of every certificate below it, except self-issued intermediates.
 */
function checkPathNameConstraints(path: readonly PoolEntry[]): void {
  for (let k = 1; k < path.length; k++) {
    let constraints: NameConstraints | undefined;
    try {
      constraints = path[k]!.nameConstraints;
    } catch (err) {
      throw chainError('CERTLOOP_INVALID_DER', 'malformed nameConstraints', path[k]!, k, err);
    }
    if (!constraints) continue;
    for (let i = 0; i < k; i++) {
      const entry = path[i]!;
      if (i > 0 && entry.selfIssued) continue;
      let failure: ReturnType<typeof checkNameConstraints>;
      try {
        failure = checkNameConstraints(entry.constrainedNames(i === 0), constraints);
      } catch (err) {
        throw chainError('CERTLOOP_INVALID_DER', 'malformed names', entry, i, err);
      }
      if (failure) {
        throw chainError(failure.code, failure.message, entry, i, undefined, { ...failure.details, constrainedBy: k });
      }
    }
  }
}

/**
 * Each certificate whose issuer has published one of the given CRLs is checked against it; the leaf's issuer
 * must have one (as `openssl verify -crl_check` demands). A CRL counts as the issuer's when its issuer name is
 * the issuer's subject and its AKI (when both carry key identifiers) the issuer's SKI.
 */
async function checkRevocation(path: readonly PoolEntry[], options: PathCheckOptions): Promise<void> {
  const graceMs = options.crlGraceSeconds * 1000;
  const time = options.at.getTime();
  for (let i = 0; i + 1 < path.length; i++) {
    const entry = path[i]!;
    const issuer = path[i + 1]!;
    const ski = issuer.ext.subjectKeyId;
    const crls = options.crls.filter(
      (crl) =>
        bytesEqual(crl.issuerDer, issuer.parsed.subjectDer) &&
        (crl.authorityKeyId === undefined || ski === undefined || crl.authorityKeyId === ski),
    );
    if (crls.length === 0) {
      if (i === 0) throw chainError('CERTLOOP_CHAIN_CRL_ISSUER_MISMATCH', 'no CRL from the issuer', entry, i);
      continue;
    }
    if (issuer.ext.keyUsage && !issuer.ext.keyUsage.includes('cRLSign')) {
      throw chainError('CERTLOOP_CHAIN_CRL_ISSUER_MISMATCH', 'the CRL issuer lacks cRLSign', issuer, i + 1);
    }
    for (const crl of crls) {
      if (crl.unknownCritical.length > 0) {
        throw chainError(
          'CERTLOOP_CHAIN_UNKNOWN_CRITICAL_EXTENSION',
          'CRL with an unknown critical extension',
          issuer,
          i + 1,
          undefined,
          {
            oid: crl.unknownCritical[0],
          },
        );
      }
      let valid: boolean;
      try {
        valid = await crlSignedBy(crl, await issuer.publicKey(options.engine), options.engine);
      } catch (err) {
        throw chainError(
          'CERTLOOP_CHAIN_CRL_SIGNATURE_INVALID',
          'CRL signature could not be checked',
          issuer,
          i + 1,
          err,
        );
      }
      if (!valid) {
        throw chainError('CERTLOOP_CHAIN_CRL_SIGNATURE_INVALID', 'CRL signature does not verify', issuer, i + 1);
      }
      if (crl.thisUpdate.getTime() > time) {
        throw chainError('CERTLOOP_CHAIN_CRL_EXPIRED', 'CRL not yet valid', issuer, i + 1, undefined, {
          thisUpdate: crl.thisUpdate.toISOString(),
        });
      }
      if (crl.nextUpdate && crl.nextUpdate.getTime() + graceMs < time) {
        throw chainError('CERTLOOP_CHAIN_CRL_EXPIRED', 'CRL past its nextUpdate', issuer, i + 1, undefined, {
          nextUpdate: crl.nextUpdate.toISOString(),
        });
      }
      const revoked = crl.revoked.get(entry.parsed.serialNumber);
      if (revoked) {
        throw chainError('CERTLOOP_CHAIN_REVOKED', 'certificate revoked', entry, i, undefined, {
          revokedAt: revoked.revokedAt.toISOString(),
          ...(revoked.reason ? { reason: revoked.reason } : {}),
        });
      }
    }
  }
}

async function checkSignature(child: PoolEntry, issuer: PoolEntry, index: number, engine: CryptoEngine) {
  let valid: boolean;
  try {
    valid = await child.signedBy(issuer, engine);
  } catch (err) {
    // An unsupported algorithm or an issuer key that cannot be imported: keep the code, say where.
    const code = isCertloopError(err) ? err.code : 'CERTLOOP_CHAIN_SIGNATURE_INVALID';
    throw chainError(code, 'signature could not be checked', child, index, err);
  }
  if (!valid) throw chainError('CERTLOOP_CHAIN_SIGNATURE_INVALID', 'signature does not verify', child, index);
}

/** CA flag, keyCertSign and pathLenConstraint of the certificate at `index`, which issued the one below it. */
function checkIssuer(path: readonly PoolEntry[], index: number): void {
  const issuer = path[index]!;
  const { basicConstraints, keyUsage } = issuer.ext;
  if (!basicConstraints?.ca) throw chainError('CERTLOOP_CHAIN_ISSUER_NOT_CA', 'issuer is not a CA', issuer, index);
  if (keyUsage && !keyUsage.includes('keyCertSign')) {
    throw chainError('CERTLOOP_CHAIN_KEY_USAGE', 'issuer key usage lacks keyCertSign', issuer, index);
  }
  const limit = basicConstraints.pathLength;
  if (limit === undefined) return;
  // RFC 5280 4.2.1.9: count the non-self-issued intermediates below this CA; the leaf is not counted.
  let below = 0;
  for (let k = 1; k < index; k++) if (!path[k]!.selfIssued) below++;
  if (below > limit) {
    throw chainError('CERTLOOP_CHAIN_PATH_LENGTH_EXCEEDED', `pathLenConstraint ${limit} exceeded`, issuer, index);
  }
}

// A CRL's signature verdict per issuer key: parsed CRLs and imported keys are both cached, so is this.
const crlVerdicts = new WeakMap<ParsedCrl, Map<EngineKey, Promise<boolean>>>();

function crlSignedBy(crl: ParsedCrl, publicKey: EngineKey, engine: CryptoEngine): Promise<boolean> {
  let verdicts = crlVerdicts.get(crl);
  if (!verdicts) {
    verdicts = new Map();
    crlVerdicts.set(crl, verdicts);
  }
  let verdict = verdicts.get(publicKey);
  if (!verdict) {
    verdict = verifySignature({
      publicKey,
      algorithmDer: crl.signatureAlgorithmDer,
      data: crl.tbs,
      signature: crl.signature,
      engine,
    });
    verdicts.set(publicKey, verdict);
    verdict.catch(() => verdicts.delete(publicKey));
  }
  return verdict;
}
