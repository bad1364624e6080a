/**
 * `certloop inspect` input: what a file holds (certificates, a CSR, a private key), from PEM or DER.
 */
import { createHash, createPublicKey } from 'node:crypto';
import {
  type ImportedPrivateKey,
  type InspectedCertificate,
  importPrivateKey,
  inspectCertificate,
  inspectCertificates,
  isCertloopError,
  type ParsedCsr,
  parseCsr,
  pemEncode,
  pemSplit,
  verifyCsr,
} from '@certloop/core';
import { cliError } from '../lib/errors.js';

export interface InspectedKey extends Omit<ImportedPrivateKey, 'privateKeyPem'> {
  /** SHA-256 of the public key's SPKI DER, lower-case hex. */
  readonly publicKeyFingerprintSha256: string;
}

export interface InspectedCsr extends ParsedCsr {
  readonly signatureValid: boolean;
}

/** Everything found in one input, in the order it came. */
export interface InspectedInput {
  readonly certificates: InspectedCertificate[];
  readonly csr?: InspectedCsr;
  readonly key?: InspectedKey;
  /** The certificates as PEM, leaf first (for chain checks). */
  readonly certificatesPem: string;
  /** The private key PEM, kept only for a key-match check and never shown. */
  readonly privateKeyPem?: string;
}

const KEY_LABELS = ['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY'];
const CSR_LABELS = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'];

export function describeKey(pem: string): InspectedKey {
  const { privateKeyPem: _hidden, ...key } = importPrivateKey(pem);
  const spki = createPublicKey(key.publicKeyPem).export({ type: 'spki', format: 'der' });
  return { ...key, publicKeyFingerprintSha256: createHash('sha256').update(spki).digest('hex') };
}

async function describeCsr(pem: string): Promise<InspectedCsr> {
  const csr = parseCsr(pem);
  const signatureValid = await verifyCsr(pem).then(
    () => true,
    (err) => {
      if (isCertloopError(err, 'CERTLOOP_CSR_SIGNATURE_INVALID')) return false;
      throw err;
    },
  );
  return { ...csr, signatureValid };
}

/** Reads PEM text or DER bytes. Throws `CERTLOOP_INVALID_PEM` / `CERTLOOP_INVALID_DER` / ... for anything else. */
export async function readInspectable(bytes: Uint8Array, what: string): Promise<InspectedInput> {
  const text = new TextDecoder().decode(bytes);
  if (!text.includes('-----BEGIN ')) return readDer(bytes, what);
  const blocks = pemSplit(text);
  if (blocks.length === 0) throw cliError('CERTLOOP_INVALID_PEM', `${what} holds no complete PEM block`);
  const certificateBlocks = blocks.filter((b) => b.label === 'CERTIFICATE');
  const csrBlocks = blocks.filter((b) => CSR_LABELS.includes(b.label));
  const keyBlocks = blocks.filter((b) => KEY_LABELS.includes(b.label));
  if (blocks.some((b) => b.label === 'ENCRYPTED PRIVATE KEY')) {
    throw cliError(
      'CERTLOOP_INVALID_KEY',
      `${what} holds an encrypted private key`,
      'decrypt it first (openssl pkey -in KEY -out PLAIN)',
    );
  }
  const known = certificateBlocks.length + csrBlocks.length + keyBlocks.length;
  if (known === 0) {
    throw cliError(
      'CERTLOOP_INVALID_PEM',
      `${what} holds no certificate, CSR or private key (found ${blocks.map((b) => b.label).join(', ')})`,
    );
  }
  if (csrBlocks.length > 1 || keyBlocks.length > 1) {
    throw cliError('CERTLOOP_INVALID_PEM', `${what} holds more than one CSR or key`, 'inspect one at a time');
  }
  const certificatesPem = certificateBlocks.map((b) => pemEncode('CERTIFICATE', b.der)).join('');
  const privateKeyPem = keyBlocks[0] ? pemEncode(keyBlocks[0].label, keyBlocks[0].der) : undefined;
  return {
    certificates: certificatesPem ? inspectCertificates(certificatesPem) : [],
    certificatesPem,
    ...(csrBlocks[0] ? { csr: await describeCsr(pemEncode('CERTIFICATE REQUEST', csrBlocks[0].der)) } : {}),
    ...(privateKeyPem ? { key: describeKey(privateKeyPem), privateKeyPem } : {}),
  };
}

async function readDer(bytes: Uint8Array, what: string): Promise<InspectedInput> {
  try {
    const certificate = inspectCertificate(bytes);
    return { certificates: [certificate], certificatesPem: certificate.certificatePem };
  } catch {
    // not a certificate: a CSR?
  }
  try {
    return { certificates: [], certificatesPem: '', csr: await describeCsr(pemEncode('CERTIFICATE REQUEST', bytes)) };
  } catch {
    // nor a CSR
  }
  throw cliError('CERTLOOP_INVALID_DER', `${what} is neither PEM nor a DER certificate or CSR`);
}
