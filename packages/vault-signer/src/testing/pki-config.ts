/**
 * `@certloop/vault-signer/testing` internal: what setup scripts and CA rotations call on a PKI mount (contract sections
 * 6 and 7): root generation and rotation, intermediate generation and cross-sign CSRs, sign-intermediate,
 * set-signed and issuer imports, `config/issuers`, `root/replace`, and roles.
 */
import { createPublicKey } from 'node:crypto';
import { createCsr, createSelfSignedCa, generateKeyPair, type KeyAlgorithm, splitPemBundle } from '@certloop/core';
import { parseBool, parseDuration } from './duration.js';
import { badRequest, noContent, ok, type VaultReply } from './http.js';
import {
  addKey,
  chainOf,
  checkIssuerName,
  importIssuer,
  issuerForSigning,
  lookupIssuer,
  lookupKey,
  setDefaultIssuer,
} from './pki-issuers.js';
import { colonSerial, resolveValidity, signCsr, trimPem } from './pki-util.js';
import { parseRole, renderRole } from './roles.js';
import { expectOperation, missing, type RequestContext, stringField } from './router.js';
import type { Issuer, PkiKey, PkiMount } from './state.js';

/** Vault's warning on every new CA certificate of a mount without `config/urls`. */
export const AIA_WARNING =
  "This mount hasn't configured any authority information access (AIA) fields; this may make it harder for systems to find missing certificates in the chain or to validate revocation status of certificates. Consider updating /config/urls or the newly generated issuer with this information.";
const TRUNCATION_WARNING = "the signed intermediary CA certificate's notAfter was truncated to the issuer's notAfter";

/** How a root or intermediate key is had: a new one (`internal`, `exported`) or a stored one (`existing`). */
export type KeySource = 'internal' | 'exported' | 'existing';

function keyAlgorithm(body: Record<string, unknown>): { algorithm: KeyAlgorithm; type: PkiKey['type'] } {
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

/** A new key (`internal`, `exported`) or the stored one `key_ref` names (`existing`, cross-sign: default `default`). */
async function keyFor(mount: PkiMount, body: Record<string, unknown>, source: KeySource): Promise<PkiKey> {
  if (source === 'existing') {
    const ref = stringField(body, 'key_ref') || 'default';
    const key = lookupKey(mount, ref);
    if (!key) throw badRequest(`unable to find PKI key for reference: ${ref}`);
    return key;
  }
  const { algorithm, type } = keyAlgorithm(body);
  const generated = await generateKeyPair({ algorithm });
  return addKey(mount, generated.privateKeyPem, type, stringField(body, 'key_name') ?? '').key;
}

const exportedKey = (key: PkiKey) => ({ private_key: key.privateKeyPem.trim(), private_key_type: key.type });

/**
 * POST `{m}/root/generate/{type}` (and `issuers/generate/root/{type}`), and `{m}/root/rotate/{type}`: always a new
 * issuer (and, but for `existing`, a new key). Rotation names an unnamed issuer `next` while that name is free. The
 * default issuer is unchanged once one is set, unless `default_follows_latest_issuer`.
 */
export async function generateRoot(
  ctx: RequestContext,
  mount: PkiMount,
  source: KeySource,
  rotate: boolean,
): Promise<VaultReply> {
  expectOperation(ctx, 'WRITE');
  const commonName = stringField(ctx.body, 'common_name');
  if (!commonName) throw badRequest('the common_name field is required');
  let issuerName = stringField(ctx.body, 'issuer_name') ?? '';
  if (rotate && issuerName === '' && typeof lookupIssuer(mount, 'next') === 'string') issuerName = 'next';
  checkIssuerName(mount, issuerName);
  const ttl = parseDuration(ctx.body.ttl, 'ttl') || mount.maxLeaseTtl || ctx.state.systemMaxTtl;
  const maxPath = Number(ctx.body.max_path_length ?? -1);
  const key = await keyFor(mount, ctx.body, source);
  const root = await createSelfSignedCa({
    privateKeyPem: key.privateKeyPem,
    subject: { commonName },
    lifetimeSeconds: ttl,
    pathLength: maxPath >= 0 ? maxPath : undefined,
    clock: ctx.state.clock,
  });
  const pem = trimPem(root.certificatePem);
  const { issuer } = importIssuer(mount, pem, issuerName);
  return ok(
    {
      certificate: pem,
      issuing_ca: pem,
      serial_number: colonSerial(root.serialNumber),
      expiration: Math.floor(root.notAfter.getTime() / 1000),
      issuer_id: issuer.id,
      issuer_name: issuer.name,
      key_id: key.id,
      key_name: key.name,
      ...(source === 'exported' ? exportedKey(key) : {}),
    },
    { mountType: 'pki', warnings: [AIA_WARNING] },
  );
}

/**
 * POST `{m}/intermediate/generate/{type}` (and `issuers/generate/intermediate/{type}`) and
 * `{m}/intermediate/cross-sign`: a CSR for a new or a stored key. No issuer is made until `set-signed`.
 */
export async function generateIntermediate(
  ctx: RequestContext,
  mount: PkiMount,
  source: KeySource,
): Promise<VaultReply> {
  expectOperation(ctx, 'WRITE');
  const key = await keyFor(mount, ctx.body, source);
  // a cross-sign CSR names the subject of the issuer using the key unless told otherwise, so the chains link up
  const sameKeyIssuer = [...mount.issuers.values()].find((i) => i.keyId === key.id);
  const commonName = stringField(ctx.body, 'common_name') || sameKeyIssuer?.x509.subject.match(/(?:^|\n)CN=(.*)/)?.[1];
  if (!commonName) throw badRequest('the common_name field is required');
  const { csrPem } = await createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName } });
  return ok(
    { csr: csrPem.trim(), key_id: key.id, ...(source === 'exported' ? exportedKey(key) : {}) },
    { mountType: 'pki' },
  );
}

