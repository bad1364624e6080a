/**
 * `certloop rotate NAME`: rotates a certloop-managed secret now. A leaf (server, client) gets a new key and a
 * certificate for the same identity from the signing CA; the intermediate is re-issued by the root; the token is
 * replaced by a new random one. The write is a compare-and-swap on the version read, so a concurrent change wins
 * and nothing is lost. Refused, with the reason, for a bring-your-own secret and for the root.
 */
import { randomBytes } from 'node:crypto';
import {
  ANNOTATIONS,
  authorityFromSecret,
  type CertificateAuthority,
  type CertificateProfile,
  checkIssuedCertificate,
  createCsr,
  DEFAULT_RELAY_SECRET_NAMES,
  generateKeyPair,
  type InspectedCertificate,
  inspectCertificate,
  isManagedSecret,
  joinPemBundle,
  LocalCertificateAuthority,
  managedAnnotations,
  readTlsMaterial,
  renewalTime,
  SECRET_KEYS,
  type Secret,
  type SecretRole,
  type SecretStore,
  tlsSecretData,
} from '@certloop/core';
import { Command } from 'commander';
import { openCertificateAuthority } from '../ca-factory.js';
import type { CliCommand } from '../lib/command.js';
import type { CliContext } from '../lib/context.js';
import { parseDuration } from '../lib/durations.js';
import { cliError } from '../lib/errors.js';
import { missingSecretError } from '../lib/missing-secret.js';
import { addCaOptions, addOutputOption, addStoreOptions, caFlags, examples, storeFlags } from '../lib/options.js';
import { withProgress } from '../lib/progress.js';
import { renderData } from '../lib/render.js';
import { storeArgs } from '../lib/store-args.js';
import { secretNamed } from '../status/roles.js';
import { openStore } from '../store-factory.js';

/** Why certloop may not write this secret, or undefined when it may. */
export function bringYourOwnReason(secret: Secret): string | undefined {
  if (isManagedSecret(secret)) return undefined;
  const certManager = Object.keys(secret.annotations).find((k) => k.startsWith('cert-manager.io/'));
  if (certManager) return `it is bring-your-own: cert-manager owns it (annotation ${certManager})`;
  return `it is bring-your-own: it has no ${ANNOTATIONS.managedBy}: certloop annotation`;
}

function roleOfSecret(secret: Secret, leaf: InspectedCertificate | undefined): SecretRole {
  const role = secret.annotations[ANNOTATIONS.role];
  if (role === 'root' || role === 'intermediate' || role === 'server' || role === 'client' || role === 'token')
    return role;
  if (secret.data[SECRET_KEYS.token] && !secret.data[SECRET_KEYS.certificate]) return 'token';
  if (leaf?.isCA) return leaf.selfSigned ? 'root' : 'intermediate';
  return leaf?.extKeyUsage.includes('serverAuth') ? 'server' : 'client';
}

function leafProfile(leaf: InspectedCertificate, role: SecretRole): CertificateProfile {
  const server = leaf.extKeyUsage.includes('serverAuth');
  const client = leaf.extKeyUsage.includes('clientAuth');
  if (server && client) return 'server+client';
  if (server) return 'server';
  if (client) return 'client';
  return role === 'server' ? 'server' : 'client';
}

interface Rotated {
  readonly data: Record<string, Uint8Array>;
  readonly annotations: Record<string, string>;
  readonly serialNumber?: string;
  readonly notAfter?: Date;
}

async function reissue(
  ca: CertificateAuthority,
  leaf: InspectedCertificate,
  role: SecretRole,
  lifetimeSeconds: number,
  ratio: number,
  signal: AbortSignal,
): Promise<Rotated> {
  const key = await generateKeyPair({ algorithm: leaf.publicKey.algorithm ?? 'ECDSA-P256' });
  const sans = leaf.sans;
  const { csrPem } = await createCsr({ privateKeyPem: key.privateKeyPem, subject: leaf.subject, ...sans });
  const intermediate = role === 'intermediate';
  const profile: CertificateProfile = intermediate ? 'intermediate' : leafProfile(leaf, role);
  // the current lifetime includes the CA's backdate: keep within the policy's longest rather than fail on it
  const lifetime =
    ca instanceof LocalCertificateAuthority
      ? Math.min(lifetimeSeconds, ca.policy.maxLifetimeSeconds[profile])
      : lifetimeSeconds;
  const result = await ca.sign(
    { csrPem, lifetimeSeconds: lifetime, profile, ...(intermediate ? { pathLength: leaf.pathLength ?? 0 } : {}) },
    { signal },
  );
  const issued = intermediate
    ? inspectCertificate(result.certificatePem)
    : await checkIssuedCertificate({
        result,
        privateKeyPem: key.privateKeyPem,
        expected: { commonName: leaf.subject.commonName ?? '', ...sans },
        profile,
        at: new Date(),
      });
  return {
    data: tlsSecretData({
      certificatePem: joinPemBundle([result.certificatePem, result.chainPem]),
      privateKeyPem: key.privateKeyPem,
      trustBundlePem: result.trustBundlePem,
    }),
    annotations: managedAnnotations({
      role,
      serialNumber: issued.serialNumber,
      notAfter: issued.notAfter,
      renewAt: renewalTime({ notBefore: issued.notBefore, notAfter: issued.notAfter, ratio }),
    }),
    serialNumber: issued.serialNumber,
    notAfter: issued.notAfter,
  };
}

