/**
 * `@certloop/vault-signer/testing` setup helpers: the calls a user's Vault setup script makes, as plain calls of
 * Vault's HTTP API with a root token, so they configure the emulator and a real Vault alike.
 */

export interface VaultCallTarget {
  readonly endpoint: string;
  readonly token: string;
}

/** One call of Vault's API; throws with the status and Vault's `errors` on anything but 200/204. */
export async function vaultCall(
  target: VaultCallTarget,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: Record<string, unknown>,
): Promise<Record<string, unknown> | undefined> {
  const response = await fetch(`${target.endpoint}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': target.token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (response.status !== 200 && response.status !== 204) {
    throw new Error(`vault ${method} ${path}: ${response.status} ${text}`);
  }
  return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
}

export interface SetupPkiRequest extends VaultCallTarget {
  /** Mount of the root CA (default `pki`). */
  readonly rootMount?: string;
  /** Mount of the issuing intermediate (default `pki_int`). */
  readonly mount?: string;
  /** Role created on the intermediate mount (default `certloop`). */
  readonly role?: string;
  /** Role fields (contract section 2); default: any name, any key type, max_ttl 720h. */
  readonly roleFields?: Record<string, unknown>;
  readonly keyType?: 'rsa' | 'ec';
  readonly rootTtl?: string;
  readonly intermediateTtl?: string;
  /**
   * ACL policy written for the signer (default `pki`): sign and issue with the role, also through a named issuer,
   * and read the chain; '' writes none.
   */
  readonly policy?: string;
}

/** The policy a signer on `mount` with `role` needs (the package README's). */
export function signerPolicy(mount: string, role: string): string {
  return [
    `path "${mount}/sign/${role}" { capabilities = ["create", "update"] }`,
    `path "${mount}/issue/${role}" { capabilities = ["create", "update"] }`,
    `path "${mount}/issuer/+/sign/${role}" { capabilities = ["create", "update"] }`,
    `path "${mount}/issuer/+/issue/${role}" { capabilities = ["create", "update"] }`,
    `path "${mount}/cert/ca_chain" { capabilities = ["read"] }`,
    '',
  ].join('\n');
}

export interface SetupPkiResult {
  readonly rootPem: string;
  readonly intermediatePem: string;
  readonly mount: string;
  readonly role: string;
}

/**
 * Vault's intermediate tutorial: a root CA mount, an intermediate mount whose key is generated inside Vault, signed by
 * the root with `format=pem_bundle` and imported with `set-signed` (so the mount holds the root too), one role, and an
 * ACL policy for signers.
 */
export async function setupPki(request: SetupPkiRequest): Promise<SetupPkiResult> {
  const rootMount = request.rootMount ?? 'pki';
  const mount = request.mount ?? 'pki_int';
  const role = request.role ?? 'certloop';
  const keyType = request.keyType ?? 'ec';
  const data = (r: Record<string, unknown> | undefined) =>
    (r?.data ?? {}) as Record<string, string> & { ca_chain?: string[] };
  await vaultCall(request, 'POST', `sys/mounts/${rootMount}`, { type: 'pki', config: { max_lease_ttl: '87600h' } });
  const root = data(
    await vaultCall(request, 'POST', `${rootMount}/root/generate/internal`, {
      common_name: 'certloop vault root',
      ttl: request.rootTtl ?? '87600h',
      key_type: keyType,
      issuer_name: 'root',
    }),
  );
  await vaultCall(request, 'POST', `sys/mounts/${mount}`, { type: 'pki', config: { max_lease_ttl: '43800h' } });
  const { csr } = data(
    await vaultCall(request, 'POST', `${mount}/intermediate/generate/internal`, {
      common_name: 'certloop vault intermediate',
      key_type: keyType,
    }),
  );
  const signed = data(
    await vaultCall(request, 'POST', `${rootMount}/root/sign-intermediate`, {
      csr,
      common_name: 'certloop vault intermediate',
      ttl: request.intermediateTtl ?? '43800h',
      format: 'pem_bundle',
    }),
  );
  await vaultCall(request, 'POST', `${mount}/intermediate/set-signed`, { certificate: signed.certificate });
  await vaultCall(request, 'POST', `${mount}/roles/${role}`, {
    allow_any_name: true,
    key_type: 'any',
    max_ttl: '720h',
    ...request.roleFields,
  });
  const policy = request.policy ?? 'pki';
  if (policy) await vaultCall(request, 'PUT', `sys/policies/acl/${policy}`, { policy: signerPolicy(mount, role) });
  return { rootPem: root.certificate!, intermediatePem: signed.ca_chain![0]!, mount, role };
}

export interface SetupAuthRequest extends VaultCallTarget {
  /** Auth mount path (default `approle` / `kubernetes`). */
  readonly path?: string;
  readonly role: string;
  readonly policies: readonly string[];
  readonly tokenTtl?: string;
  readonly tokenMaxTtl?: string;
}

/** Enables AppRole, writes a role, and returns its role ID and a fresh secret ID. */
export async function setupAppRole(request: SetupAuthRequest): Promise<{ roleId: string; secretId: string }> {
  const path = request.path ?? 'approle';
  await vaultCall(request, 'POST', `sys/auth/${path}`, { type: 'approle' });
  await vaultCall(request, 'POST', `auth/${path}/role/${request.role}`, {
    token_policies: request.policies.join(','),
    token_ttl: request.tokenTtl ?? '1h',
    token_max_ttl: request.tokenMaxTtl ?? '24h',
  });
  const roleId = (await vaultCall(request, 'GET', `auth/${path}/role/${request.role}/role-id`))?.data as {
    role_id: string;
  };
  const secretId = (await vaultCall(request, 'POST', `auth/${path}/role/${request.role}/secret-id`))?.data as {
    secret_id: string;
  };
  return { roleId: roleId.role_id, secretId: secretId.secret_id };
}

/** Enables Kubernetes auth, configures it, and binds a role to service accounts. */
export async function setupKubernetesAuth(
  request: SetupAuthRequest & { readonly serviceAccounts: readonly string[]; readonly namespaces: readonly string[] },
): Promise<void> {
  const path = request.path ?? 'kubernetes';
  await vaultCall(request, 'POST', `sys/auth/${path}`, { type: 'kubernetes' });
  await vaultCall(request, 'POST', `auth/${path}/config`, { kubernetes_host: 'https://127.0.0.1:6443' });
  await vaultCall(request, 'POST', `auth/${path}/role/${request.role}`, {
    bound_service_account_names: request.serviceAccounts.join(','),
    bound_service_account_namespaces: request.namespaces.join(','),
    token_policies: request.policies.join(','),
    token_ttl: request.tokenTtl ?? '1h',
    token_max_ttl: request.tokenMaxTtl ?? '24h',
  });
}
