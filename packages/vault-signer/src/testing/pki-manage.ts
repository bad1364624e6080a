/**
 * `@certloop/vault-signer/testing` internal: managing a mount's issuers and keys (contract section 7): `POST` (all
 * fields rewritten) and `PATCH` (only those given) of `{m}/issuer/{ref}`, `DELETE {m}/issuer/{ref}`, `LIST {m}/keys`,
 * and `{m}/key/{ref}` GET, POST (name) and DELETE (refused while an issuer uses the key).
 */
import { createHash } from 'node:crypto';
import { parseList } from './duration.js';
import { badRequest, noContent, ok, type VaultReply } from './http.js';
import {
  ALL_USAGES,
  chainsChanged,
  checkIssuerName,
  deleteIssuer,
  issuerData,
  issuerForRead,
  lookupIssuer,
  lookupKey,
} from './pki-issuers.js';
import { expectOperation, missing, type RequestContext, stringField } from './router.js';
import type { Issuer, IssuerUsage, LeafNotAfterBehavior, PkiMount } from './state.js';

const BEHAVIOURS: readonly LeafNotAfterBehavior[] = ['err', 'truncate', 'permit'];

/** POST (every field, omitted ones reset) or PATCH (only those given) `{m}/issuer/{ref}`. */
export function updateIssuer(ctx: RequestContext, mount: PkiMount, ref: string): VaultReply {
  expectOperation(ctx, 'WRITE', 'PATCH');
  const issuer = issuerForRead(mount, ref);
  const patch = ctx.operation === 'PATCH';
  const given = (field: string) => ctx.body[field] !== undefined && ctx.body[field] !== null;
  // validate everything before changing anything
  const name = given('issuer_name') ? (stringField(ctx.body, 'issuer_name') ?? '') : patch ? issuer.name : '';
  checkIssuerName(mount, name, issuer);
  const behaviour = given('leaf_not_after_behavior')
    ? stringField(ctx.body, 'leaf_not_after_behavior')!
    : patch
      ? issuer.leafNotAfterBehavior
      : 'err';
  if (!BEHAVIOURS.includes(behaviour as LeafNotAfterBehavior)) {
    throw badRequest(`Unknown leaf_not_after_behavior: ${behaviour}`);
  }
  let usage = issuer.usage;
  if (given('usage') || !patch) {
    const wanted = given('usage') ? parseList(ctx.body.usage) : [...ALL_USAGES];
    const unknown = wanted.filter((u) => !ALL_USAGES.includes(u as IssuerUsage));
    if (unknown.length > 0) throw badRequest(`Unable to parse specified usages: unknown usage: ${unknown[0]}`);
    usage = new Set(wanted as IssuerUsage[]);
  }
  let manualChain = issuer.manualChain;
  if (given('manual_chain') || !patch) {
    const refs = given('manual_chain') ? parseList(ctx.body.manual_chain) : [];
    manualChain = refs.length === 0 ? undefined : resolveManualChain(mount, issuer, refs);
  }
  issuer.name = name;
  issuer.leafNotAfterBehavior = behaviour as LeafNotAfterBehavior;
  issuer.usage = usage;
  if (manualChain !== issuer.manualChain) {
    issuer.manualChain = manualChain;
    chainsChanged(mount);
  }
  issuer.signers.clear();
  return ok(issuerData(mount, issuer), { mountType: 'pki' });
}

function resolveManualChain(mount: PkiMount, self: Issuer, refs: string[]): string[] {
  const ids = refs.map((ref, index) => {
    if (ref === 'self') return self.id;
    const found = lookupIssuer(mount, ref);
    if (typeof found === 'string') throw badRequest(`Unable to resolve issuer ${ref}: ${found}`);
    if (index === 0 && found !== self) {
      throw badRequest(`expected first cert in chain to be a self-reference, but was: ${ref}`);
    }
    return found.id;
  });
  if (ids[0] !== self.id) throw badRequest(`expected first cert in chain to be a self-reference, but was: ${refs[0]}`);
  return ids;
}

/** The `The name X was in use by at least N roles` warnings of Vault's issuer deletion. */
function dereferenceWarnings(mount: PkiMount, name: string): string[] {
  const inUse = [...mount.roles.values()].filter((role) => role.issuer_ref === name).length;
  return inUse > 0 ? [`The name ${name} was in use by at least ${inUse} roles`] : [];
}

