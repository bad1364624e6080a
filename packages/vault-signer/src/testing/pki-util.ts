/**
 * `@certloop/vault-signer/testing` internal: issuers and their signers (certloop's own LocalCertificateAuthority),
 * TTL resolution with Vault's capping warning and leaf_not_after_behavior (contract section 3), serial format.
 */
import { type CertificateProfile, CertloopError, LocalCertificateAuthority } from '@certloop/core';
import { formatDuration, parseDuration } from './duration.js';
import { badRequest, VaultHttpError } from './http.js';
import { chainOf } from './pki-issuers.js';
import type { PkiRole } from './roles.js';
import type { EmulatorState, Issuer, PkiMount } from './state.js';

const CENTURY = 100 * 365 * 86_400;

/** `39dd2e…` as Vault writes serials: lowercase hex bytes joined by colons. */
export function colonSerial(hex: string): string {
  const even = hex.length % 2 ? `0${hex}` : hex;
  return (even.match(/../g) ?? []).join(':').toLowerCase();
}

export const trimPem = (pem: string) => pem.trim();

/** certloop's local CA over the issuer's key, for one backdate. */
export function signerFor(state: EmulatorState, mount: PkiMount, issuer: Issuer, backdate: number) {
  const cached = issuer.signers.get(backdate);
  if (cached) return cached;
  const keyPem = issuer.keyId ? mount.keys.get(issuer.keyId)?.privateKeyPem : undefined;
  if (!keyPem) {
    throw badRequest(
      `1 error occurred:\n\t* could not fetch the CA certificate (was one set?): unable to fetch corresponding key for issuer ${issuer.id}; unable to use this issuer for signing\n\n`,
    );
  }
  const chain = chainOf(mount, issuer);
  const signer = new LocalCertificateAuthority({
    certificatePem: issuer.certificatePem,
    privateKeyPem: keyPem,
    chainPem: chain.slice(1).join('\n') || undefined,
    trustBundlePem: chain[chain.length - 1]!,
    clock: state.clock,
    policy: {
      backdateSeconds: backdate,
      beyondCaNotAfter: 'truncate',
      maxSans: 1000,
      maxLifetimeSeconds: { server: CENTURY, client: CENTURY, 'server+client': CENTURY, intermediate: CENTURY },
    },
  });
  issuer.signers.set(backdate, signer);
  return signer;
}

export interface Validity {
  readonly lifetimeSeconds: number;
  readonly warnings: string[];
}

/**
 * The lifetime Vault would issue: request `ttl` (or `not_after`), else the role's, else the mount's default; capped
 * at the role's max_ttl, else the mount's max, with Vault's warning; then the issuer's leaf_not_after_behavior.
 */
export function resolveValidity(
  state: EmulatorState,
  mount: PkiMount,
  issuer: Issuer,
  role: PkiRole | undefined,
  body: Record<string, unknown>,
): Validity {
  const now = state.clock.now().getTime();
  const hasTtl = body.ttl !== undefined && body.ttl !== '';
  const hasNotAfter = body.not_after !== undefined && body.not_after !== '';
  if (hasTtl && hasNotAfter) {
    throw badRequest('Either ttl or not_after should be provided. Both should not be provided in the same request.');
  }
  const warnings: string[] = [];
  let ttl: number;
  if (hasNotAfter) {
    const at = Date.parse(String(body.not_after));
    if (Number.isNaN(at)) throw badRequest(`unable to parse "not_after" value: ${String(body.not_after)}`);
    ttl = Math.floor((at - now) / 1000);
  } else {
    ttl = parseDuration(body.ttl, 'ttl') || role?.ttl || mount.defaultLeaseTtl || state.systemDefaultTtl;
  }
  const max = role?.max_ttl || mount.maxLeaseTtl || state.systemMaxTtl;
  if (ttl > max && !hasNotAfter) {
    warnings.push(
      `TTL "${formatDuration(ttl)}" is longer than permitted maxTTL "${formatDuration(max)}", so maxTTL is being used`,
    );
    ttl = max;
  }
  if (ttl < 1) throw badRequest('the requested TTL is not positive');
  const notAfter = now + ttl * 1000;
  if (notAfter > issuer.notAfter.getTime()) {
    if (issuer.leafNotAfterBehavior === 'err') {
      throw badRequest(
        `cannot satisfy request, as TTL would result in notAfter of ${new Date(notAfter).toISOString()} that is beyond the expiration of the CA certificate at ${issuer.notAfter.toISOString()}`,
      );
    }
    // truncate (and, in the emulator, permit) clamp to the CA's notAfter
    ttl = Math.floor((issuer.notAfter.getTime() - now) / 1000);
    if (ttl < 1) throw badRequest('the CA certificate has expired');
  }
  return { lifetimeSeconds: ttl, warnings };
}

/** Signs `csrPem` under `issuer`, turning certloop's refusals into Vault's 400s. */
export async function signCsr(input: {
  readonly state: EmulatorState;
  readonly mount: PkiMount;
  readonly issuer: Issuer;
  readonly csrPem: string;
  readonly lifetimeSeconds: number;
  readonly backdate: number;
  readonly profile: CertificateProfile;
  readonly pathLength?: number;
}) {
  const signer = signerFor(input.state, input.mount, input.issuer, input.backdate);
  try {
    return await signer.sign({
      csrPem: input.csrPem,
      lifetimeSeconds: input.lifetimeSeconds,
      profile: input.profile,
      ...(input.pathLength === undefined ? {} : { pathLength: input.pathLength }),
    });
  } catch (err) {
    if (err instanceof CertloopError) {
      if (err.code === 'CERTLOOP_CSR_SIGNATURE_INVALID') throw badRequest('request signature invalid');
      throw badRequest(`certificate request could not be parsed: ${err.message}`);
    }
    throw new VaultHttpError(500, ['internal error']);
  }
}

/** The role's EKU flags as certloop's profile. */
export function profileOf(role: PkiRole | undefined): CertificateProfile {
  if (!role || (role.server_flag && role.client_flag)) return 'server+client';
  if (role.client_flag && !role.server_flag) return 'client';
  return 'server';
}

/** The issuer's `ca_chain`, with or without the roots (self-issued certificates). */
export function chainFor(mount: PkiMount, issuer: Issuer, removeRoots: boolean): string[] {
  const chain = chainOf(mount, issuer);
  if (!removeRoots) return [...chain];
  const roots = new Set([...mount.issuers.values()].filter((i) => i.selfSigned).map((i) => i.certificatePem));
  return chain.filter((pem) => !roots.has(pem));
}
