import { createRequire } from 'node:module';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCsr } from '../test-support.js';
import { Acl, lowerPriority } from './acl.js';
import { setupPki, startVaultEmulator, type VaultEmulator } from './index.js';
import { parsePolicy } from './policy-parse.js';

const loaded = createRequire(import.meta.url)('mustache') as { render?: unknown; default?: unknown };
const mustache = typeof loaded.render === 'function' ? loaded : loaded.default;
const client = (endpoint: string, token?: string) =>
  nodeVault({ endpoint, noCustomHTTPVerbs: true, mustache, ...(token ? { token } : {}) } as never);

interface WireError {
  readonly response: { readonly statusCode: number; readonly body: { errors: string[] } };
}
const failure = async (call: () => Promise<unknown>) => {
  const err = (await call().then(
    () => undefined,
    (e: unknown) => e,
  )) as WireError | undefined;
  return err ? { status: err.response.statusCode, message: err.response.body?.errors?.[0] } : undefined;
};

describe('policy documents (contract section 8)', () => {
  it('HCL with comments, JSON, base64 and the old policy form give the same rules', () => {
    const hcl = `# signers
path "pki/sign/*" {
  capabilities = ["create", "update"] // inline
}
/* block */ path "pki/cert/ca_chain" { policy = "read" }`;
    const json = JSON.stringify({
      path: { 'pki/sign/*': { capabilities: ['create', 'update'] }, 'pki/cert/ca_chain': { policy: 'read' } },
    });
    const expected = [
      { path: 'pki/sign/*', capabilities: new Set(['create', 'update']) },
      { path: 'pki/cert/ca_chain', capabilities: new Set(['read', 'list']) },
    ];
    expect(parsePolicy(hcl)).toEqual(expected);
    expect(parsePolicy(json)).toEqual(expected);
    expect(parsePolicy(Buffer.from(hcl).toString('base64'))).toEqual(expected);
  });

  it.each([
    ['path "a" { capabilities = ["fly"] }'],
    ['path "a" { capability = ["read"] }'],
    ['path "a" { capabilities = ["read"] '],
    ['paths "a" { capabilities = ["read"] }'],
    ['{"path": '],
  ])('refuses %s', (text) => {
    expect(() => parsePolicy(text)).toThrow();
  });

  const acl = new Acl([
    ...parsePolicy(`
      path "secret/*" { capabilities = ["read"] }
      path "secret/foo*" { capabilities = ["list"] }
      path "secret/+/bar" { capabilities = ["update"] }
      path "secret/+/bar/*" { capabilities = ["delete"] }
      path "secret/exact" { capabilities = ["create"] }
      path "pki/issuer/+/sign/*" { capabilities = ["update"] }
      path "pki/sign/blocked" { capabilities = ["deny"] }
      path "pki/sign/*" { capabilities = ["update"] }`),
    ...parsePolicy(
      'path "secret/exact" { capabilities = ["read"] }\npath "pki/sign/blocked" { capabilities = ["update"] }',
    ),
  ]);
  it.each([
    ['secret/exact', ['create', 'read']], // exact path wins; the same path in two policies is a union
    ['secret/food', ['list']], // the longer prefix
    ['secret/x/bar', ['update']], // + beats a * that comes earlier
    ['secret/x/bar/y', ['read']], // secret/+/bar/* has the same first wildcard and more +: it loses to secret/*
    ['secret/x/baz', ['read']],
    ['pki/issuer/abc/sign/role', ['update']],
    ['pki/sign/blocked', ['deny']], // deny on a path beats the grant on the same path in another policy
    ['pki/sign/other', ['update']],
    ['pki/issue/other', []], // no match: denied
  ])('%s gets %j', (path, caps) => {
    expect([...acl.capabilities(path)].sort()).toEqual([...caps].sort());
  });

  it("Vault's priority order between globs", () => {
    expect(lowerPriority('secret/*', 'secret/+/bar')).toBe(true); // first wildcard earlier
    expect(lowerPriority('a/+/b*', 'a/+/b')).toBe(true); // ends in *
    expect(lowerPriority('a/+/+/c', 'a/+/b/c')).toBe(true); // more +
    expect(lowerPriority('a/b*', 'a/bc*')).toBe(true); // shorter
    expect(lowerPriority('a/bc*', 'a/bd*')).toBe(true); // lexically smaller
  });
});