const der64 = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');

/**
 * POST `{m}/root/sign-intermediate` (issuer from `issuer_ref`, default `default`) and
 * `{m}/issuer/{ref}/sign-intermediate`. `ca_chain` is the new certificate then the signer's chain; `pem_bundle` puts
 * that whole chain in `certificate`. The new certificate's notAfter is capped at the signer's (Vault 1.17+) unless
 * `enforce_leaf_not_after_behavior`, which applies the issuer's `leaf_not_after_behavior` instead.
 */
export async function signIntermediate(ctx: RequestContext, mount: PkiMount, pathRef?: string): Promise<VaultReply> {
  expectOperation(ctx, 'WRITE');
  const format = stringField(ctx.body, 'format') || 'pem';
  if (!['pem', 'der', 'pem_bundle'].includes(format)) {
    throw badRequest('The "format" path parameter must be "pem", "der" or "pem_bundle"');
  }
  const csrPem = stringField(ctx.body, 'csr')?.trim();
  if (!csrPem) throw badRequest('csr contains no data');
  const issuer = issuerForSigning(mount, pathRef ?? (stringField(ctx.body, 'issuer_ref') || 'default'));
  const enforce = parseBool(ctx.body.enforce_leaf_not_after_behavior, false);
  // not enforced (the default since 1.17): the signer caps notAfter at exactly the issuer's own
  const validity = resolveValidity(
    ctx.state,
    mount,
    enforce ? issuer : { ...issuer, notAfter: new Date(8.64e15) },
    undefined,
    ctx.body,
  );
  const maxPath = Number(ctx.body.max_path_length ?? -1);
  const signed = await signCsr({
    state: ctx.state,
    mount,
    issuer,
    csrPem,
    lifetimeSeconds: validity.lifetimeSeconds,
    backdate: parseDuration(ctx.body.not_before_duration, 'not_before_duration') || 30,
    profile: 'intermediate',
    pathLength: Math.max(maxPath, 0),
  });
  const certificate = trimPem(signed.certificatePem);
  const chain = [certificate, ...chainOf(mount, issuer)];
  const warnings = [...validity.warnings];
  if (!enforce && signed.notAfter.getTime() === Math.floor(issuer.notAfter.getTime() / 1000) * 1000) {
    warnings.push(TRUNCATION_WARNING);
  }
  warnings.unshift(AIA_WARNING);
  return ok(
    {
      certificate: format === 'der' ? der64(certificate) : format === 'pem_bundle' ? chain.join('\n') : certificate,
      issuing_ca: format === 'der' ? der64(issuer.certificatePem) : issuer.certificatePem,
      ca_chain: format === 'der' ? chain.map(der64) : chain,
      serial_number: colonSerial(signed.serialNumber),
      expiration: Math.floor(signed.notAfter.getTime() / 1000),
    },
    { warnings, mountType: 'pki' },
  );
}

/**
 * POST `{m}/intermediate/set-signed` (= `issuers/import/cert`) and `issuers/import/bundle` (keys allowed): every
 * certificate becomes an issuer (the same one twice is reported as existing), keyed when a stored key matches.
 */
