/**
 * `@certloop/core` issuance policy of the {@link LocalCertificateAuthority}: which keys, names, lifetimes and
 * profiles it signs. {@link DEFAULT_ISSUANCE_POLICY} is the documented default; a partial policy is merged over it.
 */
import { CertloopError } from '../errors.js';
import { parseIpAddress } from '../x509/general-names.js';
import { MIN_RSA_BITS } from '../x509/key-strength.js';
import { encodeNameConstraints, type NameConstraintsInput } from '../x509/name-constraints.js';
import { optionalObject, requireObject } from '../x509/options.js';
import type { PublicKeyInfo, SubjectAltNames } from '../x509/types.js';
import type { CertificateProfile } from './types.js';

export type PolicyKeyType = PublicKeyInfo['type'];

export interface IssuancePolicy {
  /** Key families accepted in CSRs. Default: RSA, ECDSA, Ed25519. */
  readonly allowedKeyTypes: readonly PolicyKeyType[];
  /** ECDSA curves accepted. Default: P-256, P-384, P-521 (the only ones certloop reads). */
  readonly allowedCurves: readonly string[];
  /** Smallest RSA modulus accepted, in bits. Default 2048, which is also the least it may be set to. */
  readonly minRsaBits: number;
  /** Largest RSA modulus accepted, in bits (bounds verification cost). Default 8192. */
  readonly maxRsaBits: number;
  /** Profiles this CA issues. Default: all four. */
  readonly allowedProfiles: readonly CertificateProfile[];
  /** Longest lifetime per profile, seconds. Default: leaves 398 days, intermediates 5 years. */
  readonly maxLifetimeSeconds: Readonly<Record<CertificateProfile, number>>;
  /**
   * When the requested lifetime reaches past the CA's own notAfter: `error` refuses with
   * `CERTLOOP_CA_EXPIRES_TOO_SOON` (default), `truncate` issues up to the CA's notAfter.
   */
  readonly beyondCaNotAfter: 'error' | 'truncate';
  /** DNS names allowed in SANs: exact names or `*.suffix` (any name under suffix). Undefined: any valid name. */
  readonly allowedDnsNames?: readonly string[] | undefined;
  /** IP ranges allowed in SANs, as CIDRs (`10.0.0.0/8`, `fd00::/8`) or single addresses. Undefined: any. */
  readonly allowedIpRanges?: readonly string[] | undefined;
  /** URIs allowed in SANs: exact, or a prefix when ending in `*` (`spiffe://cluster.local/*`). Undefined: any. */
  readonly allowedUris?: readonly string[] | undefined;
  /** E-mail addresses allowed in SANs: exact, or `*@domain`. Undefined: any. */
  readonly allowedEmails?: readonly string[] | undefined;
  /** Most SAN entries one CSR may carry. Default 100. */
  readonly maxSans: number;
  /** How far notBefore is set back from now, for clock skew. Default 60. */
  readonly backdateSeconds: number;
  /** Largest CSR PEM accepted, in bytes, checked before parsing. Default 32 KiB. */
  readonly maxCsrBytes: number;
  /**
   * Name constraints (critical, RFC 5280 4.2.1.10) put on every intermediate this CA issues, e.g. the relay's own
   * names for `relay-tls-signing-secret`. Undefined: none.
   */
  readonly intermediateNameConstraints?: NameConstraintsInput | undefined;
}

const DAY = 86_400;

export const DEFAULT_ISSUANCE_POLICY: IssuancePolicy = Object.freeze({
  allowedKeyTypes: Object.freeze(['RSA', 'ECDSA', 'Ed25519'] as PolicyKeyType[]),
  allowedCurves: Object.freeze(['P-256', 'P-384', 'P-521']),
  minRsaBits: 2048,
  maxRsaBits: 8192,
  allowedProfiles: Object.freeze(['server', 'client', 'server+client', 'intermediate'] as CertificateProfile[]),
  maxLifetimeSeconds: Object.freeze({
    server: 398 * DAY,
    client: 398 * DAY,
    'server+client': 398 * DAY,
    intermediate: 5 * 365 * DAY,
  }),
  beyondCaNotAfter: 'error',
  maxSans: 100,
  backdateSeconds: 60,
  maxCsrBytes: 32 * 1024,
} satisfies IssuancePolicy);

/** A policy given by the caller: any field left out takes its default. */
export type IssuancePolicyInput = Partial<Omit<IssuancePolicy, 'maxLifetimeSeconds'>> & {
  readonly maxLifetimeSeconds?: Partial<Record<CertificateProfile, number>>;
};

interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** A policy resolved and pre-parsed for fast checks. */
export interface ResolvedPolicy extends IssuancePolicy {
  readonly ipRanges?: readonly Cidr[] | undefined;
  /** The nameConstraints extension value for intermediates, encoded once. */
  readonly intermediateNameConstraintsDer?: Uint8Array | undefined;
}

function invalidConfig(message: string, details?: Record<string, unknown>): never {
  throw new CertloopError('CERTLOOP_INVALID_CONFIG', message, details ? { details } : {});
}

function parseCidr(text: string): Cidr {
  const [address, prefixText] = text.split('/');
  const bytes = parseIpAddress(address ?? '');
  if (!bytes) invalidConfig('allowedIpRanges holds something that is not a CIDR', { range: text });
  const prefix = prefixText === undefined ? bytes.length * 8 : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bytes.length * 8) {
    invalidConfig('allowedIpRanges holds a bad prefix length', { range: text });
  }
  return { bytes, prefix };
}

const positive = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n > 0;

