/**
 * `certloop` subject flags shared by `csr` and `issue`: `--cn`, `--dns`, `--ip`, `--uri`, `--email`, `--org`.
 */
import type { Command } from 'commander';
import { cliError } from './errors.js';
import { collect } from './options.js';

export interface SubjectFlags {
  readonly subject: { readonly commonName: string; readonly organization?: string };
  readonly dnsNames: string[];
  readonly ipAddresses: string[];
  readonly uris: string[];
  readonly emails: string[];
}

export function addSubjectOptions(command: Command): Command {
  return command
    .option('--cn <name>', 'subject common name')
    .option('--org <name>', 'subject organization')
    .option('--dns <names>', 'DNS names (repeat or comma-separate)', collect)
    .option('--ip <addresses>', 'IP addresses', collect)
    .option('--uri <uris>', 'URIs (e.g. spiffe://cluster.local/ns/gloo-mesh/sa/agent)', collect)
    .option('--email <addresses>', 'e-mail addresses', collect);
}

export function subjectFlags(opts: Record<string, unknown>): SubjectFlags {
  const cn = opts.cn as string | undefined;
  if (!cn) throw cliError('CERTLOOP_USAGE', 'a subject common name is needed', 'pass --cn NAME');
  return {
    subject: { commonName: cn, ...(opts.org ? { organization: String(opts.org) } : {}) },
    dnsNames: (opts.dns as string[] | undefined) ?? [],
    ipAddresses: (opts.ip as string[] | undefined) ?? [],
    uris: (opts.uri as string[] | undefined) ?? [],
    emails: (opts.email as string[] | undefined) ?? [],
  };
}