/** DELETE `{m}/issuer/{ref}`: the key stays; unknown refs too answer 204; deleting the default is a warning. */
export function removeIssuer(ctx: RequestContext, mount: PkiMount, ref: string): VaultReply {
  expectOperation(ctx, 'DELETE');
  const issuer = lookupIssuer(mount, ref);
  if (typeof issuer === 'string') return noContent();
  const warnings = [
    ...(issuer.name ? dereferenceWarnings(mount, issuer.name) : []),
    ...dereferenceWarnings(mount, issuer.id),
  ];
  if (deleteIssuer(mount, issuer)) {
    warnings.push(
      `Deleted issuer ${issuer.id} (via issuer_ref ${ref}); this was configured as the default issuer. Operations without an explicit issuer will not work until a new default is configured.`,
      ...dereferenceWarnings(mount, 'default'),
    );
  }
  return warnings.length > 0 ? ok(null, { mountType: 'pki', warnings }) : noContent();
}

/** LIST `{m}/keys`: ids and `key_info` (`key_name`, `is_default`); 404 with none. */
export function listKeys(ctx: RequestContext, mount: PkiMount): VaultReply {
  expectOperation(ctx, 'LIST');
  if (mount.keys.size === 0) throw missing();
  const keys = [...mount.keys.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  return ok(
    {
      keys: keys.map((k) => k.id),
      key_info: Object.fromEntries(
        keys.map((k) => [k.id, { key_name: k.name, is_default: mount.defaultKey === k.id }]),
      ),
    },
    { mountType: 'pki' },
  );
}

/** RFC 5280 method 1 Subject Key Identifier of an SPKI: SHA-1 of its BIT STRING's bits, colon hex. */
function subjectKeyId(spkiDer: Buffer): string {
  // SEQUENCE { AlgorithmIdentifier, BIT STRING }: skip the outer header and the algorithm, then the BIT STRING header
  const header = (at: number) => {
    const first = spkiDer[at + 1]!;
    return first & 0x80
      ? { length: spkiDer.readUIntBE(at + 2, first & 0x7f), size: 2 + (first & 0x7f) }
      : { length: first, size: 2 };
  };
  const outer = header(0);
  const algorithm = header(outer.size);
  const bitsAt = outer.size + algorithm.size + algorithm.length;
  const bits = header(bitsAt);
  const content = spkiDer.subarray(bitsAt + bits.size + 1, bitsAt + bits.size + bits.length);
  return (createHash('sha1').update(content).digest('hex').match(/../g) ?? []).join(':');
}

/** `{m}/key/{ref}`: GET, POST `{key_name}`, DELETE (400 while an issuer uses it; unknown: 204). */
export function keyEndpoint(ctx: RequestContext, mount: PkiMount, ref: string): VaultReply {
  expectOperation(ctx, 'GET', 'WRITE', 'DELETE');
  const key = lookupKey(mount, ref);
  if (ctx.operation === 'DELETE') {
    if (!key) return noContent();
    const user = [...mount.issuers.values()].find((i) => i.keyId === key.id);
    if (user) throw badRequest(`Failed to Delete Key.  Key in Use by Issuer: ${user.id}`);
    mount.keys.delete(key.id);
    if (mount.defaultKey !== key.id) return noContent();
    mount.defaultKey = undefined;
    return ok(null, {
      mountType: 'pki',
      warnings: [
        `Deleted key ${key.id} (via key_ref ${ref}); this was configured as the default key. Operations without an explicit key will not work until a new default is configured.`,
      ],
    });
  }
  if (!key) throw badRequest(`unable to resolve key id for reference${ref}`);
  const warnings: string[] = [];
  if (ctx.operation === 'WRITE') {
    const name = stringField(ctx.body, 'key_name') ?? '';
    if (name !== '' && !/^[\w.-]+$/.test(name)) throw badRequest('new key name outside of valid character limits');
    if (name !== '' && [...mount.keys.values()].some((k) => k !== key && k.name === name)) {
      throw badRequest('key name already in use');
    }
    key.name = name;
    if (name === '')
      warnings.push(`Name successfully deleted, you will now need to reference this key by it's Id: ${key.id}`);
    return ok({ key_id: key.id, key_name: key.name, key_type: key.type }, { mountType: 'pki', warnings });
  }
  return ok(
    { key_id: key.id, key_name: key.name, key_type: key.type, subject_key_id: subjectKeyId(key.spkiDer) },
    { mountType: 'pki' },
  );
}