export function importBundle(
  ctx: RequestContext,
  mount: PkiMount,
  field: 'certificate' | 'pem_bundle',
  keysAllowed: boolean,
): VaultReply {
  expectOperation(ctx, 'WRITE');
  const bundle =
    stringField(ctx.body, field) ?? stringField(ctx.body, field === 'certificate' ? 'pem_bundle' : 'certificate');
  if (!bundle?.trim()) throw badRequest('no data found in PEM block');
  const keyBlocks = [...bundle.matchAll(/-----BEGIN ([A-Z ]*PRIVATE KEY)-----[\s\S]*?-----END \1-----/g)].map(
    (m) => m[0],
  );
  if (keyBlocks.length > 0 && !keysAllowed) {
    throw badRequest('private keys found in the PEM bundle but not allowed by the path; use /issuers/import/bundle');
  }
  const importedKeys: string[] = [];
  const existingKeys: string[] = [];
  for (const [index, keyPem] of keyBlocks.entries()) {
    let type: PkiKey['type'];
    try {
      const kind = createPublicKey(keyPem).asymmetricKeyType;
      type = kind === 'rsa' ? 'rsa' : kind === 'ed25519' ? 'ed25519' : 'ec';
    } catch (err) {
      throw badRequest(`Error parsing key ${index}: ${(err as Error).message}`);
    }
    const { key, existing } = addKey(mount, keyPem, type);
    (existing ? existingKeys : importedKeys).push(key.id);
  }
  const certificates = splitPemBundle(
    bundle.replace(/-----BEGIN ([A-Z ]*PRIVATE KEY)-----[\s\S]*?-----END \1-----/g, ''),
  ).map(trimPem);
  const importedIssuers: string[] = [];
  const existingIssuers: string[] = [];
  const mapping: Record<string, string> = {};
  for (const [index, pem] of certificates.entries()) {
    let result: { issuer: Issuer; existing: boolean };
    try {
      result = importIssuer(mount, pem);
    } catch (err) {
      throw badRequest(`Error parsing issuer ${index}: ${(err as Error).message}\n${pem}`);
    }
    if (!result.issuer.x509.ca) {
      mount.issuers.delete(result.issuer.id);
      throw badRequest(`Error parsing issuer ${index}: refusing to import non-CA certificate\n${pem}`);
    }
    mapping[result.issuer.id] = result.issuer.keyId ?? '';
    (result.existing ? existingIssuers : importedIssuers).push(result.issuer.id);
  }
  const orNull = (list: string[]) => (list.length > 0 ? list : null);
  return ok(
    {
      mapping,
      imported_keys: orNull(importedKeys),
      imported_issuers: orNull(importedIssuers),
      existing_keys: orNull(existingKeys),
      existing_issuers: orNull(existingIssuers),
    },
    { mountType: 'pki' },
  );
}

function configIssuersData(mount: PkiMount): Record<string, unknown> {
  return { default: mount.defaultIssuer ?? '', default_follows_latest_issuer: mount.defaultFollowsLatestIssuer };
}

/** `{m}/config/issuers` GET and POST (`default`, `default_follows_latest_issuer`), and POST `{m}/root/replace`. */
export function configIssuers(ctx: RequestContext, mount: PkiMount, replace = false): VaultReply {
  expectOperation(ctx, ...(replace ? (['WRITE'] as const) : (['GET', 'WRITE'] as const)));
  if (ctx.operation === 'WRITE') {
    const ref = stringField(ctx.body, 'default') ?? (replace ? 'next' : undefined);
    const follows = ctx.body.default_follows_latest_issuer;
    if (ref === undefined && follows === undefined) {
      throw badRequest("Invalid issuer specification; must be non-empty and can't be 'default'.");
    }
    if (ref !== undefined) {
      if (ref === '' || ref === 'default') {
        throw badRequest("Invalid issuer specification; must be non-empty and can't be 'default'.");
      }
      const issuer = lookupIssuer(mount, ref);
      if (typeof issuer === 'string') throw badRequest(`Error resolving issuer reference: ${issuer}`);
      setDefaultIssuer(mount, issuer);
    }
    if (follows !== undefined) mount.defaultFollowsLatestIssuer = parseBool(follows, false);
  }
  return ok(configIssuersData(mount), { mountType: 'pki' });
}

/** `{m}/roles` (list) and `{m}/roles/{name}` (write, read, delete). */
export function roles(ctx: RequestContext, mount: PkiMount, name: string | undefined): VaultReply {
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
  // the role's issuer_ref is resolved at use, as Vault does (an unknown one fails issue and sign, not the write)
  return ok(renderRole(role), { mountType: 'pki' });
}
