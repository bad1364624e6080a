/**
 * `certloop` CA factory: the `CertificateAuthority` that signs for `sign`, `issue` and `rotate`, from the flags.
 *
 * `--ca local` signs with the intermediate kept in the store's signing secret (`relay-tls-signing-secret`, under
 * its issuance policy). `--ca vault` (`--vault-addr`, `--vault-mount`, `--vault-role`, `--vault-auth`) is an
 * extension point: {@link CA_OPENERS} holds one opener per kind, and the Vault one answers
 * `CERTLOOP_NOT_IMPLEMENTED` until `@certloop/vault-signer` plugs in there.
 */
import {
  authorityFromSecret,
  type CertificateAuthority,
  DEFAULT_RELAY_SECRET_NAMES,
  isCertloopError,
  type RelaySecretNames,
  type SecretStore,
} from '@certloop/core';
import { cliError } from './lib/errors.js';

export const CA_KINDS = ['local', 'vault'] as const;
export type CaKind = (typeof CA_KINDS)[number];
export const VAULT_AUTH_METHODS = ['token', 'kubernetes', 'approle'] as const;

/** The CA flags, as parsed. */
export interface CaFlags {
  readonly ca: CaKind;
  readonly vaultAddr?: string | undefined;
  readonly vaultMount?: string | undefined;
  readonly vaultRole?: string | undefined;
  readonly vaultAuth?: (typeof VAULT_AUTH_METHODS)[number] | undefined;
}

export interface OpenCaRequest {
  readonly flags: CaFlags;
  readonly store: SecretStore;
  readonly names?: RelaySecretNames;
  readonly signal?: AbortSignal;
}

export interface OpenedCa {
  readonly ca: CertificateAuthority;
  /** Which CA, for people: `local relay-tls-signing-secret (CN=...)`. */
  readonly description: string;
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
    return { ca, description: `local ${names.signing}` };
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

async function openVaultCa({ flags }: OpenCaRequest): Promise<OpenedCa> {
  throw cliError(
    'CERTLOOP_NOT_IMPLEMENTED',
    `--ca vault (${flags.vaultAddr ?? 'VAULT_ADDR unset'}, mount ${flags.vaultMount ?? 'pki'}) is not available in this build`,
    'it comes with @certloop/vault-signer; use --ca local for now',
  );
}

/** One opener per CA kind: the place `@certloop/vault-signer` plugs in. */
export const CA_OPENERS: Record<CaKind, CaOpener> = {
  local: openLocalCa,
  vault: openVaultCa,
};

export async function openCertificateAuthority(request: OpenCaRequest): Promise<OpenedCa> {
  const opener = CA_OPENERS[request.flags.ca];
  if (!opener) throw cliError('CERTLOOP_USAGE', `unknown CA kind ${JSON.stringify(request.flags.ca)}`);
  return opener(request);
}
