/**
 * `@certloop/vault-signer` internal: core's identity binding, checked before Vault is asked, whatever the Vault role
 * would allow: the CSR's CN equals the identity's and every SAN is among the identity's.
 */

import { isIP } from 'node:net';
import { CertloopError, type Identity, type SubjectAltNames } from '@certloop/core';

function mismatch(field: string): never {
  throw new CertloopError('CERTLOOP_CSR_IDENTITY_MISMATCH', `the CSR's ${field} is not the caller's identity`, {
    details: { field },
  });
}

/** A canonical text for an IP (IPv6 expanded), so `::1` and `0:0::1` compare equal. */
function canonicalIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = ip.includes('::') ? new Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => Number.parseInt(g, 16).toString(16)).join(':');
}

export function checkIdentity(identity: Identity, commonName: string | undefined, sans: SubjectAltNames): void {
  if ((commonName || undefined) !== (identity.commonName || undefined)) mismatch('commonName');
  const dns = new Set((identity.dnsNames ?? []).map((d) => d.toLowerCase()));
  for (const name of sans.dnsNames) if (!dns.has(name.toLowerCase())) mismatch('DNS name');
  const ips = new Set((identity.ipAddresses ?? []).map(canonicalIp));
  for (const ip of sans.ipAddresses) if (!ips.has(canonicalIp(ip))) mismatch('IP address');
  const uris = new Set(identity.uris ?? []);
  for (const uri of sans.uris) if (!uris.has(uri)) mismatch('URI');
  if (sans.emails.length > 0) mismatch('e-mail address');
}
