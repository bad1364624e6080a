/**
 * `certloop` flags shared by several commands: the store, the CA, the output format, and names of relay secrets.
 */
import { type Command, Option } from 'commander';
import { CA_KINDS, type CaFlags, VAULT_AUTH_METHODS } from '../ca-factory.js';
import { STORE_KINDS, type StoreFlags } from '../store-factory.js';

/** `--store`, `--dir`, `--kubeconfig`, `--context`, `--namespace` (each also from the environment). */
export function addStoreOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--store <kind>', 'where the secrets are').choices(STORE_KINDS).default('file').env('CERTLOOP_STORE'),
    )
    .addOption(new Option('--dir <dir>', 'file store: the directory of secrets').env('CERTLOOP_DIR'))
    .addOption(new Option('--kubeconfig <file>', 'kubernetes store: the kubeconfig to use').env('KUBECONFIG'))
    .addOption(new Option('--context <name>', 'kubernetes store: the kubeconfig context'))
    .addOption(
      new Option('--namespace <ns>', 'kubernetes store: the namespace').default('gloo-mesh').env('CERTLOOP_NAMESPACE'),
    );
}

/** `--ca` and the Vault flags. */
export function addCaOptions(command: Command): Command {
  return command
    .addOption(new Option('--ca <kind>', 'the signing CA').choices(CA_KINDS).default('local').env('CERTLOOP_CA'))
    .addOption(new Option('--vault-addr <url>', 'vault CA: the Vault address').env('VAULT_ADDR'))
    .addOption(new Option('--vault-mount <path>', 'vault CA: the PKI mount').default('pki').env('CERTLOOP_VAULT_MOUNT'))
    .addOption(new Option('--vault-role <name>', 'vault CA: the PKI role').env('CERTLOOP_VAULT_ROLE'))
    .addOption(
      new Option(
        '--vault-auth <method>',
        'vault CA: how to log in (secrets from VAULT_TOKEN, VAULT_ROLE_ID/VAULT_SECRET_ID)',
      )
        .choices(VAULT_AUTH_METHODS)
        .default('token')
        .env('CERTLOOP_VAULT_AUTH'),
    )
    .addOption(new Option('--vault-auth-mount <path>', 'vault CA: the auth mount (default kubernetes/approle)'))
    .addOption(new Option('--vault-k8s-role <name>', 'vault CA, kubernetes auth: the Vault role').env('VAULT_K8S_ROLE'))
    .addOption(new Option('--vault-jwt-path <file>', 'vault CA, kubernetes auth: the service account token file'))
    .addOption(new Option('--vault-namespace <ns>', 'vault CA: Vault Enterprise namespace').env('VAULT_NAMESPACE'))
    .addOption(
      new Option(
        '--pkcs11-uri <uri>',
        'pkcs11 CA or key store: RFC 7512 URI of the token and key (PIN from pin-source or CERTLOOP_PKCS11_PIN)',
      ).env('CERTLOOP_PKCS11_URI'),
    );
}

export const OUTPUT_FORMATS = ['text', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** `-o, --output <format>`. */
export function addOutputOption(command: Command, formats: readonly OutputFormat[] = OUTPUT_FORMATS): Command {
  return command.addOption(new Option('-o, --output <format>', 'output format').choices(formats).default('text'));
}

export function storeFlags(opts: Record<string, unknown>): StoreFlags {
  return {
    store: opts.store as StoreFlags['store'],
    dir: opts.dir as string | undefined,
    kubeconfig: opts.kubeconfig as string | undefined,
    context: opts.context as string | undefined,
    namespace: opts.namespace as string | undefined,
  };
}

export function caFlags(opts: Record<string, unknown>): CaFlags {
  return {
    ca: opts.ca as CaFlags['ca'],
    vaultAddr: opts.vaultAddr as string | undefined,
    vaultMount: opts.vaultMount as string | undefined,
    vaultRole: opts.vaultRole as string | undefined,
    vaultAuth: opts.vaultAuth as CaFlags['vaultAuth'],
    vaultAuthMount: opts.vaultAuthMount as string | undefined,
    vaultK8sRole: opts.vaultK8sRole as string | undefined,
    vaultJwtPath: opts.vaultJwtPath as string | undefined,
    vaultNamespace: opts.vaultNamespace as string | undefined,
    pkcs11Uri: opts.pkcs11Uri as string | undefined,
  };
}

/** Collects a repeatable flag (`--dns a --dns b`, or `--dns a,b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}

/** The examples block of a command's --help. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}
