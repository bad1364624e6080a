/**
 * Internal test support (`@certloop/core` x509 fuzz, never exported): the seed corpora under
 * packages/core/test-data/ (made by the openssl command line and by certloop), each certificate and CSR paired
 * with the private key that signed it, so a mutation can be signed again.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pemSplit } from '../pem.js';

export const TEST_DATA = join(import.meta.dirname, '..', '..', '..', 'test-data');

export interface Seed {
  readonly name: string;
  readonly der: Uint8Array;
  /** The PEM of the key that signed it (the issuer's for a certificate, the requester's for a CSR), if known. */
  readonly signerKeyPem?: string;
  /** For a certificate: its issuer's certificate PEM, when the corpus has it (for validateChain). */
  readonly issuerPem?: string;
}

export interface Corpus {
  readonly certificates: readonly Seed[];
  readonly csrs: readonly Seed[];
  /** Private keys as DER with their PEM label. */
  readonly keys: readonly { readonly name: string; readonly label: string; readonly der: Uint8Array }[];
  /** Every PEM file's text, for the PEM splitter. */
  readonly pemTexts: readonly string[];
}

function read(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), 'utf8');
  } catch {
    return undefined;
  }
}

/** Which key signed an openssl corpus file (see generate-openssl.sh). */
function opensslSigner(file: string): { key?: string; issuer?: string } {
  const root = /^root-([a-z0-9]+?)(-sha1)?\.pem$/.exec(file);
  if (root) return { key: `key-${root[1]}.pkcs8.pem`, issuer: file };
  if (file === 'chain-intermediate.pem') return { key: 'key-p256.pkcs8.pem', issuer: 'root-p256.pem' };
  if (file.startsWith('chain-leaf-')) return { key: 'key-p384.pkcs8.pem', issuer: 'chain-intermediate.pem' };
  if (file.startsWith('name-') || file.startsWith('serial-')) return { key: 'key-p256.pkcs8.pem', issuer: file };
  const csr = /^csr-(p256|p384|p521|rsa2048|rsa4096|ed25519|ed448|rsapss)\.pem$/.exec(file);
  if (csr) return { key: `key-${csr[1]}.pkcs8.pem` };
  const leafCsr: Record<string, string> = {
    'csr-all-sans.pem': 'p256',
    'csr-many-extensions.pem': 'rsa2048',
    'csr-past-2050.pem': 'p384',
    'csr-unknown-critical.pem': 'p256',
    'csr-ca-request.pem': 'p256',
    'csr-utf8.pem': 'p256',
    'csr-empty-subject.pem': 'p256',
  };
  if (leafCsr[file]) return { key: `key-${leafCsr[file]}.pkcs8.pem` };
  return {};
}

/** Which key signed a certloop corpus file (see generate-certloop.ts). */
function certloopSigner(file: string): { key?: string; issuer?: string } {
  const m = /^(root|leaf|intermediate|csr)-((?:ecdsa|rsa)-[a-z0-9]+|ed25519)/.exec(file);
  if (!m) return {};
  const alg = m[2]!;
  if (m[1] === 'csr') return { key: `leaf-key-${alg}.pem` };
  return { key: `key-${alg}.pem`, issuer: `root-${alg}.pem` };
}

/** Loads both corpora. */
export function loadCorpus(): Corpus {
  const certificates: Seed[] = [];
  const csrs: Seed[] = [];
  const keys: { name: string; label: string; der: Uint8Array }[] = [];
  const pemTexts: string[] = [];
  for (const [folder, signer] of [
    ['openssl', opensslSigner],
    ['certloop', certloopSigner],
  ] as const) {
    const dir = join(TEST_DATA, folder);
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith('.pem')) continue;
      const text = readFileSync(join(dir, file), 'utf8');
      pemTexts.push(text);
      const { key, issuer } = signer(file);
      const signerKeyPem = key ? read(dir, key) : undefined;
      const issuerPem = issuer ? read(dir, issuer) : undefined;
      for (const block of pemSplit(text, { maxBlocks: 4 })) {
        const name = `${folder}/${file}`;
        const seed = {
          name,
          der: block.der,
          ...(signerKeyPem ? { signerKeyPem } : {}),
          ...(issuerPem ? { issuerPem } : {}),
        };
        if (block.label === 'CERTIFICATE') certificates.push(seed);
        else if (block.label === 'CERTIFICATE REQUEST') csrs.push(seed);
        else if (block.label.endsWith('PRIVATE KEY')) keys.push({ name, label: block.label, der: block.der });
      }
    }
  }
  return { certificates, csrs, keys, pemTexts };
}
