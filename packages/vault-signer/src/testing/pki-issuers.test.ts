import { X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { splitPemBundle } from '@certloop/core';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultCertificateAuthority } from '../signer.js';
import { makeCsr } from '../test-support.js';
import { startVaultEmulator, type VaultEmulator } from './index.js';

const loaded = createRequire(import.meta.url)('mustache') as { render?: unknown; default?: unknown };
const mustache = typeof loaded.render === 'function' ? loaded : loaded.default;

let emu: VaultEmulator;
let vault: nodeVault.client;
// biome-ignore lint/suspicious/noExplicitAny: wire bodies are checked field by field
type Data = Record<string, any>;
const write = async (path: string, body: Data = {}): Promise<Data> => (await vault.write(path, body))?.data;
const read = async (path: string): Promise<Data> => (await vault.read(path)).data;
const failure = async (call: () => Promise<unknown>) => {
  const err = (await call().then(
    () => undefined,
    (e: unknown) => e,
  )) as { response: { statusCode: number; body: { errors: string[] } } } | undefined;
  return err ? { status: err.response.statusCode, message: err.response.body?.errors?.[0] } : undefined;
};
const cn = (pem: string) => new X509Certificate(pem).subject.replace(/^CN=/, '');

beforeAll(async () => {
  emu = await startVaultEmulator();
  vault = nodeVault({ endpoint: emu.endpoint, token: emu.rootToken, noCustomHTTPVerbs: true, mustache } as never);
});
afterAll(() => emu.close());

