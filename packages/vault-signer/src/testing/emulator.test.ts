import { X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCsr } from '../test-support.js';
import { serviceAccountJwt, setupPki, startVaultEmulator, type VaultEmulator } from './index.js';

// node-vault under a test runner that resolves `import` for require: hand it mustache (as the signer does)
const loaded = createRequire(import.meta.url)('mustache') as { render?: unknown; default?: unknown };
const mustache = typeof loaded.render === 'function' ? loaded : loaded.default;

let emu: VaultEmulator;
let root: nodeVault.client;
const raw = (path: string, init: RequestInit = {}) => fetch(`${emu.endpoint}/v1/${path}`, init);
const json = async (path: string, init: RequestInit = {}) => {
  const response = await raw(path, init);
  // biome-ignore lint/suspicious/noExplicitAny: wire bodies are checked field by field
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};
const asRoot = (method: string, body?: unknown): RequestInit => ({
  method,
  headers: { 'X-Vault-Token': emu.rootToken, 'Content-Type': 'application/json' },
  ...(body ? { body: JSON.stringify(body) } : {}),
});

beforeAll(async () => {
  emu = await startVaultEmulator();
  root = nodeVault({ endpoint: emu.endpoint, token: emu.rootToken, noCustomHTTPVerbs: true, mustache } as never);
});
afterAll(async () => {
  await emu.close();
});

