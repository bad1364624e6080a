/**
 * `@certloop/vault-signer/testing` internal: a PKI role as Vault stores it (contract section 2), with Vault's
 * defaults, read from a write body and rendered for a read.
 */

import { parseBool, parseDuration, parseList } from './duration.js';
import { badRequest } from './http.js';

export type RoleKeyType = 'rsa' | 'ec' | 'ed25519' | 'any';

export interface PkiRole {
  readonly ttl: number;
  readonly max_ttl: number;
  readonly allow_localhost: boolean;
  readonly allowed_domains: readonly string[];
  readonly allow_bare_domains: boolean;
  readonly allow_subdomains: boolean;
  readonly allow_glob_domains: boolean;
  readonly allow_wildcard_certificates: boolean;
  readonly allow_any_name: boolean;
  readonly enforce_hostnames: boolean;
  readonly allow_ip_sans: boolean;
  readonly allowed_uri_sans: readonly string[];
  readonly key_type: RoleKeyType;
  readonly key_bits: number;
  readonly require_cn: boolean;
  readonly use_csr_common_name: boolean;
  readonly use_csr_sans: boolean;
  readonly not_before_duration: number;
  readonly server_flag: boolean;
  readonly client_flag: boolean;
  readonly issuer_ref: string;
  readonly generate_lease: boolean;
  readonly no_store: boolean;
}

const KEY_TYPES: readonly RoleKeyType[] = ['rsa', 'ec', 'ed25519', 'any'];

/** Builds a role from a write body; fields left out keep `base` (an existing role) or Vault's defaults. */
export function parseRole(body: Record<string, unknown>, base?: PkiRole): PkiRole {
  const bool = (k: keyof PkiRole, d: boolean) => parseBool(body[k], (base?.[k] as boolean | undefined) ?? d);
  const keyType = (body.key_type ?? base?.key_type ?? 'rsa') as RoleKeyType;
  if (!KEY_TYPES.includes(keyType)) throw badRequest(`unknown key type ${String(keyType)}`);
  let keyBits = body.key_bits === undefined ? (base?.key_bits ?? 0) : Number(body.key_bits);
  if (!Number.isInteger(keyBits) || keyBits < 0) throw badRequest(`invalid key_bits ${String(body.key_bits)}`);
  if (keyBits === 0) keyBits = keyType === 'rsa' ? 2048 : keyType === 'ec' ? 256 : 0;
  if (keyType === 'rsa' && ![2048, 3072, 4096, 8192].includes(keyBits)) {
    throw badRequest(`unsupported bit length for RSA key: ${keyBits}`);
  }
  if (keyType === 'ec' && ![224, 256, 384, 521].includes(keyBits)) {
    throw badRequest(`unsupported bit length for EC key: ${keyBits}`);
  }
  const duration = (k: 'ttl' | 'max_ttl' | 'not_before_duration', d: number) =>
    body[k] === undefined ? (base?.[k] ?? d) : parseDuration(body[k], k);
  return {
    ttl: duration('ttl', 0),
    max_ttl: duration('max_ttl', 0),
    allow_localhost: bool('allow_localhost', true),
    allowed_domains:
      body.allowed_domains === undefined ? (base?.allowed_domains ?? []) : parseList(body.allowed_domains),
    allow_bare_domains: bool('allow_bare_domains', false),
    allow_subdomains: bool('allow_subdomains', false),
    allow_glob_domains: bool('allow_glob_domains', false),
    allow_wildcard_certificates: bool('allow_wildcard_certificates', true),
    allow_any_name: bool('allow_any_name', false),
    enforce_hostnames: bool('enforce_hostnames', true),
    allow_ip_sans: bool('allow_ip_sans', true),
    allowed_uri_sans:
      body.allowed_uri_sans === undefined ? (base?.allowed_uri_sans ?? []) : parseList(body.allowed_uri_sans),
    key_type: keyType,
    key_bits: keyBits,
    require_cn: bool('require_cn', true),
    use_csr_common_name: bool('use_csr_common_name', true),
    use_csr_sans: bool('use_csr_sans', true),
    not_before_duration: duration('not_before_duration', 30),
    server_flag: bool('server_flag', true),
    client_flag: bool('client_flag', true),
    issuer_ref: String(body.issuer_ref ?? base?.issuer_ref ?? 'default'),
    generate_lease: bool('generate_lease', false),
    no_store: bool('no_store', false),
  };
}

/** The role as a read returns it (`data`). */
export function renderRole(role: PkiRole): Record<string, unknown> {
  return { ...role, allowed_domains: [...role.allowed_domains], allowed_uri_sans: [...role.allowed_uri_sans] };
}
