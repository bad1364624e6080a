/**
 * examples/vault-backed: where the signing CA lives. With `VAULT_ADDR` set, a real Vault (auth from the environment);
 * otherwise an embedded Vault emulator, configured through Vault's own API as a setup script would configure a real one.
 */
import { type VaultAuth, VaultCertificateAuthority } from '@certloop/vault-signer';
import { setupAppRole, setupPki, startVaultEmulator } from '@certloop/vault-signer/testing';

export interface VaultConnection {
  readonly signer: VaultCertificateAuthority;
  readonly description: string;
  /** Agent certificate lifetime and run length that fit this Vault (short on the emulator). */
  readonly lifetimeSeconds: number;
  readonly runSeconds: number;
  close(): Promise<void>;
}

function authFromEnvironment(env: NodeJS.ProcessEnv): VaultAuth {
  if (env.VAULT_ROLE_ID && env.VAULT_SECRET_ID) {
    return {
      method: 'approle',
      roleId: env.VAULT_ROLE_ID,
      secretId: env.VAULT_SECRET_ID,
      mount: env.VAULT_APPROLE_MOUNT,
    };
  }
  if (env.VAULT_K8S_ROLE) {
    return {
      method: 'kubernetes',
      role: env.VAULT_K8S_ROLE,
      jwtPath: env.VAULT_K8S_JWT_PATH,
      mount: env.VAULT_K8S_MOUNT,
    };
  }
  if (env.VAULT_TOKEN) return { method: 'token', token: env.VAULT_TOKEN };
  throw new Error('VAULT_ADDR is set: also set VAULT_TOKEN, VAULT_ROLE_ID + VAULT_SECRET_ID, or VAULT_K8S_ROLE');
}

export async function connectVault(env: NodeJS.ProcessEnv = process.env): Promise<VaultConnection> {
  if (env.VAULT_ADDR) {
    const signer = new VaultCertificateAuthority({
      endpoint: env.VAULT_ADDR,
      auth: authFromEnvironment(env),
      mount: env.VAULT_PKI_MOUNT ?? 'pki_int',
      role: env.VAULT_PKI_ROLE ?? 'certloop',
      namespace: env.VAULT_NAMESPACE,
    });
    return {
      signer,
      description: `Vault at ${env.VAULT_ADDR}`,
      lifetimeSeconds: Number(env.AGENT_LIFETIME_SECONDS ?? 120),
      runSeconds: Number(env.RUN_SECONDS ?? 150),
      close: async () => signer.close(),
    };
  }
  const emulator = await startVaultEmulator();
  const root = { endpoint: emulator.endpoint, token: emulator.rootToken };
  // what an operator's setup script does: a root mount, an intermediate whose key stays in Vault, a role, AppRole
  const pki = await setupPki({
    ...root,
    roleFields: { allow_any_name: true, key_type: 'any', max_ttl: '1h', not_before_duration: '1s' },
    policy: 'relay-pki', // the ACL policy the AppRole below carries: sign and issue with the role, read the chain
  });
  const approle = await setupAppRole({ ...root, role: 'relay', policies: ['relay-pki'] });
  const signer = new VaultCertificateAuthority({
    endpoint: emulator.endpoint,
    auth: { method: 'approle', ...approle },
    mount: pki.mount,
    role: pki.role,
  });
  return {
    signer,
    description: `embedded Vault emulator at ${emulator.endpoint}`,
    lifetimeSeconds: 8,
    runSeconds: Number(env.RUN_SECONDS ?? 14),
    close: async () => {
      signer.close();
      await emulator.close();
    },
  };
}
