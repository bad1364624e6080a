/**
 * Internal test support (`@certloop/core` x509 fuzz, never exported): small certificates and CSRs to break on
 * purpose, each edited as a tree and signed again with its own key.
 */
import { createCsr } from '../csr.js';
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
