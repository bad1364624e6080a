/**
 * `@certloop/vault-signer/testing` internal: `{m}/sign/{role}`, `{m}/issue/{role}`, `{m}/issuer/{ref}/sign|issue/{role}`
 * and `{m}/sign-verbatim[/{role}]` (contract sections 1 to 3).
 */
import { createPrivateKey } from 'node:crypto';
import { createCsr, generateKeyPair, type KeyAlgorithm, type ParsedCsr, parseCsr } from '@certloop/core';
import { parseBool, parseList } from './duration.js';
import { badRequest, ok, type VaultReply } from './http.js';
import { checkKey, checkNames, type RequestedNames } from './names.js';
import { issuerForSigning } from './pki-issuers.js';
import { chainFor, colonSerial, profileOf, resolveValidity, signCsr, trimPem } from './pki-util.js';
import type { PkiRole } from './roles.js';
import { type RequestContext, stringField } from './router.js';
import type { PkiMount } from './state.js';

function readCsr(body: Record<string, unknown>): { pem: string; csr: ParsedCsr } {
  const pem = stringField(body, 'csr')?.trim();
  if (!pem) throw badRequest('csr contains no data');
  try {
    return { pem, csr: parseCsr(pem) };
  } catch (err) {
    throw badRequest(`certificate request could not be parsed: ${(err as Error).message}`);
  }
}

function roleOf(mount: PkiMount, name: string): PkiRole {
  const role = mount.roles.get(name);
  if (!role) throw badRequest(`unknown role: ${name}`);
  return role;
}

async function answer(
  ctx: RequestContext,
  mount: PkiMount,
  input: { issuerRef: string | undefined; role: PkiRole | undefined; csrPem: string; warnings: string[] },
  extra: Record<string, unknown> = {},
): Promise<VaultReply> {
  const issuer = issuerForSigning(mount, input.issuerRef ?? input.role?.issuer_ref);
  const validity = resolveValidity(ctx.state, mount, issuer, input.role, ctx.body);
  const signed = await signCsr({
    state: ctx.state,
    mount,
    issuer,
    csrPem: input.csrPem,
    lifetimeSeconds: validity.lifetimeSeconds,
    backdate: input.role?.not_before_duration ?? 30,
    profile: profileOf(input.role),
  });
  const format = stringField(ctx.body, 'format') ?? 'pem';
  if (!['pem', 'der', 'pem_bundle'].includes(format)) throw badRequest(`unknown format: ${format}`);
  const chain = chainFor(mount, issuer, parseBool(ctx.body.remove_roots_from_chain, false));
  const leaf = trimPem(signed.certificatePem);
  const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
  // Vault's pem_bundle is the private key (issue only), the certificate, then the chain
  const key = typeof extra.private_key === 'string' ? [extra.private_key] : [];
  const certificate =
    format === 'der' ? der(leaf) : format === 'pem_bundle' ? [...key, leaf, ...chain].join('\n') : leaf;
  return ok(
    {
      certificate,
      issuing_ca: format === 'der' ? der(issuer.certificatePem) : issuer.certificatePem,
      ca_chain: format === 'der' ? chain.map(der) : chain,
      serial_number: colonSerial(signed.serialNumber),
      expiration: Math.floor(signed.notAfter.getTime() / 1000),
      ...extra,
    },
    { warnings: [...input.warnings, ...validity.warnings], mountType: 'pki' },
  );
}

/** Names the certificate will carry: from the CSR (use_csr_*) or from the request, with Vault's warnings. */
function namesFor(
  role: PkiRole,
  csr: ParsedCsr,
  body: Record<string, unknown>,
): { names: RequestedNames; warnings: string[] } {
  const warnings: string[] = [];
  const requestCn = stringField(body, 'common_name');
  const requestAlt = parseList(body.alt_names);
  if (role.use_csr_common_name && requestCn !== undefined) {
    warnings.push('the common_name field was provided but the role is set with "use_csr_common_name" set to true');
  }
  if (role.use_csr_sans && (requestAlt.length > 0 || body.ip_sans || body.uri_sans)) {
    warnings.push('the alt_names field was provided but the role is set with "use_csr_sans" set to true');
  }
  const cn = role.use_csr_common_name ? csr.subject.commonName : requestCn;
  if (cn !== csr.subject.commonName) {
    // certloop's signer copies the CSR's subject; the emulator cannot put another CN in the certificate
    throw badRequest("emulator: a common_name other than the CSR's is not supported (use_csr_common_name=false)");
  }
  const sans = role.use_csr_sans
    ? csr.sans
    : { dnsNames: requestAlt, ipAddresses: parseList(body.ip_sans), uris: parseList(body.uri_sans), emails: [] };
  if (!role.use_csr_sans && JSON.stringify(sans) !== JSON.stringify({ ...csr.sans, emails: [] })) {
    throw badRequest("emulator: SANs other than the CSR's are not supported (use_csr_sans=false)");
  }
  return {
    names: { commonName: cn, dnsNames: sans.dnsNames, ipAddresses: sans.ipAddresses, uris: sans.uris },
    warnings,
  };
}