describe('configured through Vault API calls made by node-vault itself', () => {
  it('mounts, roots, intermediates, roles, auth methods: a setup script runs unchanged', async () => {
    await root.mount({ mount_point: 'pki', type: 'pki', config: { max_lease_ttl: '87600h' } });
    expect(await codeOfVault(() => root.mount({ mount_point: 'pki', type: 'pki' }))).toEqual({
      status: 400,
      message: 'path is already in use at pki/',
    });
    const generated = await root.write('pki/root/generate/internal', {
      common_name: 'r',
      key_type: 'ec',
      ttl: '87600h',
    });
    expect(Object.keys(generated.data).sort()).toEqual(
      [
        'certificate',
        'expiration',
        'issuer_id',
        'issuer_name',
        'issuing_ca',
        'key_id',
        'key_name',
        'serial_number',
      ].sort(),
    );
    expect(typeof generated.data.expiration).toBe('number');
    expect(generated.data.serial_number).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2})+$/);
    expect(generated.data.certificate).not.toMatch(/\n$/);
    await root.write('pki/roles/web', { allowed_domains: 'example.com', allow_subdomains: true, key_type: 'ec' });
    await root.write('pki/roles/api', { allow_any_name: true });
    const list = await root.list('pki/roles');
    expect(list.data).toEqual({ keys: ['api', 'web'] });
    const role = await root.read('pki/roles/web');
    expect(role.data).toMatchObject({
      allowed_domains: ['example.com'],
      allow_subdomains: true,
      key_type: 'ec',
      key_bits: 256,
      allow_localhost: true,
      enforce_hostnames: true,
      allow_ip_sans: true,
      require_cn: true,
      use_csr_common_name: true,
      use_csr_sans: true,
      not_before_duration: 30,
      allowed_uri_sans: [],
    });
    await root.delete('pki/roles/api');
    expect((await root.list('pki/roles')).data.keys).toEqual(['web']);
    expect(await codeOfVault(() => root.read('pki/roles/api'))).toEqual({ status: 404, message: 'Status 404' });
    await root.enableAuth({ mount_point: 'approle', type: 'approle' });
    await root.addApproleRole({ role_name: 'app', policies: 'pki' });
    const roleId = await root.getApproleRoleId({ role_name: 'app' });
    const secret = await root.getApproleRoleSecret({ role_name: 'app' });
    expect(Object.keys(secret.data).sort()).toEqual([
      'secret_id',
      'secret_id_accessor',
      'secret_id_num_uses',
      'secret_id_ttl',
    ]);
    const client = nodeVault({ endpoint: emu.endpoint, noCustomHTTPVerbs: true, mustache } as never);
    const login = await client.approleLogin({
      mount_point: 'approle',
      role_id: roleId.data.role_id,
      secret_id: secret.data.secret_id,
    });
    expect(login.data).toBeNull();
    expect(login.lease_duration).toBe(0);
    expect(login.auth.metadata).toEqual({ role_name: 'app' });
    expect(client.token).toBe(login.auth.client_token);
    const lookup = await client.tokenLookupSelf();
    expect(Object.keys(lookup.data)).toEqual(
      expect.arrayContaining([
        'accessor',
        'creation_ttl',
        'display_name',
        'expire_time',
        'id',
        'policies',
        'renewable',
        'ttl',
      ]),
    );
    expect(lookup.data.policies).toEqual(['default', 'pki']);
    const renewed = await client.tokenRenewSelf();
    expect(renewed.auth.client_token).toBe(login.auth.client_token);
  });

  it('kubernetes auth: the login answer and every refusal of contract section 4', async () => {
    await root.enableAuth({ mount_point: 'kubernetes', type: 'kubernetes' });
    await root.write('auth/kubernetes/config', { kubernetes_host: 'https://127.0.0.1:6443' });
    await root.write('auth/kubernetes/role/agent', {
      bound_service_account_names: 'agent',
      bound_service_account_namespaces: 'gloo-mesh',
      token_policies: 'pki',
      token_ttl: '1h',
    });
    const client = nodeVault({ endpoint: emu.endpoint, noCustomHTTPVerbs: true, mustache } as never);
    const jwt = serviceAccountJwt({ namespace: 'gloo-mesh', name: 'agent' });
    const login = await client.kubernetesLogin({ mount_point: 'kubernetes', role: 'agent', jwt });
    expect(login.auth).toMatchObject({
      policies: ['default', 'pki'],
      token_policies: ['default', 'pki'],
      metadata: { role: 'agent', service_account_name: 'agent', service_account_namespace: 'gloo-mesh' },
      lease_duration: 3600,
      renewable: true,
      token_type: 'service',
      orphan: true,
      num_uses: 0,
    });
    expect(login.auth.client_token).toMatch(/^hvs\./);
    const post = (body: unknown) => json('auth/kubernetes/login', { method: 'POST', body: JSON.stringify(body) });
    expect(await post({ jwt })).toEqual({ status: 400, body: { errors: ['missing role'] } });
    expect(await post({ role: 'agent' })).toEqual({ status: 400, body: { errors: ['missing jwt'] } });
    expect(await post({ role: 'r', jwt })).toEqual({ status: 400, body: { errors: ['invalid role name "r"'] } });
    expect(await post({ role: 'agent', jwt: 'garbage' })).toEqual({
      status: 403,
      body: { errors: ['1 error occurred:\n\t* permission denied\n\n'] },
    });
    expect(await post({ role: 'agent', jwt: serviceAccountJwt({ namespace: 'gloo-mesh', name: 'other' }) })).toEqual({
      status: 403,
      body: { errors: ['service account name not authorized'] },
    });
    expect(await post({ role: 'agent', jwt: serviceAccountJwt({ namespace: 'x', name: 'agent' }) })).toEqual({
      status: 403,
      body: { errors: ['namespace not authorized'] },
    });
  });

  it('approle refusals', async () => {
    const post = (body: unknown) => json('auth/approle/login', { method: 'POST', body: JSON.stringify(body) });
    expect(await post({ secret_id: 'x' })).toEqual({ status: 400, body: { errors: ['missing role_id'] } });
    expect(await post({ role_id: 'x' })).toEqual({ status: 400, body: { errors: ['missing secret_id'] } });
    expect(await post({ role_id: 'x', secret_id: 'y' })).toEqual({
      status: 400,
      body: { errors: ['invalid role or secret ID'] },
    });
  });
});

