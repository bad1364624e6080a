/**
 * `@certloop/vault-signer/testing` internal: the CA fetches (contract section 1): `ca/pem`, `ca_chain`,
 * `cert/ca_chain`, `issuer/default` and `issuer/{ref}`, `issuer/{ref}/json`.
 */
import { noContent, ok, type VaultReply } from './http.js';
import { findIssuer } from './pki-util.js';
import { expectOperation, type RequestContext, requireToken } from './router.js';
import type { Issuer, PkiMount } from './state.js';

const PEM_CHAIN = 'application/pem-certificate-chain';

/** GET `{m}/ca/pem` (raw, no trailing newline; 204 without a CA) and `{m}/ca_chain` (raw chain). */
export function rawCa(ctx: RequestContext, mount: PkiMount, chain: boolean): VaultReply {
  expectOperation(ctx, 'GET');
  if (!mount.defaultIssuer) return noContent();
  const issuer = findIssuer(mount, 'default');
  return { kind: 'raw', body: chain ? issuer.chain.join('\n') : issuer.certificatePem, contentType: PEM_CHAIN };
}

/** GET `{m}/cert/ca_chain`: the chain as one string in both `certificate` and `ca_chain`. */
export function certCaChain(ctx: RequestContext, mount: PkiMount): VaultReply {
  expectOperation(ctx, 'GET');
  const chain = mount.defaultIssuer ? findIssuer(mount, 'default').chain.join('\n') : '';
  return ok({ certificate: chain, ca_chain: chain, revocation_time: 0 }, { mountType: 'pki' });
}

export function issuerData(mount: PkiMount, issuer: Issuer): Record<string, unknown> {
  return {
    certificate: issuer.certificatePem,
    ca_chain: [...issuer.chain],
    issuer_id: issuer.id,
    issuer_name: issuer.name,
    key_id: issuer.keyId ?? '',
    leaf_not_after_behavior: issuer.leafNotAfterBehavior,
    manual_chain: null,
    usage: 'crl-signing,issuing-certificates,ocsp-signing,read-only',
    is_default: mount.defaultIssuer === issuer.id,
  };
}

/** GET `{m}/issuer/{ref}` (token) or `{m}/issuer/{ref}/json` (no token). */
export function readIssuer(ctx: RequestContext, mount: PkiMount, ref: string, unauthenticated: boolean): VaultReply {
  expectOperation(ctx, 'GET');
  if (!unauthenticated) requireToken(ctx);
  const issuer = findIssuer(mount, ref);
  if (unauthenticated) {
    return ok(
      {
        certificate: issuer.certificatePem,
        ca_chain: [...issuer.chain],
        issuer_id: issuer.id,
        issuer_name: issuer.name,
      },
      { mountType: 'pki' },
    );
  }
  return ok(issuerData(mount, issuer), { mountType: 'pki' });
}
