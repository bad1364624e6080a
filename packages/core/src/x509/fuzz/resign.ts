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
};

function algorithmFor(key: KeyObject) {
  const type = key.asymmetricKeyType!;
  const name = type === 'ec' ? `ec:${key.asymmetricKeyDetails?.namedCurve}` : type;
  const found = ALGORITHMS[name];
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
export function signWrapped(signedDer: Uint8Array, keyPem: string | KeyObject): Uint8Array {
  const key = typeof keyPem === 'string' ? createPrivateKey(keyPem) : keyPem;
  const { hash, algorithmDer } = algorithmFor(key);
  const signature = sign(hash, signedDer, key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'der' } : key);
  // The signed bytes go in exactly as given (an opaque element), so BER written on purpose stays BER.
  const outer: EditNode = {
    tag: 0x30,
    children: [
      { tag: signedDer[0]!, content: new Uint8Array(0), raw: signedDer },
      parseTree(new Uint8Array(Buffer.from(algorithmDer, 'hex'))),
      { tag: 0x03, content: new Uint8Array([0, ...signature]) },
    ],
  };
  return encodeTree(outer);
}

/** The first element of a signed structure (TBSCertificate or CertificationRequestInfo), as a tree. */
export function signedPart(der: Uint8Array): EditNode {
  return parseTree(der).children![0]!;
}