describe('wire answers of contract sections 0, 1 and 5', () => {
  beforeAll(async () => {
    await setupPki({ endpoint: emu.endpoint, token: emu.rootToken, rootMount: 'root2', mount: 'int2', role: 'r' });
    await raw('int2/roles/ec', asRoot('POST', { allow_any_name: true, key_type: 'ec' }));
  });

  it('sign: the envelope and data fields, expiration a number, PEMs trimmed, ca_chain issuer first', async () => {
    const csr = await makeCsr({ commonName: 'agent' });
    const { status, body } = await json('int2/sign/r', asRoot('POST', { csr: csr.csrPem, ttl: '1h' }));
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(
      [
        'auth',
        'data',
        'lease_duration',
        'lease_id',
        'mount_type',
        'renewable',
        'request_id',
        'warnings',
        'wrap_info',
      ].sort(),
    );
    expect(body).toMatchObject({
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      wrap_info: null,
      warnings: null,
      auth: null,
      mount_type: 'pki',
    });
    expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(body.data).sort()).toEqual([
      'ca_chain',
      'certificate',
      'expiration',
      'issuing_ca',
      'serial_number',
    ]);
    expect(typeof body.data.expiration).toBe('number');
    for (const pem of [body.data.certificate, body.data.issuing_ca, ...body.data.ca_chain])
      expect(pem).toBe(pem.trim());
    expect(body.data.ca_chain[0]).toBe(body.data.issuing_ca);
    expect(body.data.ca_chain).toHaveLength(2);
  });

  it('issue: private_key as SEC1 by default, PKCS#8 on request', async () => {
    const sec1 = await json('int2/issue/ec', asRoot('POST', { common_name: 'agent', ttl: '1h' }));
    expect(sec1.body.data.private_key).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    expect(sec1.body.data.private_key_type).toBe('ec');
    const pkcs8 = await json('int2/issue/ec', asRoot('POST', { common_name: 'agent', private_key_format: 'pkcs8' }));
    expect(pkcs8.body.data.private_key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('sign-verbatim copies subject and SANs from the CSR whatever the role; issuer/{ref}/issue uses that issuer', async () => {
    await raw('int2/roles/narrow', asRoot('POST', { allowed_domains: 'example.com', key_type: 'any' }));
    const csr = await makeCsr({ commonName: 'not.allowed.org', dnsNames: ['x.other.org'], uris: ['spiffe://a/b'] });
    const refused = await json('int2/sign/narrow', asRoot('POST', { csr: csr.csrPem }));
    expect(refused).toEqual({
      status: 400,
      body: { errors: ['common name not.allowed.org not allowed by this role'] },
    });
    const verbatim = await json('int2/sign-verbatim', asRoot('POST', { csr: csr.csrPem, ttl: '1h' }));
    expect(verbatim.status).toBe(200);
    const cert = new X509Certificate(verbatim.body.data.certificate);
    expect(cert.subject).toBe('CN=not.allowed.org');
    expect(cert.subjectAltName).toBe('DNS:x.other.org, URI:spiffe://a/b');
    const def = await json('int2/issuer/default', asRoot('GET'));
    const issued = await json(
      `int2/issuer/${def.body.data.issuer_id}/issue/ec`,
      asRoot('POST', { common_name: 'agent' }),
    );
    // sign answers carry trimmed PEMs; an issuer's stored PEM ends in a newline
    expect(issued.body.data.issuing_ca).toBe(def.body.data.certificate.trim());
  });

  it('ttl and not_after together: 400', async () => {
    const csr = await makeCsr({ commonName: 'agent' });
    const { status } = await json(
      'int2/sign/r',
      asRoot('POST', { csr: csr.csrPem, ttl: '1h', not_after: '2030-01-01T00:00:00Z' }),
    );
    expect(status).toBe(400);
  });

  it('CA fetches: ca/pem raw without trailing newline, ca_chain raw, cert/ca_chain JSON, issuer endpoints', async () => {
    const pem = await raw('int2/ca/pem');
    expect(pem.headers.get('content-type')).toBe('application/pem-certificate-chain');
    const pemText = await pem.text();
    expect(pemText).toMatch(/^-----BEGIN CERTIFICATE-----[\s\S]*-----END CERTIFICATE-----$/);
    const chain = await (await raw('int2/ca_chain')).text();
    expect(chain.split('-----BEGIN CERTIFICATE-----')).toHaveLength(3);
    expect(chain.startsWith(pemText)).toBe(true);
    const certChain = await json('int2/cert/ca_chain');
    expect(certChain.body.data.certificate).toBe(chain);
    expect(certChain.body.data.ca_chain).toBe(chain);
    const def = await json('int2/issuer/default', asRoot('GET'));
    expect(Object.keys(def.body.data)).toEqual(
      expect.arrayContaining([
        'certificate',
        'ca_chain',
        'issuer_id',
        'issuer_name',
        'key_id',
        'leaf_not_after_behavior',
        'usage',
      ]),
    );
    const byId = await json(`int2/issuer/${def.body.data.issuer_id}/json`);
    expect(byId.body.data.certificate).toBe(`${pemText}\n`);
    expect(byId.body.data.ca_chain).toEqual(def.body.data.ca_chain);
    await raw('sys/mounts/empty', asRoot('POST', { type: 'pki' }));
    expect((await raw('empty/ca/pem')).status).toBe(204);
  });

  it('routing and token errors', async () => {
    expect(await json('nope/sign/r', asRoot('POST', {}))).toEqual({
      status: 404,
      body: { errors: ['no handler for route "nope/sign/r". route entry not found.'] },
    });
    expect((await json('int2/nothing-here', asRoot('GET'))).status).toBe(404);
    expect((await json('int2/sign/r', asRoot('GET'))).status).toBe(405);
    const csr = await makeCsr({ commonName: 'agent' });
    const headerSets: Record<string, string>[] = [
      {},
      { 'X-Vault-Token': 'hvs.unknown' },
      { Authorization: 'Bearer hvs.unknown' },
    ];
    for (const headers of headerSets) {
      const { status, body } = await json('int2/sign/r', {
        method: 'POST',
        headers,
        body: JSON.stringify({ csr: csr.csrPem }),
      });
      expect(status).toBe(403);
      expect(body.errors[0]).toContain('permission denied');
      expect(body.errors[0]).toContain('invalid token');
    }
    const created = await json('auth/token/create', asRoot('POST', { policies: 'default' }));
    const weak = created.body.auth.client_token as string;
    expect(
      await json('int2/sign/r', {
        method: 'POST',
        headers: { 'X-Vault-Token': weak },
        body: JSON.stringify({ csr: csr.csrPem }),
      }),
    ).toEqual({
      status: 403,
      body: { errors: ['1 error occurred:\n\t* permission denied\n\n'] },
    });
  });

  it('health, seal and unseal: codes, bodies, and 503 for everything else while sealed', async () => {
    const healthy = await json('sys/health');
    expect(healthy.status).toBe(200);
    expect(Object.keys(healthy.body)).toEqual(
      expect.arrayContaining([
        'initialized',
        'sealed',
        'standby',
        'performance_standby',
        'replication_performance_mode',
        'replication_dr_mode',
        'server_time_utc',
        'version',
        'cluster_name',
        'cluster_id',
      ]),
    );
    await root.seal();
    try {
      const sealed = await json('sys/health');
      expect(sealed.status).toBe(503);
      expect(sealed.body.sealed).toBe(true);
      expect(sealed.body.cluster_id).toBeUndefined();
      expect((await raw('sys/health?sealedcode=200')).status).toBe(200);
      expect((await raw('sys/health', { method: 'HEAD' })).status).toBe(503);
      expect(await json('int2/ca/pem')).toEqual({ status: 503, body: { errors: ['Vault is sealed'] } });
      expect(await json('auth/token/lookup-self', asRoot('GET'))).toEqual({
        status: 503,
        body: { errors: ['Vault is sealed'] },
      });
    } finally {
      const unsealed = await root.unseal({ key: emu.unsealKey });
      expect(unsealed).toMatchObject({ sealed: false, t: 1, n: 1, progress: 0 });
    }
    expect((await json('sys/health')).status).toBe(200);
  });

  it('faults: statuses with Vault bodies, then normal again; health is never faulted', async () => {
    emu.faults.failNext(1, 500);
    emu.faults.failNext(1, 429);
    emu.faults.failNext(1, 503);
    expect((await json('sys/health')).status).toBe(200);
    expect((await json('int2/cert/ca_chain')).status).toBe(500);
    expect((await json('int2/cert/ca_chain')).body.errors[0]).toContain('rate limit quota exceeded');
    expect(await json('int2/cert/ca_chain')).toEqual({ status: 503, body: { errors: ['Vault is sealed'] } });
    expect((await json('int2/cert/ca_chain')).status).toBe(200);
  });
});

async function codeOfVault(fn: () => Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await fn();
  } catch (err) {
    const e = err as { message: string; response: { statusCode: number } };
    return { status: e.response.statusCode, message: e.message };
  }
  throw new Error('expected a refusal');
}