/** POST `{m}/sign/{role}` and `{m}/issuer/{ref}/sign/{role}`. */
export async function signWithRole(
  ctx: RequestContext,
  mount: PkiMount,
  roleName: string,
  issuerRef?: string,
): Promise<VaultReply> {
  const role = roleOf(mount, roleName);
  const { pem, csr } = readCsr(ctx.body);
  checkKey(role, csr.publicKey);
  const { names, warnings } = namesFor(role, csr, ctx.body);
  checkNames(role, names);
  return answer(ctx, mount, { issuerRef, role, csrPem: pem, warnings });
}

/** POST `{m}/sign-verbatim[/{role}]`: subject and SANs copied from the CSR, no name policy. */
export async function signVerbatim(ctx: RequestContext, mount: PkiMount, roleName?: string): Promise<VaultReply> {
  const role = roleName ? roleOf(mount, roleName) : undefined;
  const { pem } = readCsr(ctx.body);
  return answer(ctx, mount, { issuerRef: undefined, role, csrPem: pem, warnings: [] });
}

const KEY_ALGORITHM: Record<string, KeyAlgorithm> = {
  'rsa:2048': 'RSA-2048',
  'rsa:3072': 'RSA-3072',
  'rsa:4096': 'RSA-4096',
  'ec:256': 'ECDSA-P256',
  'ec:384': 'ECDSA-P384',
  'ed25519:0': 'Ed25519',
};

/** POST `{m}/issue/{role}` and `{m}/issuer/{ref}/issue/{role}`: Vault generates the key. */
export async function issueWithRole(
  ctx: RequestContext,
  mount: PkiMount,
  roleName: string,
  issuerRef?: string,
): Promise<VaultReply> {
  const role = roleOf(mount, roleName);
  if (role.key_type === 'any') {
    throw badRequest('role key type "any" not allowed for issuing certificates, only signing');
  }
  const algorithm = KEY_ALGORITHM[`${role.key_type}:${role.key_type === 'ed25519' ? 0 : role.key_bits}`];
  if (!algorithm) throw badRequest(`unsupported key: ${role.key_type} ${role.key_bits}`);
  const names: RequestedNames = {
    commonName: stringField(ctx.body, 'common_name'),
    dnsNames: parseList(ctx.body.alt_names),
    ipAddresses: parseList(ctx.body.ip_sans),
    uris: parseList(ctx.body.uri_sans),
  };
  checkNames(role, names);
  const key = await generateKeyPair({ algorithm });
  const sansForCn =
    names.commonName && !parseBool(ctx.body.exclude_cn_from_sans, false) && !names.commonName.includes('@')
      ? [names.commonName]
      : [];
  const { csrPem } = await createCsr({
    privateKeyPem: key.privateKeyPem,
    subject: names.commonName ? { commonName: names.commonName } : {},
    dnsNames: [...new Set([...sansForCn, ...names.dnsNames])],
    ipAddresses: names.ipAddresses,
    uris: names.uris,
  });
  const pkcs8 = stringField(ctx.body, 'private_key_format') === 'pkcs8';
  const type = role.key_type;
  const privateKey =
    pkcs8 || type === 'ed25519'
      ? key.privateKeyPem.trim()
      : String(
          createPrivateKey(key.privateKeyPem).export({ type: type === 'rsa' ? 'pkcs1' : 'sec1', format: 'pem' }),
        ).trim();
  return answer(
    ctx,
    mount,
    { issuerRef, role, csrPem, warnings: [] },
    { private_key: privateKey, private_key_type: type },
  );
}
