/**
 * `@certloop/vault-signer` internal: the few DER fields the signer's per-answer fast path needs, read without a full
 * parse: a certificate's TBS bytes, signature algorithm and value, its SubjectPublicKeyInfo, and a CSR's. Inputs were
 * already parsed strictly by core (the CSR before the call, the certificate by `inspectCertificate`); anything
 * unexpected here throws, and the caller falls back to core's full validation.
 */

interface Tlv {
  readonly tag: number;
  /** Offset of the whole TLV. */
  readonly offset: number;
  /** Offset of the contents. */
  readonly start: number;
  readonly end: number;
}

function readTlv(der: Uint8Array, offset: number): Tlv {
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
    start += count;
  }
  const end = start + length;
  if (end > der.length) throw new Error('truncated DER');
  return { tag, offset, start, end };
}

function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const tlv = readTlv(der, at);
    out.push(tlv);
    at = tlv.end;
  }
  return out;
}

const bytes = (der: Uint8Array, tlv: Tlv) => der.subarray(tlv.offset, tlv.end);

export interface CertificateParts {
  readonly tbs: Uint8Array;
  /** The signature algorithm's OID content, hex. */
  readonly signatureOid: string;
  readonly signature: Uint8Array;
  readonly spki: Uint8Array;
}

/** TBS, signature algorithm and value, and SPKI of a DER certificate. */
export function certificateParts(der: Uint8Array): CertificateParts {
  const [tbs, algorithm, value] = children(der, readTlv(der, 0));
  if (!tbs || !algorithm || !value || value.tag !== 0x03) throw new Error('not a certificate');
  const oid = children(der, algorithm)[0]!;
  const fields = children(der, tbs);
  const skip = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  const spki = fields[skip + 5];
  if (spki?.tag !== 0x30) throw new Error('no SubjectPublicKeyInfo');
  return {
    tbs: bytes(der, tbs),
    signatureOid: Buffer.from(der.subarray(oid.start, oid.end)).toString('hex'),
    signature: der.subarray(value.start + 1, value.end), // after the unused-bits byte
    spki: bytes(der, spki),
  };
}

/** The SubjectPublicKeyInfo of a DER PKCS#10 request. */
export function csrSpki(der: Uint8Array): Uint8Array {
  const [info] = children(der, readTlv(der, 0));
  const spki = info ? children(der, info)[2] : undefined;
  if (spki?.tag !== 0x30) throw new Error('no SubjectPublicKeyInfo');
  return bytes(der, spki);
}

/** Node's digest name for a signature OID, `null` for Ed25519, undefined when the fast path does not handle it. */
export function digestOf(signatureOid: string): string | null | undefined {
  switch (signatureOid) {
    case '2a8648ce3d040302':
    case '2a864886f70d01010b':
      return 'sha256';
    case '2a8648ce3d040303':
    case '2a864886f70d01010c':
      return 'sha384';
    case '2a8648ce3d040304':
    case '2a864886f70d01010d':
      return 'sha512';
    case '2b6570':
      return null;
    default:
      return undefined;
  }
}
