/**
 * Internal test support (`@certloop/core` x509 fuzz, never exported): small certificates and CSRs to break on
 * purpose, each edited as a tree and signed again with its own key.
 */
import { expect } from 'vitest';
import { createCsr } from '../csr.js';
import { inspectCertificate } from '../inspect.js';
import { generateKeyPair } from '../keys.js';
import { pemDecode, pemEncode } from '../pem.js';
import { createSelfSignedCa } from '../self-signed.js';
import type { KeyAlgorithm } from '../types.js';
import { cloneTree, type EditNode, encodeTree } from './der-edit.js';
import { signedPart, signWrapped } from './resign.js';

export interface SignedFixture {
  readonly der: Uint8Array;
  readonly keyPem: string;
  /** The signed part (TBSCertificate or CertificationRequestInfo) as an editable tree. */
  readonly signed: EditNode;
}

/** A certloop self-signed CA certificate (CN, O, SKI/AKI, basicConstraints critical, keyUsage critical). */
export async function selfSignedFixture(algorithm: KeyAlgorithm = 'ECDSA-P256'): Promise<SignedFixture> {
  const key = await generateKeyPair({ algorithm });
  const ca = await createSelfSignedCa({
    privateKeyPem: key.privateKeyPem,
    subject: { commonName: 'fuzz root', organization: 'certloop' },
    lifetimeSeconds: 30 * 86_400,
  });
  const der = pemDecode(ca.certificatePem).der;
  return { der, keyPem: key.privateKeyPem, signed: signedPart(der) };
}

/** A CSR with CN, DNS, IP, URI and e-mail SANs. */
export async function csrFixture(algorithm: KeyAlgorithm = 'ECDSA-P256'): Promise<SignedFixture> {
  const key = await generateKeyPair({ algorithm });
  const { csrDer } = await createCsr({
    privateKeyPem: key.privateKeyPem,
    subject: { commonName: 'agent-1', organization: 'certloop' },
    dnsNames: ['agent-1.example.test'],
    ipAddresses: ['10.0.0.1'],
    uris: ['spiffe://certloop.test/agent-1'],
    emails: ['agent-1@example.test'],
  });
  return { der: csrDer, keyPem: key.privateKeyPem, signed: signedPart(csrDer) };
}

/** Edits a copy of the signed part and signs it again: the DER of the result. */
export function resigned(fixture: SignedFixture, edit: (signed: EditNode) => void): Uint8Array {
  const copy = cloneTree(fixture.signed);
  edit(copy);
  return signWrapped(encodeTree(copy), fixture.keyPem);
}

export const certificatePem = (der: Uint8Array) => pemEncode('CERTIFICATE', der);
export const csrPem = (der: Uint8Array) => pemEncode('CERTIFICATE REQUEST', der);
export const bytes = (...values: number[]) => new Uint8Array(values);
export const ascii = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));

/** An expectation for a CertloopError with `code` (and `details.reason` when given). */
export const refused = (code: string, reason?: string) =>
  expect.objectContaining(reason ? { code, details: expect.objectContaining({ reason }) } : { code });

/** OID contents (no tag or length) the regression tests look for. */
export const OIDS = {
  basicConstraints: bytes(0x55, 0x1d, 0x13),
  keyUsage: bytes(0x55, 0x1d, 0x0f),
  commonName: bytes(0x55, 0x04, 0x03),
};

/** TBSCertificate fields of a certloop certificate, by position. */
export const F = { version: 0, serial: 1, signature: 2, issuer: 3, validity: 4, subject: 5, spki: 6, extensions: 7 };

export const same = (a: Uint8Array | undefined, b: Uint8Array) => !!a && Buffer.from(a).equals(Buffer.from(b));

/** The Extension with this OID. */
export function extension(tbs: EditNode, oid: Uint8Array): EditNode {
  const list = tbs.children![F.extensions]!.children![0]!;
  const found = list.children!.find((ext) => same(ext.children![0]!.content, oid));
  if (!found) throw new Error('extension not found');
  return found;
}

/** The decoded value inside an Extension's extnValue. */
export function extensionValue(ext: EditNode): EditNode {
  return ext.children![ext.children!.length - 1]!.children![0]!;
}

/** Appends an Extension. */
export function addExtension(tbs: EditNode, ext: EditNode): void {
  tbs.children![F.extensions]!.children![0]!.children!.push(ext);
}

/** The CN attribute's value node of the subject. */
export function subjectCn(tbs: EditNode): EditNode {
  for (const rdn of tbs.children![F.subject]!.children!) {
    const atv = rdn.children![0]!;
    if (same(atv.children![0]!.content, OIDS.commonName)) return atv.children![1]!;
  }
  throw new Error('no CN');
}

/** inspectCertificate on the DER, given as PEM. */
export const inspect = (der: Uint8Array) => inspectCertificate(certificatePem(der));
