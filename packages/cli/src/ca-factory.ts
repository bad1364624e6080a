/**
 * `certloop` CA factory: the `CertificateAuthority` that signs for `sign`, `issue` and `rotate`, from the flags.
 *
 * `--ca local` signs with the intermediate kept in the store's signing secret (`relay-tls-signing-secret`, under
 * its issuance policy). `--ca vault` (`--vault-addr`, `--vault-mount`, `--vault-role`, `--vault-auth`) signs
 * through Vault's PKI secrets engine with `@certloop/vault-signer`; its secrets come from the environment only
 * (`VAULT_TOKEN`; `VAULT_ROLE_ID` and `VAULT_SECRET_ID`), never from flags, so they stay out of `ps` and shell
 * history. `--ca pkcs11` signs with the store's signing certificate and the key on a PKCS#11 token the
 * `--pkcs11-uri` names (`@certloop/pkcs11`, loaded only then). {@link CA_OPENERS} holds one opener per kind.
 */
import {
  authorityFromSecret,
  type CertificateAuthority,
  DEFAULT_RELAY_SECRET_NAMES,
  inspectCertificate,
  isCertloopError,
  joinPemBundle,
  type RelaySecretNames,
  type SecretStore,
  splitPemBundle,
} from '@certloop/core';
// the Vault adapter (and node-vault) is loaded only by --ca vault
import type { VaultAuth } from '@certloop/vault-signer';
import { cliError } from './lib/errors.js';
import { loadPkcs11, pkcs11Options, signingLabel } from './pkcs11.js';

export const CA_KINDS = ['local', 'vault', 'pkcs11'] as const;
export type CaKind = (typeof CA_KINDS)[number];
export const VAULT_AUTH_METHODS = ['token', 'kubernetes', 'approle'] as const;

/** The CA flags, as parsed. */
export interface CaFlags {
  readonly ca: CaKind;
  readonly vaultAddr?: string | undefined;
  readonly vaultMount?: string | undefined;
  readonly vaultRole?: string | undefined;
  readonly vaultAuth?: (typeof VAULT_AUTH_METHODS)[number] | undefined;
  /** Auth mount path (default `kubernetes` / `approle`). */
  readonly vaultAuthMount?: string | undefined;
  /** kubernetes auth: the Vault role bound to the service account. */
  readonly vaultK8sRole?: string | undefined;
  /** kubernetes auth: the service account token file. */
  readonly vaultJwtPath?: string | undefined;
  readonly vaultNamespace?: string | undefined;
  /** pkcs11 CA: the signing key's RFC 7512 URI (token, object, module-path, pin-source). */
  readonly pkcs11Uri?: string | undefined;
}

export interface OpenCaRequest {
  readonly flags: CaFlags;
  readonly store: SecretStore;
  readonly names?: RelaySecretNames;
  readonly signal?: AbortSignal;
  /** Where `VAULT_TOKEN`, `VAULT_ROLE_ID`, `VAULT_SECRET_ID` are read (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface OpenedCa {
  readonly ca: CertificateAuthority;
  /** Which CA, for people: `local relay-tls-signing-secret (CN=...)`. */
  readonly description: string;
  /** Ends what the CA holds open (Vault token renewal). */
  close(): void;
  /**
   * The intermediates between what this CA signs and its roots (Vault: the mount's `cert/ca_chain` without its
   * roots), for a relay server that checks client chains itself; undefined for the store's own CA.
   */
  intermediatesPem?(): Promise<string>;
}

export type CaOpener = (request: OpenCaRequest) => Promise<OpenedCa>;

async function openLocalCa({ store, names = DEFAULT_RELAY_SECRET_NAMES, signal }: OpenCaRequest): Promise<OpenedCa> {
  const secret = await store.get(names.signing, { signal });
  if (!secret) {
    throw cliError(
      'CERTLOOP_NOT_FOUND',
      `the store has no signing CA (${names.signing})`,
      'create it with `certloop init`, or bring your own intermediate into that secret',
    );
  }
  try {
    const ca = authorityFromSecret(secret);
    return { ca, description: `local ${names.signing}`, close: () => {} };
  } catch (err) {
    if (isCertloopError(err, 'CERTLOOP_BOOTSTRAP_FAILED')) {
      throw cliError(
        'CERTLOOP_READ_ONLY',
        `${names.signing} holds no CA key, so it cannot sign`,
        'sign with the CA that holds the key (--ca vault, or the offline CA)',
        err,
      );
    }
    throw err;
  }
}

