/**
 * `@certloop/vault-signer/testing` internal: a role's name policy and SAN rules with Vault's exact error texts
 * (contract section 2: bare, subdomain and glob rules, allow_any_name, enforce_hostnames, wildcards, IP and URI SANs).
 */
import { badRequest } from './http.js';
import type { PkiRole } from './roles.js';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

function isHostname(name: string): boolean {
  const host = name.startsWith('*.') ? name.slice(2) : name;
  return host.length > 0 && host.length <= 253 && host.split('.').every((label) => LABEL.test(label));
}

/** Go's `glob.Glob`: `*` matches any run of characters. */
function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 'i');
  return re.test(name);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** True when `name` (a CN or DNS SAN) passes the role's name policy. */
export function nameAllowed(role: PkiRole, rawName: string): boolean {
  const name = rawName.toLowerCase();
  const wildcard = name.includes('*');
  if (wildcard) {
    // a wildcard only in the left-most label, and only when the role allows wildcard certificates
    if (!name.startsWith('*.') || name.slice(2).includes('*') || !role.allow_wildcard_certificates) return false;
  }
  if (role.enforce_hostnames && !isHostname(name)) return false;
  if (role.allow_any_name) return true;
  if (role.allow_localhost && (name === 'localhost' || name === 'localdomain')) return true;
  for (const rawDomain of role.allowed_domains) {
    const d = rawDomain.toLowerCase();
    if (role.allow_bare_domains && name === d) return true;
    if (role.allow_subdomains && name.endsWith(`.${d}`) && name.length > d.length + 1) return true;
    if (role.allow_glob_domains && d.includes('*') && globMatch(d, name)) return true;
  }
  return false;
}

export interface RequestedNames {
  readonly commonName: string | undefined;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly uris: readonly string[];
}

/** Throws Vault's 400 for the first rule the names break. */
export function checkNames(role: PkiRole, names: RequestedNames): void {
  const cn = names.commonName;
  if (!cn && role.require_cn) {
    throw badRequest(
      'the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false',
    );
  }
  if (cn && !cn.includes('@') && !nameAllowed(role, cn)) throw badRequest(`common name ${cn} not allowed by this role`);
  for (const n of names.dnsNames) {
    if (!nameAllowed(role, n)) throw badRequest(`subject alternate name ${n} not allowed by this role`);
  }
  if (names.ipAddresses.length > 0 && !role.allow_ip_sans) {
    throw badRequest(
      `IP Subject Alternative Names are not allowed in this role, but was provided [${names.ipAddresses.join(' ')}]`,
    );
  }
  if (names.uris.length > 0) {
    if (role.allowed_uri_sans.length === 0) {
      throw badRequest('URI Subject Alternative Names are not allowed in this role, but were provided via the API');
    }
    for (const uri of names.uris) {
      if (!role.allowed_uri_sans.some((p) => globMatch(p, uri))) {
        throw badRequest(`URI Subject Alternative Name ${uri} not allowed by this role`);
      }
    }
  }
}

/** Throws Vault's 400 when the CSR's key is not of the role's type or is too small. */
export function checkKey(role: PkiRole, key: { readonly type: string; readonly size: number }): void {
  if (role.key_type === 'any') return;
  const expected = role.key_type === 'rsa' ? 'RSA' : role.key_type === 'ec' ? 'ECDSA' : 'Ed25519';
  if (key.type !== expected) throw badRequest(`role requires keys of type ${role.key_type}`);
  if (role.key_type !== 'ed25519' && key.size < role.key_bits) {
    throw badRequest(`role requires a minimum of a ${role.key_bits}-bit key, but CSR's key is ${key.size} bits`);
  }
}
