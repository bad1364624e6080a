/**
 * `@certloop/vault-signer/testing` internal: what setup scripts call on a PKI mount (contract section 6): root and
 * intermediate generation, sign-intermediate, set-signed, config/issuers, issuer updates and roles.
 */
import { randomUUID } from 'node:crypto';
import {
  createCsr,
  createSelfSignedCa,
  generateKeyPair,
  inspectCertificate,
  type KeyAlgorithm,
  privateKeyMatchesCertificate,
  splitPemBundle,
} from '@certloop/core';
import { parseDuration } from './duration.js';
import { badRequest, noContent, ok, type VaultReply } from './http.js';
import { colonSerial, findIssuer, resolveValidity, signCsr, trimPem } from './pki-util.js';
import { parseRole, renderRole } from './roles.js';
import { expectOperation, missing, type RequestContext, requireRoot, stringField } from './router.js';
import type { Issuer, LeafNotAfterBehavior, PkiMount } from './state.js';

function keyAlgorithm(body: Record<string, unknown>): { algorithm: KeyAlgorithm; type: string } {
  const type = stringField(body, 'key_type') ?? 'rsa';
  const bits = Number(body.key_bits ?? 0);
  if (type === 'rsa') {
    const size = bits || 2048;
    if (![2048, 3072, 4096].includes(size)) throw badRequest(`unsupported bit length for RSA key: ${size}`);
    return { algorithm: `RSA-${size}` as KeyAlgorithm, type };
  }
  if (type === 'ec') {
    const size = bits || 256;
    if (![256, 384].includes(size)) throw badRequest(`unsupported bit length for EC key: ${size}`);
    return { algorithm: `ECDSA-P${size}` as KeyAlgorithm, type };
  }
  if (type === 'ed25519') return { algorithm: 'Ed25519', type };
  throw badRequest(`unknown key type ${type}`);
}

function addIssuer(mount: PkiMount, chain: string[], keyId: string | undefined, name: string | undefined): Issuer {
  const certificatePem = chain[0]!;
  const issuer: Issuer = {
    id: randomUUID(),
    name: name ?? '',
    certificatePem,
    chain,
    keyId,
    notAfter: inspectCertificate(certificatePem).notAfter,
    leafNotAfterBehavior: 'err',
    signers: new Map(),
  };
  mount.issuers.set(issuer.id, issuer);
  mount.defaultIssuer ??= issuer.id;
  return issuer;
}

/** POST `{m}/root/generate/{internal|exported}`. */
export async function generateRoot(ctx: RequestContext, mount: PkiMount, exported: boolean): Promise<VaultReply> {
  requireRoot(ctx);
  expectOperation(ctx, 'WRITE');
  const commonName = stringField(ctx.body, 'common_name');
  if (!commonName) throw badRequest('the common_name field is required');
  const { algorithm, type } = keyAlgorithm(ctx.body);
  const key = await generateKeyPair({ algorithm });
  const ttl = parseDuration(ctx.body.ttl) || mount.maxLeaseTtl || ctx.state.systemMaxTtl;
  const maxPath = Number(ctx.body.max_path_length ?? -1);
  const root = await createSelfSignedCa({
    privateKeyPem: key.privateKeyPem,
    subject: { commonName },
    lifetimeSeconds: ttl,
    pathLength: maxPath >= 0 ? maxPath : undefined,
    clock: ctx.state.clock,
  });
  const keyId = randomUUID();
  mount.keys.set(keyId, key.privateKeyPem);
  const pem = trimPem(root.certificatePem);
  const issuer = addIssuer(mount, [pem], keyId, stringField(ctx.body, 'issuer_name'));
  return ok(
    {
      certificate: pem,
      issuing_ca: pem,
      serial_number: colonSerial(root.serialNumber),
      expiration: Math.floor(root.notAfter.getTime() / 1000),
      issuer_id: issuer.id,
      issuer_name: issuer.name,
      key_id: keyId,
      ...(exported ? { private_key: key.privateKeyPem.trim(), private_key_type: type } : {}),
    },
    { mountType: 'pki' },
  );
}

/** POST `{m}/intermediate/generate/{internal|exported}`: a key kept in the mount and its CSR. */
export async function generateIntermediate(
  ctx: RequestContext,
  mount: PkiMount,
  exported: boolean,
): Promise<VaultReply> {
  requireRoot(ctx);
  expectOperation(ctx, 'WRITE');
  const commonName = stringField(ctx.body, 'common_name');
  if (!commonName) throw badRequest('the common_name field is required');
  const { algorithm, type } = keyAlgorithm(ctx.body);
  const key = await generateKeyPair({ algorithm });
  const { csrPem } = await createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName } });
  const keyId = randomUUID();
  mount.keys.set(keyId, key.privateKeyPem);
  return ok(
    {
      csr: csrPem.trim(),
      key_id: keyId,
      ...(exported ? { private_key: key.privateKeyPem.trim(), private_key_type: type } : {}),
    },
    { mountType: 'pki' },
  );
}

