/**
 * Internal test support (`@certloop/core` x509 fuzz, never exported): signs a (mutated) TBSCertificate or
 * CertificationRequestInfo again, so that a mutation is judged by the parser and not just by a broken signature.
 */
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { type EditNode, encodeTree, parseTree } from './der-edit.js';

const ALGORITHMS: Readonly<Record<string, { hash: string | null; algorithmDer: string }>> = {
  // ecdsa-with-SHA256 / SHA384, sha256WithRSAEncryption (+ NULL), Ed25519
  'ec:prime256v1': { hash: 'sha256', algorithmDer: '300a06082a8648ce3d040302' },
  'ec:secp384r1': { hash: 'sha384', algorithmDer: '300a06082a8648ce3d040303' },
  'ec:secp521r1': { hash: 'sha512', algorithmDer: '300a06082a8648ce3d040304' },
  rsa: { hash: 'sha256', algorithmDer: '300d06092a864886f70d01010b0500' },
  ed25519: { hash: null, algorithmDer: '300506032b6570' },
  ed448: { hash: null, algorithmDer: '300506032b6571' },
  // RSA-PSS parameters vary: signing with such a key needs the identifier given (see signWrapped).
  'rsa-pss': { hash: 'sha256', algorithmDer: '300b06092a864886f70d01010a' },
};

/** Digest by signature algorithm OID (content hex), for signing under a given identifier. */
const HASH_BY_OID: Readonly<Record<string, string | null>> = {
  '2a8648ce3d040302': 'sha256',
  '2a8648ce3d040303': 'sha384',
  '2a8648ce3d040304': 'sha512',
  '2a864886f70d01010b': 'sha256',
  '2a864886f70d01010c': 'sha384',
  '2a864886f70d01010d': 'sha512',
  '2a864886f70d010105': 'sha1',
  '2b6570': null,
  '2b6571': null,
};

function hashForIdentifier(algorithmDer: Uint8Array): string | null | undefined {
  try {
    const oid = parseTree(algorithmDer).children?.[0]?.content;
    return oid ? HASH_BY_OID[Buffer.from(oid).toString('hex')] : undefined;
  } catch {
    return undefined;
  }
}

function algorithmFor(key: KeyObject) {
  const type = key.asymmetricKeyType!;
  const name = type === 'ec' ? `ec:${key.asymmetricKeyDetails?.namedCurve}` : type;
  // Other curves (secp256k1) sign as ecdsa-with-SHA256.
  const found = ALGORITHMS[name] ?? (type === 'ec' ? ALGORITHMS['ec:prime256v1'] : undefined);
  if (!found) throw new Error(`no signing algorithm for ${name}`);
  return found;
}

/** The AlgorithmIdentifier DER this key signs with here (matches what certloop writes). */
export function algorithmDerFor(keyPem: string | KeyObject): Uint8Array {
  const key = typeof keyPem === 'string' ? createPrivateKey(keyPem) : keyPem;
  return new Uint8Array(Buffer.from(algorithmFor(key).algorithmDer, 'hex'));
}

/**
 * Wraps `signedDer` (the to-be-signed part, already encoded) into SEQUENCE { signed, algorithm, BIT STRING sig }.
 * The algorithm is the key's; a TBSCertificate whose inner algorithm differs fails certloop's equality check,
 * which is a refusal the suite expects.
 */
export function signWrapped(signedDer: Uint8Array, keyPem: string | KeyObject, identifier?: Uint8Array): Uint8Array {
  const key = typeof keyPem === 'string' ? createPrivateKey(keyPem) : keyPem;
  const own = algorithmFor(key);
  // Under a given identifier (a certificate's inner one, perhaps mutated), sign with its digest when it fits the
  // key, else with the key's own: inner and outer identifiers then still match and the parser is what is judged.
  const named = identifier ? hashForIdentifier(identifier) : undefined;
  const hash = named !== undefined && (named === null) === (own.hash === null) ? named : own.hash;
  const algorithmDer = identifier ? Buffer.from(identifier).toString('hex') : own.algorithmDer;
  let signature: Buffer;
  try {
    signature = sign(hash, signedDer, key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'der' } : key);
  } catch {
    signature = Buffer.alloc(64, 1);
  }
  // The signed bytes go in exactly as given (an opaque element), so BER written on purpose stays BER.
  const outer: EditNode = {
    tag: 0x30,
    children: [
      { tag: signedDer[0]!, content: new Uint8Array(0), raw: signedDer },
      { tag: 0x30, content: new Uint8Array(0), raw: new Uint8Array(Buffer.from(algorithmDer, 'hex')) },
      { tag: 0x03, content: new Uint8Array([0, ...signature]) },
    ],
  };
  return encodeTree(outer);
}

/** The first element of a signed structure (TBSCertificate or CertificationRequestInfo), as a tree. */
export function signedPart(der: Uint8Array): EditNode {
  return parseTree(der).children![0]!;
}