describe('ACL policies on the wire, through node-vault', () => {
  let emu: VaultEmulator;
  let root: nodeVault.client;
  beforeAll(async () => {
    emu = await startVaultEmulator();
    root = client(emu.endpoint, emu.rootToken);
    await setupPki({ endpoint: emu.endpoint, token: emu.rootToken, role: 'agents', policy: '' });
  });
  afterAll(() => emu.close());

  it('a set-up script that works against Vault: enable AppRole, write a policy, write a role, log in, sign', async () => {
    await root.enableAuth({ mount_point: 'approle', type: 'approle' });
    await root.addPolicy({
      name: 'Relay-Signer',
      rules: 'path "pki_int/sign/agents" { capabilities = ["create", "update"] }',
    });
    await root.write('sys/policies/acl/relay-reader', {
      policy: JSON.stringify({ path: { 'pki_int/roles/*': { capabilities: ['read'] } } }),
    });
    await root.write('auth/approle/role/relay', { token_policies: 'relay-signer,relay-reader', token_ttl: '1h' });
    const roleId = (await root.read('auth/approle/role/relay/role-id')).data.role_id;
    const secretId = (await root.write('auth/approle/role/relay/secret-id', {})).data.secret_id;
    const app = client(emu.endpoint);
    const login = await app.approleLogin({ role_id: roleId, secret_id: secretId });
    expect(login.auth.policies).toEqual(['default', 'relay-signer', 'relay-reader']);
    const csr = await makeCsr({ commonName: 'agent-1' });
    const signed = await app.write('pki_int/sign/agents', { csr: csr.csrPem, ttl: '1h' });
    expect(signed.data.certificate).toContain('BEGIN CERTIFICATE');
    expect((await app.read('pki_int/roles/agents')).data.allow_any_name).toBe(true);
    // what the policies do not grant: another role, issue, writing the role, configuration, the policies themselves
    const denied = { status: 403, message: '1 error occurred:\n\t* permission denied\n\n' };
    expect(await failure(() => app.write('pki_int/issue/agents', { common_name: 'x' }))).toEqual(denied);
    expect(await failure(() => app.write('pki_int/roles/agents', { ttl: '2h' }))).toEqual(denied);
    expect(await failure(() => app.write('pki/root/generate/internal', { common_name: 'evil' }))).toEqual(denied);
    expect(await failure(() => app.addPolicy({ name: 'mine', rules: 'path "*" { capabilities = ["sudo"] }' }))).toEqual(
      denied,
    );
    expect(await failure(() => app.list('pki_int/roles'))).toEqual(denied);
    // the default policy: the token's own upkeep
    expect((await app.tokenLookupSelf()).data.policies).toContain('relay-signer');
    expect((await app.tokenRenewSelf()).auth.client_token).toBe(login.auth.client_token);
    // unauthenticated paths need no grant
    expect((await app.read('pki_int/cert/ca_chain')).data.certificate).toContain('BEGIN CERTIFICATE');
    // a policy change applies to live tokens at once
    await root.addPolicy({ name: 'relay-signer', rules: 'path "pki_int/sign/agents" { capabilities = ["deny"] }' });
    expect(await failure(() => app.write('pki_int/sign/agents', { csr: csr.csrPem }))).toEqual(denied);
  });

  it('create versus update where the path has an existence check; sudo on root-protected paths', async () => {
    await root.write('sys/policies/acl/role-editor', {
      policy: 'path "pki_int/roles/*" { capabilities = ["update"] }\npath "sys/auth/*" { capabilities = ["update"] }',
    });
    // node-vault keeps the token of a tokenCreate answer: a client of its own
    const creator = client(emu.endpoint, emu.rootToken);
    const token = (await creator.tokenCreate({ policies: ['role-editor'], ttl: '1h' })).auth.client_token;
    const editor = client(emu.endpoint, token);
    await editor.write('pki_int/roles/agents', { ttl: '2h' }); // exists: update
    expect((await failure(() => editor.write('pki_int/roles/new-role', { ttl: '1h' })))?.status).toBe(403); // create
    expect((await failure(() => editor.enableAuth({ mount_point: 'k8s', type: 'kubernetes' })))?.status).toBe(403);
  });

  it('the policy endpoints: read, list, names lower-cased, default and root protected, Vault refusals', async () => {
    await root.write('sys/policies/acl/MiXed', { policy: 'path "a/*" { capabilities = ["read"] }' });
    expect((await root.read('sys/policies/acl/mixed')).data).toEqual({
      name: 'mixed',
      policy: 'path "a/*" { capabilities = ["read"] }',
    });
    const old = await root.getPolicy({ name: 'mixed' });
    expect(old.data).toEqual({ name: 'mixed', rules: 'path "a/*" { capabilities = ["read"] }' });
    expect(old.rules).toBe(old.data.rules);
    const listed = await root.policies();
    expect(listed.data.keys).toEqual(expect.arrayContaining(['default', 'mixed', 'root']));
    expect(listed.policies).toEqual(listed.data.keys);
    expect((await root.list('sys/policies/acl')).data.keys).toEqual(
      expect.arrayContaining(['default', 'mixed', 'root']),
    );
    expect((await root.read('sys/policies/acl/default')).data.policy).toContain('auth/token/lookup-self');
    expect(await failure(() => root.write('sys/policies/acl/x', { policy: '' }))).toEqual({
      status: 400,
      message: "'policy' parameter not supplied or empty",
    });
    expect(
      (await failure(() => root.write('sys/policies/acl/x', { policy: 'path "a" { nope = 1 }' })))?.message,
    ).toMatch(/^failed to parse policy: /);
    expect(await failure(() => root.delete('sys/policies/acl/default'))).toEqual({
      status: 400,
      message: 'cannot delete default policy',
    });
    expect(await failure(() => root.delete('sys/policy/root'))).toEqual({
      status: 400,
      message: 'cannot delete "root" policy',
    });
    await root.removePolicy({ name: 'mixed' });
    await root.removePolicy({ name: 'mixed' }); // deleting a missing policy is no error
    expect((await failure(() => root.read('sys/policies/acl/mixed')))?.status).toBe(404);
  });

  it('a token without a live token on an authenticated path: both permission denied and invalid token', async () => {
    const stranger = client(emu.endpoint, 'hvs.nope');
    const refusal = await failure(() => stranger.read('pki_int/roles/agents'));
    expect(refusal?.status).toBe(403);
    expect(refusal?.message).toContain('permission denied');
    expect(refusal?.message).toContain('invalid token');
  });
});
