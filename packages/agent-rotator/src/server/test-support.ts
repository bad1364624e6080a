/**
 * Internal test support for the relay server tests (`server/*.test.ts`): a fresh P-256 key and its CSR. Not
 * exported from any barrel.
 */
import { createCsr, generateKeyPair } from '@certloop/core';

/** A new ECDSA P-256 key and a CSR for `commonName` with `dnsNames` (by default the common name) as its SANs. */
export async function csrFor(
  commonName: string,
  dnsNames: string[] = [commonName],
): Promise<{ csrPem: string; privateKeyPem: string }> {
  const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
  const { csrPem } = await createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName }, dnsNames });
  return { csrPem, privateKeyPem: key.privateKeyPem };
}
