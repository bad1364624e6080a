/**
 * Internal (`@certloop/core` x509): the certificate pool of one `validateChain` call and the checks it runs
 * on a complete path (RFC 5280 6.1 as a private PKI needs it, plus the EKU nesting browsers and Go apply).
 */
import { CertloopError, type CertloopErrorCode, isCertloopError } from '../errors.js';
import { bytesEqual, type ParsedCertificate } from './certificate.js';
import type { CryptoEngine, EngineKey } from './crypto-engine.js';
import { type DecodedExtensions, decodeExtensions } from './extensions.js';
import { decodeName } from './name.js';
import { verifySignature } from './signature.js';
import { describePublicKey } from './spki.js';

/** One certificate of the call's pool: parsed once; extensions, key and signatures worked out at most once. */
export class PoolEntry {
  private decoded: DecodedExtensions | undefined;
  private key: Promise<EngineKey> | undefined;
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

  publicKey(engine: CryptoEngine): Promise<EngineKey> {
    this.key ??= Promise.resolve().then(() =>
      engine.importPublicKey(this.parsed.spkiDer, describePublicKey(this.parsed.spkiDer)),
    );
    return this.key;
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
): CertloopError {
  return new CertloopError(code, message, {
    ...(cause === undefined ? {} : { cause }),
    details: { index, subject: decodeName(entry.parsed.subjectNode).text, serialNumber: entry.parsed.serialNumber },
  });
}

export interface PathCheckOptions {
  readonly at: Date;
  readonly usage: 'serverAuth' | 'clientAuth' | undefined;
  readonly engine: CryptoEngine;
}

/**
 * Checks a complete path (leaf first, anchor last) certificate by certificate and throws the first failure. For
 * each certificate: unknown critical extensions, validity at `at`, the leaf's key usage and every certificate's
 * EKU for `usage`, then the signature by the next certificate and that issuer's CA flag, keyCertSign and
 * pathLenConstraint. The anchor's own signature is not checked: it is trusted by being in the bundle.
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
    if (parsed.notBefore.getTime() > time) {
      throw chainError('CERTLOOP_CHAIN_NOT_YET_VALID', 'certificate not yet valid', entry, i);
    }
    if (parsed.notAfter.getTime() < time) throw chainError('CERTLOOP_CHAIN_EXPIRED', 'certificate expired', entry, i);
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