describe("Vault's intermediate tutorial (issue 14 item 10)", () => {
  it('sign-intermediate with pem_bundle gives [intermediate, root]; set-signed imports both; trustBundle() is the root', async () => {
    await vault.mount({ mount_point: 'pki', type: 'pki', config: { max_lease_ttl: '87600h' } });
    const root = await write('pki/root/generate/internal', {
      common_name: 'example.com',
      issuer_name: 'root-2023',
      ttl: '87600h',
      key_type: 'ec',
    });
    await vault.mount({ mount_point: 'pki_int', type: 'pki', config: { max_lease_ttl: '43800h' } });
    const { csr } = await write('pki_int/intermediate/generate/internal', {
      common_name: 'example.com Intermediate Authority',
      key_type: 'ec',
    });
    const signed = await write('pki/root/sign-intermediate', {
      issuer_ref: 'root-2023',
      csr,
      format: 'pem_bundle',
      ttl: '43800h',
    });
    const bundle = splitPemBundle(signed.certificate).map((p) => p.trim());
    expect(bundle.map(cn)).toEqual(['example.com Intermediate Authority', 'example.com']);
    expect(signed.ca_chain.map(cn)).toEqual(['example.com Intermediate Authority', 'example.com']);
    expect(signed.issuing_ca).toBe(root.certificate);
    const plain = await write('pki/root/sign-intermediate', { csr, format: 'pem', ttl: '1h' });
    expect(plain.certificate).not.toContain('\n-----BEGIN');
    expect(plain.ca_chain.map(cn)).toEqual(['example.com Intermediate Authority', 'example.com']);
    const der = await write('pki/root/sign-intermediate', { csr, format: 'der', ttl: '1h' });
    expect(new X509Certificate(Buffer.from(der.ca_chain[1], 'base64')).subject).toBe('CN=example.com');
    const imported = await write('pki_int/intermediate/set-signed', { certificate: signed.certificate });
    expect(imported.imported_issuers).toHaveLength(2);
    expect(imported.imported_keys).toBeNull();
    const [intId, rootId] = imported.imported_issuers;
    expect(imported.mapping[intId]).not.toBe('');
    expect(imported.mapping[rootId]).toBe(''); // the root's key is not in pki_int
    expect((await read('pki_int/config/issuers')).default).toBe(intId);
    await write('pki_int/roles/example-dot-com', {
      allowed_domains: 'example.com',
      allow_subdomains: true,
      key_type: 'any',
    });
    await write('sys/policies/acl/signer', { policy: 'path "pki_int/sign/*" { capabilities = ["update"] }' });
    const creator = nodeVault({
      endpoint: emu.endpoint,
      token: emu.rootToken,
      noCustomHTTPVerbs: true,
      mustache,
    } as never);
    const token = (await creator.tokenCreate({ policies: ['signer'], ttl: '1h' })).auth.client_token;
    const ca = new VaultCertificateAuthority({
      endpoint: emu.endpoint,
      auth: { method: 'token', token },
      mount: 'pki_int',
      role: 'example-dot-com',
    });
    try {
      expect((await ca.trustBundle()).trim()).toBe(root.certificate);
      const leaf = await ca.sign({
        csrPem: (await makeCsr({ commonName: 'test.example.com' })).csrPem,
        lifetimeSeconds: 3600,
        profile: 'server',
      });
      expect(cn(leaf.chainPem)).toBe('example.com Intermediate Authority');
      // importing the same bundle again adds nothing
      const again = await write('pki_int/intermediate/set-signed', { certificate: signed.certificate });
      expect(again.imported_issuers).toBeNull();
      expect(again.existing_issuers).toEqual([intId, rootId]);
    } finally {
      ca.close();
    }
  });

  it('issue and sign with format=pem_bundle: the key (issue only), the certificate, then ca_chain', async () => {
    await write('pki_int/roles/ec', { allow_any_name: true, key_type: 'ec' });
    const issued = await write('pki_int/issue/ec', { common_name: 'bundle.example.com', format: 'pem_bundle' });
    const blocks = issued.certificate.split(/(?=-----BEGIN )/).map((b: string) => b.trim());
    expect(blocks[0]).toBe(issued.private_key);
    expect(blocks.slice(2)).toEqual(issued.ca_chain);
    expect(cn(blocks[1])).toBe('bundle.example.com');
    const csr = (await makeCsr({ commonName: 'signed.example.com' })).csrPem;
    const signed = await write('pki_int/sign/ec', { csr, format: 'pem_bundle' });
    expect(splitPemBundle(signed.certificate).map((p) => p.trim())).toEqual([
      expect.stringContaining('BEGIN CERTIFICATE'),
      ...signed.ca_chain,
    ]);
  });

  it("sign-intermediate caps the intermediate at the signer's notAfter, with Vault's warning", async () => {
    await vault.mount({ mount_point: 'short', type: 'pki', config: { max_lease_ttl: '87600h' } });
    const root = await write('short/root/generate/internal', { common_name: 'short root', ttl: '1h', key_type: 'ec' });
    const { csr } = await write('short/intermediate/generate/internal', { common_name: 'short int', key_type: 'ec' });
    const answer = await vault.write('short/root/sign-intermediate', { csr, ttl: '48h' });
    expect(answer.data.expiration).toBe(root.expiration);
    expect(answer.warnings).toContain(
      "the signed intermediary CA certificate's notAfter was truncated to the issuer's notAfter",
    );
    expect(
      await failure(() =>
        vault.write('short/root/sign-intermediate', { csr, ttl: '48h', enforce_leaf_not_after_behavior: true }),
      ),
    ).toMatchObject({ status: 400, message: expect.stringContaining('beyond the expiration of the CA certificate') });
  });
});

