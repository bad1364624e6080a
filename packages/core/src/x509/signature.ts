/**
 * `@certloop/core` X.509 signatures: AlgorithmIdentifiers, and signing and verifying through a {@link CryptoEngine}.
 *
 * certloop signs with ecdsa-with-SHA256 (P-256), ecdsa-with-SHA384 (P-384), sha256WithRSAEncryption (RSA) and
 * Ed25519; it verifies those plus the SHA-1/384/512 variants others still issue.
 */
import { CertloopError } from '../errors.js';
import { type CryptoEngine, type EngineKey, type HashName, nodeCryptoEngine } from './crypto-engine.js';
import { children, type DerNode, expectTag, nullValue, oid, parseDer, readOid, seq, Tag, whole } from './der.js';
import { OID } from './oids.js';
import { describePublicKey } from './spki.js';
import type { PublicKeyInfo } from './types.js';

export interface SignatureAlgorithm {
  /** OpenSSL-style name, e.g. `ecdsa-with-SHA256`. */
  readonly name: string;
  readonly oid: string;
  readonly keyType: PublicKeyInfo['type'];
  readonly hash?: HashName;
  /** The AlgorithmIdentifier SEQUENCE, DER (RSA with its NULL parameters, ECDSA and Ed25519 without). */
  readonly der: Uint8Array;
}

function algorithm(name: string, dotted: string, keyType: PublicKeyInfo['type'], hash?: HashName): SignatureAlgorithm {
  const der = keyType === 'RSA' ? seq(oid(dotted), nullValue()) : seq(oid(dotted));
  return { name, oid: dotted, keyType, ...(hash ? { hash } : {}), der };
}

const SHA1_WITH_RSA = '1.2.840.113549.1.1.5';

const KNOWN: readonly SignatureAlgorithm[] = [
  algorithm('ecdsa-with-SHA256', OID.ecdsaWithSHA256, 'ECDSA', 'SHA-256'),
  algorithm('ecdsa-with-SHA384', OID.ecdsaWithSHA384, 'ECDSA', 'SHA-384'),
  algorithm('ecdsa-with-SHA512', OID.ecdsaWithSHA512, 'ECDSA', 'SHA-512'),
  algorithm('sha256WithRSAEncryption', OID.sha256WithRSAEncryption, 'RSA', 'SHA-256'),
  algorithm('sha384WithRSAEncryption', OID.sha384WithRSAEncryption, 'RSA', 'SHA-384'),
  algorithm('sha512WithRSAEncryption', OID.sha512WithRSAEncryption, 'RSA', 'SHA-512'),
  algorithm('sha1WithRSAEncryption', SHA1_WITH_RSA, 'RSA', 'SHA-1'),
  algorithm('ED25519', OID.ed25519, 'Ed25519'),
];

const BY_OID = new Map(KNOWN.map((a) => [a.oid, a]));

/** The algorithm certloop signs with for a key of this kind. */
export function signatureAlgorithmForKey(info: PublicKeyInfo): SignatureAlgorithm {
  switch (info.type) {
    case 'ECDSA':
      return BY_OID.get(
        info.curve === 'P-521'
          ? OID.ecdsaWithSHA512
          : info.curve === 'P-384'
            ? OID.ecdsaWithSHA384
            : OID.ecdsaWithSHA256,
      )!;
    case 'RSA':
      return BY_OID.get(OID.sha256WithRSAEncryption)!;
    case 'Ed25519':
      return BY_OID.get(OID.ed25519)!;
  }
}

/**
 * Reads an AlgorithmIdentifier (node or DER). Throws `CERTLOOP_UNSUPPORTED_ALGORITHM` for algorithms certloop
 * does not verify (RSA-PSS among them) and `CERTLOOP_INVALID_DER` when malformed.
 */
export function decodeSignatureAlgorithm(algorithmIdentifier: DerNode | Uint8Array): SignatureAlgorithm {
  const node = algorithmIdentifier instanceof Uint8Array ? parseDer(algorithmIdentifier) : algorithmIdentifier;
  const fields = children(expectTag(node, Tag.SEQUENCE, 'AlgorithmIdentifier'));
  const [oidNode, parameters] = fields;
  const dotted = readOid(oidNode!);
  const known = BY_OID.get(dotted);
  if (!known) {
    throw new CertloopError('CERTLOOP_UNSUPPORTED_ALGORITHM', `unsupported signature algorithm ${dotted}`, {
      details: { algorithm: dotted },
    });
  }
  // ECDSA and Ed25519 identifiers carry no parameters; RSA's carry NULL (absent is tolerated, as openssl does).
  const isNull = parameters?.tag === Tag.NULL && parameters.end === parameters.contentStart;
  if (fields.length > 2 || (parameters && !(known.keyType === 'RSA' && isNull))) {
    throw new CertloopError('CERTLOOP_INVALID_DER', `malformed DER: unexpected parameters for ${known.name}`);
  }
  return known;
}

export interface VerifySignatureRequest {
  /** The signer's SubjectPublicKeyInfo, DER (ignored when `publicKey` is given). */
  readonly spkiDer?: Uint8Array;
  /** A key already imported into `engine` (saves re-importing an issuer's key for every check). */
  readonly publicKey?: EngineKey;
  /** The AlgorithmIdentifier SEQUENCE, DER or node. */
  readonly algorithmDer: Uint8Array | DerNode;
  readonly data: Uint8Array;
  /** The signature as X.509 carries it (the BIT STRING's bytes). */
  readonly signature: Uint8Array;
  readonly engine?: CryptoEngine;
}

/**
 * True when `signature` over `data` verifies with the key. False for a wrong or malformed signature and for an
 * algorithm that does not fit the key's type; throws `CERTLOOP_UNSUPPORTED_ALGORITHM` for an unknown algorithm
 * or key, `CERTLOOP_INVALID_DER`/`CERTLOOP_INVALID_KEY` for a malformed identifier or key.
 */
export async function verifySignature(request: VerifySignatureRequest): Promise<boolean> {
  const engine = request.engine ?? nodeCryptoEngine;
  const alg = decodeSignatureAlgorithm(request.algorithmDer);
  let key = request.publicKey;
  if (!key) {
    if (!request.spkiDer) throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'spkiDer or publicKey is required');
    key = await engine.importPublicKey(request.spkiDer, describePublicKey(request.spkiDer));
  }
  if (key.info.type !== alg.keyType) return false;
  return engine.verify({
    key,
    ...(alg.hash ? { hash: alg.hash } : {}),
    data: request.data,
    signature: request.signature,
  });
}

export interface SignDataRequest {
  /** A private key imported into `engine`. */
  readonly key: EngineKey;
  readonly data: Uint8Array;
  readonly engine?: CryptoEngine;
}

/** Signs `data` with the algorithm that fits the key; gives the signature in X.509 form and the identifier. */
export async function signData(
  request: SignDataRequest,
): Promise<{ signature: Uint8Array; algorithm: SignatureAlgorithm }> {
  const engine = request.engine ?? nodeCryptoEngine;
  const alg = signatureAlgorithmForKey(request.key.info);
  const signature = await engine.sign({
    key: request.key,
    ...(alg.hash ? { hash: alg.hash } : {}),
    data: request.data,
  });
  return { signature, algorithm: alg };
}

/** The identifier's DER, whether given as bytes or a node. */
export function algorithmIdentifierDer(value: Uint8Array | DerNode): Uint8Array {
  return value instanceof Uint8Array ? value : whole(value);
}