/** POST `{m}/root/sign-intermediate`: the mount's default issuer signs a CA CSR. */
export async function signIntermediate(ctx: RequestContext, mount: PkiMount): Promise<VaultReply> {
  requireRoot(ctx);
  expectOperation(ctx, 'WRITE');
  const csrPem = stringField(ctx.body, 'csr')?.trim();
  if (!csrPem) throw badRequest('csr contains no data');
  const issuer = findIssuer(mount, stringField(ctx.body, 'issuer_ref'));
  const validity = resolveValidity(ctx.state, mount, issuer, undefined, ctx.body);
  const maxPath = Number(ctx.body.max_path_length ?? -1);
  const signed = await signCsr({
    state: ctx.state,
    mount,
    issuer,
    csrPem,
    lifetimeSeconds: validity.lifetimeSeconds,
    backdate: 30,
    profile: 'intermediate',
    pathLength: Math.max(maxPath, 0),
  });
  return ok(
    {
      certificate: trimPem(signed.certificatePem),
      issuing_ca: issuer.certificatePem,
      ca_chain: [...issuer.chain],
      serial_number: colonSerial(signed.serialNumber),
      expiration: Math.floor(signed.notAfter.getTime() / 1000),
    },
    { warnings: validity.warnings, mountType: 'pki' },
  );
}

/** POST `{m}/intermediate/set-signed`: imports the signed intermediate (and its chain) against a mount key. */
export function setSigned(ctx: RequestContext, mount: PkiMount): VaultReply {
  requireRoot(ctx);
  expectOperation(ctx, 'WRITE');
  const bundle = stringField(ctx.body, 'certificate');
  if (!bundle?.trim()) throw badRequest('no data found in PEM block');
  let chain: string[];
  try {
    chain = splitPemBundle(bundle).map(trimPem);
    for (const pem of chain) inspectCertificate(pem);
  } catch {
    throw badRequest('error parsing certificate');
  }
  const keyId = [...mount.keys].find(([, key]) => privateKeyMatchesCertificate(key, chain[0]!))?.[0];
  if (!keyId) throw badRequest('unable to find matching key for the imported certificate');
  const issuer = addIssuer(mount, chain, keyId, undefined);
  return ok(
    { imported_issuers: [issuer.id], imported_keys: [], mapping: { [issuer.id]: keyId } },
    { mountType: 'pki' },
  );
}

/** `{m}/config/issuers`: read or set the default issuer. */
export function configIssuers(ctx: RequestContext, mount: PkiMount): VaultReply {
  requireRoot(ctx);
  expectOperation(ctx, 'GET', 'WRITE');
  if (ctx.operation === 'WRITE') {
    const ref = stringField(ctx.body, 'default');
    if (!ref) throw badRequest('invalid issuer specification; must be non-empty');
    mount.defaultIssuer = findIssuer(mount, ref).id;
    for (const issuer of mount.issuers.values()) issuer.signers.clear();
  }
  return ok({ default: mount.defaultIssuer ?? '', default_follows_latest_issuer: false }, { mountType: 'pki' });
}

const BEHAVIOURS: readonly LeafNotAfterBehavior[] = ['err', 'truncate', 'permit'];

/** POST `{m}/issuer/{ref}`: issuer_name and leaf_not_after_behavior. */
export function updateIssuer(ctx: RequestContext, mount: PkiMount, ref: string): Issuer {
  requireRoot(ctx);
  const issuer = findIssuer(mount, ref);
  const behaviour = stringField(ctx.body, 'leaf_not_after_behavior');
  if (behaviour !== undefined) {
    if (!BEHAVIOURS.includes(behaviour as LeafNotAfterBehavior)) {
      throw badRequest(`Unknown leaf_not_after_behavior: ${behaviour}`);
    }
    issuer.leafNotAfterBehavior = behaviour as LeafNotAfterBehavior;
  }
  const name = stringField(ctx.body, 'issuer_name');
  if (name !== undefined) issuer.name = name;
  return issuer;
}

/** `{m}/roles` (list) and `{m}/roles/{name}` (write, read, delete). */
export function roles(ctx: RequestContext, mount: PkiMount, name: string | undefined): VaultReply {
  requireRoot(ctx);
  if (name === undefined) {
    expectOperation(ctx, 'LIST');
    if (mount.roles.size === 0) throw missing();
    return ok({ keys: [...mount.roles.keys()].sort() }, { mountType: 'pki' });
  }
  expectOperation(ctx, 'GET', 'WRITE', 'DELETE');
  if (ctx.operation === 'DELETE') {
    mount.roles.delete(name);
    return noContent();
  }
  if (ctx.operation === 'GET') {
    const role = mount.roles.get(name);
    if (!role) throw missing();
    return ok(renderRole(role), { mountType: 'pki' });
  }
  const role = parseRole(ctx.body, mount.roles.get(name));
  mount.roles.set(name, role);
  return ok(renderRole(role), { mountType: 'pki' });
}