async function rootAuthority(store: SecretStore, signal: AbortSignal): Promise<CertificateAuthority> {
  const root = await store.get(DEFAULT_RELAY_SECRET_NAMES.root, { signal });
  if (!root?.data[SECRET_KEYS.privateKey]) {
    throw cliError(
      'CERTLOOP_READ_ONLY',
      'the intermediate cannot be re-issued here: the store holds no root CA key',
      're-issue it where the root key is (an offline root, or cert-manager)',
    );
  }
  return authorityFromSecret(root);
}

async function run(context: CliContext, command: Command, word: string): Promise<void> {
  const name = secretNamed(word);
  const opts = command.opts();
  const lifetimeFlag = opts.lifetime ? parseDuration(String(opts.lifetime), '--lifetime') : undefined;
  const opened = await openStore({ flags: storeFlags(opts), cwd: context.cwd, create: false, signal: context.signal });
  const closers: (() => void)[] = [];
  try {
    const { store } = opened;
    const secret = await store.get(name, { signal: context.signal });
    if (!secret) {
      const flags = storeFlags(opts);
      throw missingSecretError(name, {
        description: opened.description,
        storeArgs: storeArgs(flags, (flag) => ['env', 'config'].includes(command.getOptionValueSource(flag) ?? '')),
      });
    }
    const reason = bringYourOwnReason(secret);
    if (reason) throw cliError('CERTLOOP_READ_ONLY', `certloop does not rotate ${name}: ${reason}`);
    const { certificatePem } = readTlsMaterial(secret);
    const leaf = certificatePem ? inspectCertificate(certificatePem) : undefined;
    const role = roleOfSecret(secret, leaf);
    let rotated: Rotated;
    if (role === 'token') {
      rotated = {
        data: { [SECRET_KEYS.token]: new TextEncoder().encode(randomBytes(32).toString('base64url')) },
        annotations: managedAnnotations({ role: 'token' }),
      };
    } else if (role === 'root') {
      throw cliError(
        'CERTLOOP_READ_ONLY',
        `certloop rotate does not replace the root CA ${name}: a new root changes what every peer trusts`,
        'rotate it in phases with `certloop ca prepare --ca root` (then `ca status`, `activate`, `drain`, `retire`)',
      );
    } else {
      if (!leaf) throw cliError('CERTLOOP_INVALID_PEM', `${name} holds no certificate to rotate`);
      const lifetime = lifetimeFlag ?? Math.round((leaf.notAfter.getTime() - leaf.notBefore.getTime()) / 1000);
      const ca =
        role === 'intermediate'
          ? await rootAuthority(store, context.signal)
          : await openCertificateAuthority({
              flags: caFlags(opts),
              store,
              signal: context.signal,
              env: context.env,
            }).then((opened) => {
              closers.push(opened.close);
              return opened.ca;
            });
      rotated = await withProgress(
        context.stderr,
        `re-issuing ${name}`,
        reissue(ca, leaf, role, lifetime, Number(opts.ratio), context.signal),
      );
    }
    const stored = await store.put(
      name,
      {
        type: secret.type,
        data: rotated.data,
        labels: secret.labels,
        annotations: { ...secret.annotations, ...rotated.annotations },
      },
      { expectedVersion: secret.version, signal: context.signal },
    );
    const summary = {
      name,
      role,
      ...(leaf ? { previousSerialNumber: leaf.serialNumber } : {}),
      ...(rotated.serialNumber ? { serialNumber: rotated.serialNumber, notAfter: rotated.notAfter } : {}),
      version: stored.version,
    };
    if (opts.output !== 'text') context.stdout.write(renderData(opts.output, summary));
    else if (role === 'token') context.stdout.write(`rotated ${name}: a new bootstrap token is stored (not shown)\n`);
    else
      context.stdout.write(
        `rotated ${name}: serial ${leaf?.serialNumber} -> ${rotated.serialNumber}, not after ${rotated.notAfter?.toISOString()}\n`,
      );
  } finally {
    for (const close of closers) close();
    await opened.close();
  }
}

export const rotateCommand: CliCommand = {
  name: 'rotate',
  create(context) {
    const command = new Command('rotate')
      .summary('rotate a managed secret now')
      .description(
        'Rotates a certloop-managed secret now: a server or client certificate gets a new key and a certificate\n' +
          'for the same identity (same lifetime unless --lifetime) from the signing CA; the intermediate is\n' +
          're-issued by the root; the token is replaced. The write is a compare-and-swap: if the secret changed\n' +
          "meanwhile, nothing is written. A bring-your-own secret (no certloop annotation, or cert-manager's) and\n" +
          'the root CA are refused, with the reason (the root is rotated in phases by `certloop ca`).\n\n' +
          'Exit status: 0 rotated; 2 bad flags; 4 store unreachable; 5 refused (bring-your-own, root, no such\n' +
          'secret, CA policy, changed meanwhile); 6 CA kind not available in this build.',
      )
      .argument(
        '<name>',
        'the secret: its name (relay-server-tls-secret) or its role (server, signing, client, token)',
      );
    addStoreOptions(command);
    addCaOptions(command);
    addOutputOption(command);
    command
      .option('--lifetime <duration>', 'lifetime of the new certificate (default: that of the current one)')
      .option('--ratio <ratio>', 'grace ratio recorded in the renew-at annotation', '0.1')
      .addHelpText(
        'after',
        examples(
          'certloop rotate relay-server-tls-secret --dir ./secrets',
          'certloop rotate server --dir ./secrets                 # the same, by role',
          'certloop rotate relay-client-tls-secret --dir ./secrets --lifetime 30d -o json',
          'certloop rotate relay-identity-token-secret --dir ./secrets',
        ),
      )
      .action(async (name: string, _opts, cmd: Command) => run(context, cmd, name));
    return command;
  },
};
