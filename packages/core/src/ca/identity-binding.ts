/**
 * `@certloop/core` ca: a CSR must name exactly the identity its caller authenticated as. Exported so every
 * `CertificateAuthority` backend (Vault, the relay) binds identities the same way, before asking its backend.
 */
import { CertloopError } from '../errors.js';
import { canonicalIpAddress } from '../x509/general-names.js';
import type { DistinguishedName, SubjectAltNames } from '../x509/types.js';
import type { Identity } from './types.js';

function mismatch(field: string, value: string | undefined): never {
  throw new CertloopError('CERTLOOP_CSR_IDENTITY_MISMATCH', `the CSR's ${field} is not the caller's identity`, {
    details: { field, ...(value === undefined ? {} : { value }) },
  });
}

/**
 * Throws `CERTLOOP_CSR_IDENTITY_MISMATCH` unless the CSR's CN equals `identity.commonName` (both may be absent)
 * and every SAN is among the identity's (DNS compared case-insensitively, IPs in canonical form). E-mail SANs
 * never match: an identity lists none.
 */
export function checkIdentityBinding(identity: Identity, subject: DistinguishedName, sans: SubjectAltNames): void {
  if ((subject.commonName ?? undefined) !== (identity.commonName || undefined)) {
    mismatch('commonName', subject.commonName);
  }
  const dns = new Set((identity.dnsNames ?? []).map((d) => d.toLowerCase()));
  for (const name of sans.dnsNames) if (!dns.has(name.toLowerCase())) mismatch('DNS name', name);
  const ips = new Set((identity.ipAddresses ?? []).map((ip) => canonicalIpAddress(ip) ?? ip));
  for (const ip of sans.ipAddresses) if (!ips.has(ip)) mismatch('IP address', ip);
  const uris = new Set(identity.uris ?? []);
  for (const uri of sans.uris) if (!uris.has(uri)) mismatch('URI', uri);
  if (sans.emails.length > 0) mismatch('e-mail address', sans.emails[0]);
}