/** Merges `input` over the defaults and checks it; throws `CERTLOOP_INVALID_CONFIG` when it does not hold. */
export function resolveIssuancePolicy(input: IssuancePolicyInput = {}): ResolvedPolicy {
  requireObject(input, 'policy');
  optionalObject(input.maxLifetimeSeconds, 'policy.maxLifetimeSeconds');
  const policy: IssuancePolicy = {
    ...DEFAULT_ISSUANCE_POLICY,
    ...input,
    maxLifetimeSeconds: { ...DEFAULT_ISSUANCE_POLICY.maxLifetimeSeconds, ...input.maxLifetimeSeconds },
  };
  for (const value of Object.values(policy.maxLifetimeSeconds)) {
    if (!positive(value)) invalidConfig('maxLifetimeSeconds values must be positive numbers');
  }
  if (!positive(policy.minRsaBits) || policy.maxRsaBits < policy.minRsaBits) invalidConfig('bad RSA size bounds');
  if (policy.minRsaBits < MIN_RSA_BITS) invalidConfig(`minRsaBits may not be below ${MIN_RSA_BITS}`);
  if (policy.beyondCaNotAfter !== 'error' && policy.beyondCaNotAfter !== 'truncate') {
    invalidConfig('beyondCaNotAfter must be error or truncate');
  }
  if (!(policy.backdateSeconds >= 0) || !positive(policy.maxCsrBytes) || !positive(policy.maxSans)) {
    invalidConfig('backdateSeconds, maxCsrBytes and maxSans must be non-negative numbers');
  }
  return {
    ...policy,
    ...(policy.allowedIpRanges ? { ipRanges: policy.allowedIpRanges.map(parseCidr) } : {}),
    ...(policy.intermediateNameConstraints
      ? { intermediateNameConstraintsDer: encodeNameConstraints(policy.intermediateNameConstraints) }
      : {}),
  };
}

function rejectKey(message: string, info: PublicKeyInfo): never {
  throw new CertloopError('CERTLOOP_POLICY_KEY_REJECTED', message, {
    details: { type: info.type, size: info.size, ...(info.curve ? { curve: info.curve } : {}) },
  });
}

/** Throws `CERTLOOP_POLICY_KEY_REJECTED` for a key the policy does not accept. */
export function checkKeyPolicy(policy: IssuancePolicy, info: PublicKeyInfo): void {
  if (!policy.allowedKeyTypes.includes(info.type)) rejectKey(`${info.type} keys are not accepted`, info);
  if (info.type === 'RSA' && (info.size < policy.minRsaBits || info.size > policy.maxRsaBits)) {
    rejectKey(`RSA keys of ${info.size} bits are not accepted`, info);
  }
  if (info.type === 'ECDSA' && !policy.allowedCurves.includes(info.curve ?? '')) {
    rejectKey(`curve ${info.curve} is not accepted`, info);
  }
}

// LDH labels of at most 63, total at most 253; a leftmost `*` label is a wildcard request.
const DNS_NAME = /^(\*\.)?(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$/;

function dnsAllowed(name: string, patterns: readonly string[] | undefined): boolean {
  if (name.length > 253 || !DNS_NAME.test(name)) return false;
  if (!patterns) return true;
  return patterns.some((raw) => {
    const pattern = raw.toLowerCase();
    if (pattern.startsWith('*.')) return name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1;
    return name === pattern;
  });
}

function inCidr(bytes: Uint8Array, cidr: Cidr): boolean {
  if (bytes.length !== cidr.bytes.length) return false;
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (bytes[i] !== cidr.bytes[i]) return false;
  const rest = cidr.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[full]! & mask) === (cidr.bytes[full]! & mask);
}

function prefixAllowed(value: string, patterns: readonly string[] | undefined): boolean {
  if (!patterns) return true;
  return patterns.some((p) => (p.endsWith('*') ? value.startsWith(p.slice(0, -1)) : value === p));
}

function emailAllowed(email: string, patterns: readonly string[] | undefined): boolean {
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) return false;
  if (!patterns) return true;
  const lower = email.toLowerCase();
  return patterns.some((p) =>
    p.startsWith('*@') ? lower.endsWith(p.slice(1).toLowerCase()) : lower === p.toLowerCase(),
  );
}

function rejectName(kind: string, value: string): never {
  throw new CertloopError('CERTLOOP_POLICY_NAME_REJECTED', `the ${kind} ${JSON.stringify(value)} is not allowed`, {
    details: { kind, value },
  });
}

/** Throws `CERTLOOP_POLICY_NAME_REJECTED` for any SAN outside the policy (or malformed). */
export function checkNamePolicy(policy: ResolvedPolicy, sans: SubjectAltNames): void {
  const count = sans.dnsNames.length + sans.ipAddresses.length + sans.uris.length + sans.emails.length;
  if (count > policy.maxSans) rejectName('SAN count', String(count));
  for (const dns of sans.dnsNames)
    if (!dnsAllowed(dns.toLowerCase(), policy.allowedDnsNames)) rejectName('DNS name', dns);
  for (const ip of sans.ipAddresses) {
    const bytes = parseIpAddress(ip);
    if (!bytes) rejectName('IP address', ip);
    if (policy.ipRanges && !policy.ipRanges.some((cidr) => inCidr(bytes, cidr))) rejectName('IP address', ip);
  }
  for (const uri of sans.uris) {
    if (!URL.canParse(uri) || !prefixAllowed(uri, policy.allowedUris)) rejectName('URI', uri);
  }
  for (const email of sans.emails) if (!emailAllowed(email, policy.allowedEmails)) rejectName('e-mail address', email);
}