describe('several issuers in one mount (contract section 7)', () => {
  it('rotate, list, read, name, default, cross-sign, replace, delete: ids, names and chains as Vault gives them', async () => {
    await vault.mount({ mount_point: 'rot', type: 'pki', config: { max_lease_ttl: '87600h' } });
    const a = await write('rot/root/generate/internal', { common_name: 'root A', key_type: 'ec', issuer_name: 'a' });
    expect(a.issuer_id).toMatch(/^[0-9a-f-]{36}$/);
    const b = await write('rot/root/rotate/internal', { common_name: 'root B', key_type: 'ec' });
    expect(b.issuer_name).toBe('next');
    expect(b.key_id).not.toBe(a.key_id);
    const config = await read('rot/config/issuers');
    expect(config).toEqual({ default: a.issuer_id, default_follows_latest_issuer: false });
    // LIST issuers needs no token
    const anonymous = nodeVault({ endpoint: emu.endpoint, noCustomHTTPVerbs: true, mustache } as never);
    const list = (await anonymous.list('rot/issuers')).data;
    expect(list.keys.sort()).toEqual([a.issuer_id, b.issuer_id].sort());
    expect(list.key_info[a.issuer_id]).toMatchObject({ issuer_name: 'a', is_default: true, key_id: a.key_id });
    expect(list.key_info[b.issuer_id]).toMatchObject({ issuer_name: 'next', is_default: false });
    expect(list.key_info[a.issuer_id].serial_number).toBe(a.serial_number);
    const keys = (await vault.list('rot/keys')).data;
    expect(keys.key_info[a.key_id]).toEqual({ key_name: '', is_default: true });
    const key = await read(`rot/key/${b.key_id}`);
    expect(key).toMatchObject({ key_id: b.key_id, key_name: '', key_type: 'ec' });
    expect(key.subject_key_id).toMatch(/^([0-9a-f]{2}:){19}[0-9a-f]{2}$/);
    expect(new X509Certificate(b.certificate).toLegacyObject().ext_key_usage).toBeUndefined();
    // the issuer, by id or name, token or not
    const issuerB = await read('rot/issuer/next');
    expect(issuerB).toMatchObject({
      issuer_id: b.issuer_id,
      issuer_name: 'next',
      key_id: b.key_id,
      certificate: `${b.certificate}\n`,
      ca_chain: [`${b.certificate}\n`],
      manual_chain: null,
      leaf_not_after_behavior: 'err',
      usage: 'crl-signing,issuing-certificates,ocsp-signing,read-only',
      revoked: false,
    });
    expect((await anonymous.read(`rot/issuer/${b.issuer_id}/json`)).data).toEqual({
      certificate: `${b.certificate}\n`,
      ca_chain: [`${b.certificate}\n`],
      issuer_id: b.issuer_id,
      issuer_name: 'next',
    });
    const pem = await fetch(`${emu.endpoint}/v1/rot/issuer/next/pem`);
    expect(await pem.text()).toBe(`${b.certificate}\n`);
    const der = Buffer.from(await (await fetch(`${emu.endpoint}/v1/rot/issuer/next/der`)).arrayBuffer());
    expect(new X509Certificate(der).raw.equals(new X509Certificate(b.certificate).raw)).toBe(true);
    expect(await failure(() => vault.read('rot/issuer/nope'))).toEqual({
      status: 500,
      message: '1 error occurred:\n\t* unable to find PKI issuer for reference: nope\n\n',
    });
    // cross-sign: a CSR for B's key, signed by A, imported: B's chain now reaches A
    const cross = await write('rot/intermediate/cross-sign', { key_ref: b.key_id });
    expect(cross.key_id).toBe(b.key_id);
    const crossSigned = await write('rot/issuer/a/sign-intermediate', { csr: cross.csr, format: 'pem_bundle' });
    const imported = await write('rot/intermediate/set-signed', { certificate: crossSigned.certificate });
    expect(imported.imported_issuers).toHaveLength(1);
    expect(imported.existing_issuers).toEqual([a.issuer_id]);
    const crossId = imported.imported_issuers[0];
    expect(imported.mapping[crossId]).toBe(b.key_id);
    const chainB = (await read('rot/issuer/next')).ca_chain.map((p: string) => p.trim());
    expect(chainB).toEqual([b.certificate, crossSigned.ca_chain[0], a.certificate]);
    // a leaf issued by B carries B's chain; the path issuer beats the role's
    await write('rot/roles/leaf', { allow_any_name: true, issuer_ref: 'a', key_type: 'any' });
    const csr = (await makeCsr({ commonName: 'leaf' })).csrPem;
    expect((await write('rot/sign/leaf', { csr })).issuing_ca).toBe(a.certificate);
    const viaB = await write('rot/issuer/next/sign/leaf', { csr });
    expect(viaB.ca_chain).toEqual(chainB);
    // replace: B becomes the default; ca/pem and cert/ca_chain follow the default only
    expect(await write('rot/root/replace', {})).toEqual({ default: b.issuer_id, default_follows_latest_issuer: false });
    expect(await (await fetch(`${emu.endpoint}/v1/rot/ca/pem`)).text()).toBe(b.certificate);
    expect((await read('rot/cert/ca_chain')).certificate).toBe(chainB.join('\n'));
    expect((await read('rot/keys'.replace('keys', `key/${b.key_id}`))).key_id).toBe(b.key_id);
    expect((await vault.list('rot/keys')).data.key_info[b.key_id].is_default).toBe(true);
    // names: unique, not "default"; POST rewrites every field, PATCH only those given
    expect(await failure(() => write(`rot/issuer/${crossId}`, { issuer_name: 'a' }))).toEqual({
      status: 400,
      message: 'issuer name already in use',
    });
    expect(await failure(() => write(`rot/issuer/${crossId}`, { issuer_name: 'default' }))).toMatchObject({
      status: 400,
    });
    const renamed = await write(`rot/issuer/${crossId}`, { issuer_name: 'b-by-a', usage: 'read-only' });
    expect(renamed).toMatchObject({ issuer_name: 'b-by-a', usage: 'read-only', leaf_not_after_behavior: 'err' });
    const patched = await fetch(`${emu.endpoint}/v1/rot/issuer/b-by-a`, {
      method: 'PATCH',
      headers: { 'X-Vault-Token': emu.rootToken, 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ leaf_not_after_behavior: 'truncate' }),
    });
    expect(((await patched.json()) as Data).data).toMatchObject({
      issuer_name: 'b-by-a',
      usage: 'read-only',
      leaf_not_after_behavior: 'truncate',
    });
    const rewritten = await write('rot/issuer/b-by-a', { issuer_name: 'b-by-a' });
    expect(rewritten).toMatchObject({ usage: 'crl-signing,issuing-certificates,ocsp-signing,read-only' });
    expect(rewritten.leaf_not_after_behavior).toBe('err');
    // a key in use cannot be deleted; the issuer can, and the key stays; then the key goes too (retire)
    expect(await failure(() => vault.delete(`rot/key/${a.key_id}`))).toEqual({
      status: 400,
      message: `Failed to Delete Key.  Key in Use by Issuer: ${a.issuer_id}`,
    });
    const deleted = await vault.delete(`rot/issuer/${a.issuer_id}`);
    expect(deleted.warnings).toEqual(['The name a was in use by at least 1 roles']); // the role's issuer_ref
    expect((await vault.list('rot/keys')).data.keys).toContain(a.key_id);
    await vault.delete(`rot/key/${a.key_id}`);
    expect((await vault.list('rot/keys')).data.keys).not.toContain(a.key_id);
    await vault.delete('rot/issuer/nope'); // unknown: no error
    // deleting the default: a warning, then no default
    const gone = await fetch(`${emu.endpoint}/v1/rot/issuer/next`, {
      method: 'DELETE',
      headers: { 'X-Vault-Token': emu.rootToken },
    });
    expect(gone.status).toBe(200);
    expect(((await gone.json()) as Data).warnings).toContain(
      `Deleted issuer ${b.issuer_id} (via issuer_ref next); this was configured as the default issuer. Operations without an explicit issuer will not work until a new default is configured.`,
    );
    expect((await fetch(`${emu.endpoint}/v1/rot/ca/pem`)).status).toBe(204);
    expect(await failure(() => vault.read('rot/cert/ca_chain'))).toEqual({
      status: 400,
      message: 'no default issuer currently configured',
    });
    expect(await failure(() => write('rot/issue/leaf', { common_name: 'x' }))).toMatchObject({ status: 400 });
  });

  it('config/issuers: unknown refs refused; default_follows_latest_issuer makes new issuers default', async () => {
    await vault.mount({ mount_point: 'follow', type: 'pki' });
    const first = await write('follow/root/generate/internal', { common_name: 'one', key_type: 'ec' });
    expect(await failure(() => write('follow/config/issuers', { default: 'ghost' }))).toEqual({
      status: 400,
      message: 'Error resolving issuer reference: unable to find PKI issuer for reference: ghost',
    });
    await write('follow/config/issuers', { default: first.issuer_id, default_follows_latest_issuer: true });
    const second = await write('follow/root/rotate/internal', { common_name: 'two', key_type: 'ec' });
    expect((await read('follow/config/issuers')).default).toBe(second.issuer_id);
    const existing = await write('follow/root/generate/existing', { common_name: 'one again', key_ref: first.key_id });
    expect(existing.key_id).toBe(first.key_id);
    const exported = await write('follow/intermediate/generate/exported', { common_name: 'x', key_type: 'ec' });
    expect(exported.private_key).toContain('PRIVATE KEY');
    expect((await failure(() => write('follow/root/rotate/existing', { common_name: 'x' })))?.status).toBe(404);
  });
});
