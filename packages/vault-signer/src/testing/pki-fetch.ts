/**
 * `@certloop/vault-signer/testing` internal: the CA fetches (contract sections 1 and 7): `ca/pem`, `ca_chain` and
 * `cert/ca_chain` (the default issuer), `issuer/{ref}` (token), `issuer/{ref}/json|pem|der` and `LIST issuers`
 * (no token).
 */
import { badRequest, noContent, ok, type VaultReply } from './http.js';
import { chainOf, issuerData, issuerForRead, issuerSerial, lookupIssuer, storedPem } from './pki-issuers.js';
import { expectOperation, missing, type RequestContext } from './router.js';
import type { PkiMount } from './state.js';

const PEM_CHAIN = 'application/pem-certificate-chain';

/** GET `{m}/ca/pem` (raw, no trailing newline) and `{m}/ca_chain` (raw chain): 204 without a default issuer. */
export function rawCa(ctx: RequestContext, mount: PkiMount, chain: boolean): VaultReply {
  expectOperation(ctx, 'GET');
  const issuer = lookupIssuer(mount, 'default');
  if (typeof issuer === 'string') return noContent();
  const body = chain ? chainOf(mount, issuer).join('\n') : issuer.certificatePem;
  return { kind: 'raw', body, contentType: PEM_CHAIN };
}

/** GET `{m}/cert/ca_chain`: the default issuer's chain as one string in both `certificate` and `ca_chain`. */
export function certCaChain(ctx: RequestContext, mount: PkiMount): VaultReply {
  expectOperation(ctx, 'GET');
  const issuer = lookupIssuer(mount, 'default');
  if (typeof issuer === 'string') throw badRequest(issuer);
  const chain = chainOf(mount, issuer).join('\n');
  return ok({ certificate: chain, ca_chain: chain, revocation_time: 0 }, { mountType: 'pki' });
}

/** GET `{m}/issuer/{ref}` (token): the whole issuer. */
export function readIssuer(ctx: RequestContext, mount: PkiMount, ref: string): VaultReply {
  expectOperation(ctx, 'GET');
  return ok(issuerData(mount, issuerForRead(mount, ref)), { mountType: 'pki' });
}

/** GET `{m}/issuer/{ref}/json|pem|der` (no token). */
export function fetchIssuer(
  ctx: RequestContext,
  mount: PkiMount,
  ref: string,
  form: 'json' | 'pem' | 'der',
): VaultReply {
  expectOperation(ctx, 'GET');
  const issuer = issuerForRead(mount, ref);
  if (form === 'pem') return { kind: 'raw', body: storedPem(issuer.certificatePem), contentType: PEM_CHAIN };
  if (form === 'der') return { kind: 'raw', body: issuer.x509.raw, contentType: 'application/pkix-cert' };
  return ok(
    {
      certificate: storedPem(issuer.certificatePem),
      ca_chain: chainOf(mount, issuer).map(storedPem),
      issuer_id: issuer.id,
      issuer_name: issuer.name,
    },
    { mountType: 'pki' },
  );
}

/** LIST `{m}/issuers` (no token): ids and `key_info`; 404 with none. */
export function listIssuers(ctx: RequestContext, mount: PkiMount): VaultReply {
  expectOperation(ctx, 'LIST');
  if (mount.issuers.size === 0) throw missing();
  const issuers = [...mount.issuers.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  return ok(
    {
      keys: issuers.map((i) => i.id),
      key_info: Object.fromEntries(
        issuers.map((i) => [
          i.id,
          {
            issuer_name: i.name,
            is_default: mount.defaultIssuer === i.id,
            serial_number: issuerSerial(i),
            key_id: i.keyId ?? '',
          },
        ]),
      ),
    },
    { mountType: 'pki' },
  );
}