function vaultAuth(flags: CaFlags, env: Readonly<Record<string, string | undefined>>): VaultAuth {
  const method = flags.vaultAuth ?? 'token';
  const mount = flags.vaultAuthMount ? { mount: flags.vaultAuthMount } : {};
  if (method === 'token') {
    const token = env.VAULT_TOKEN;
    if (!token) {
      throw cliError('CERTLOOP_USAGE', '--ca vault --vault-auth token needs VAULT_TOKEN', 'export VAULT_TOKEN=...');
    }
    return { method, token };
  }
  if (method === 'approle') {
    const roleId = env.VAULT_ROLE_ID;
    const secretId = env.VAULT_SECRET_ID;
    if (!roleId || !secretId) {
      throw cliError(
        'CERTLOOP_USAGE',
        '--vault-auth approle needs VAULT_ROLE_ID and VAULT_SECRET_ID',
        'export both (they are never taken from flags)',
      );
    }
    return { method, roleId, secretId, ...mount };
  }
  const role = flags.vaultK8sRole;
  if (!role) {
    throw cliError(
      'CERTLOOP_USAGE',
      '--vault-auth kubernetes needs the Vault role',
      'pass --vault-k8s-role NAME (or set VAULT_K8S_ROLE)',
    );
  }
  return { method, role, ...mount, ...(flags.vaultJwtPath ? { jwtPath: flags.vaultJwtPath } : {}) };
}

async function openVaultCa({ flags, env = process.env }: OpenCaRequest): Promise<OpenedCa> {
  if (!flags.vaultAddr) {
    throw cliError('CERTLOOP_USAGE', '--ca vault needs the Vault address', 'pass --vault-addr URL (or set VAULT_ADDR)');
  }
  let endpoint: URL;
  try {
    endpoint = new URL(flags.vaultAddr);
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw new Error('not http(s)');
  } catch (err) {
    throw cliError('CERTLOOP_USAGE', `--vault-addr ${flags.vaultAddr} is not an http(s) URL`, undefined, err);
  }
  if (!flags.vaultRole) {
    throw cliError(
      'CERTLOOP_USAGE',
      '--ca vault needs the PKI role',
      'pass --vault-role NAME (or set CERTLOOP_VAULT_ROLE)',
    );
  }
  const mount = flags.vaultMount ?? 'pki';
  const { VaultCertificateAuthority } = await import('@certloop/vault-signer');
  const ca = new VaultCertificateAuthority({
    endpoint: flags.vaultAddr.replace(/\/+$/, ''),
    auth: vaultAuth(flags, env),
    mount,
    role: flags.vaultRole,
    ...(flags.vaultNamespace ? { namespace: flags.vaultNamespace } : {}),
    retry: { attempts: 2, initialMs: 200, maxMs: 1000 },
  });
  return {
    ca,
    description: `vault ${endpoint.origin} ${mount}/sign/${flags.vaultRole}`,
    close: () => ca.close(),
    intermediatesPem: async () => {
      const response = await fetch(
        `${endpoint.origin}${endpoint.pathname.replace(/\/+$/, '')}/v1/${mount}/cert/ca_chain`,
      ).catch((err: unknown) => {
        throw cliError('CERTLOOP_UNAVAILABLE', `vault is unreachable at ${endpoint.origin}`, undefined, err);
      });
      if (!response.ok) {
        throw cliError('CERTLOOP_UNAVAILABLE', `vault answered ${response.status} for ${mount}/cert/ca_chain`);
      }
      // Vault answers JSON (`data.certificate`, the chain; else `data.ca_chain`); raw PEM is taken as it is
      const text = await response.text();
      let pem = text;
      if (text.trimStart().startsWith('{')) {
        const data = (JSON.parse(text) as { data?: { ca_chain?: unknown; certificate?: unknown } }).data ?? {};
        const chain = Array.isArray(data.ca_chain) ? data.ca_chain.join('\n') : data.ca_chain;
        pem = typeof data.certificate === 'string' ? data.certificate : typeof chain === 'string' ? chain : '';
      }
      const chain = splitPemBundle(pem).filter((one) => !inspectCertificate(one).selfSigned);
      return joinPemBundle(chain);
    },
  };
}

async function openPkcs11Ca({
  flags,
  store,
  names = DEFAULT_RELAY_SECRET_NAMES,
  signal,
  env = process.env,
}: OpenCaRequest): Promise<OpenedCa> {
  const options = pkcs11Options(flags, env, '--ca pkcs11');
  const pkcs11 = await loadPkcs11();
  const secret = await store.get(names.signing, { signal });
  if (!secret) {
    throw cliError(
      'CERTLOOP_NOT_FOUND',
      `the store has no signing CA certificate (${names.signing})`,
      'create it with `certloop init --key-store pkcs11 --pkcs11-uri ...`',
    );
  }
  const token = await pkcs11.Pkcs11Token.open(options, { signal });
  try {
    const key = await token.key({ label: signingLabel(pkcs11, options.uri) }, { signal });
    const ca = authorityFromSecret(secret, { privateKey: key, store });
    return { ca, description: `local ${names.signing}, key ${key.description}`, close: () => token.close() };
  } catch (err) {
    token.close();
    throw err;
  }
}

/** One opener per CA kind: the place `@certloop/vault-signer` and `@certloop/pkcs11` plug in. */
export const CA_OPENERS: Record<CaKind, CaOpener> = {
  local: openLocalCa,
  vault: openVaultCa,
  pkcs11: openPkcs11Ca,
};

export async function openCertificateAuthority(request: OpenCaRequest): Promise<OpenedCa> {
  const opener = CA_OPENERS[request.flags.ca];
  if (!opener) throw cliError('CERTLOOP_USAGE', `unknown CA kind ${JSON.stringify(request.flags.ca)}`);
  return opener(request);
}
