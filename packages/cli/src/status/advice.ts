/**
 * `certloop status` advice: for each secret that is not `ok`, what to do, naming a command that works in that
 * situation against the same store (status.advice.test.ts walks each one and runs it). A bring-your-own secret gets
 * the owner's tool, never a certloop command that would refuse to write it.
 */
import { DEFAULT_RELAY_SECRET_NAMES, type RelaySecretNames } from '@certloop/core';
import type { SecretStatus } from './board.js';
import { RELAY_ROLES } from './roles.js';

export interface Advice {
  /** What is going on and what to do, in a sentence. */
  readonly text: string;
  /** A `certloop` command that does it (or that checks without the secret, when nothing needs doing). */
  readonly command?: string;
}

/** How the store was named on the command line (`--dir d`), and the relay's names. */
export interface AdviceContext {
  readonly storeArgs: string;
  readonly names?: RelaySecretNames;
}

const cmd = (ctx: AdviceContext, ...words: string[]) =>
  ['certloop', ...words, ...(ctx.storeArgs ? [ctx.storeArgs] : [])].join(' ');

/**
 * A secret whose absence is normal, not a fault: an agent's client certificate (its agent makes it, in its own
 * cluster), or a root kept offline beside a signing intermediate that is there.
 */
function missingByDesign(row: SecretStatus, rows: readonly SecretStatus[]): boolean {
  if (row.state !== 'missing') return false;
  if (row.role === 'client') return true;
  return row.role === 'root' && rows.some((r) => r.role === 'signing' && r.state !== 'missing');
}

/** `certloop status --secrets ...` without the secrets that are missing by design: what to check on this side. */
function checkWithout(rows: readonly SecretStatus[], ctx: AdviceContext): string {
  const kept = RELAY_ROLES.filter((role) => rows.some((r) => r.role === role && !missingByDesign(r, rows)));
  return cmd(ctx, 'status', '--secrets', kept.join(','));
}

const OWNER_TOOL =
  'renew it with the tool that owns it: `cmctl renew NAME` for cert-manager, or replace its tls.crt and tls.key';

/** The advice for one row, or undefined when it is `ok`. */
export function adviceFor(row: SecretStatus, rows: readonly SecretStatus[], ctx: AdviceContext): Advice | undefined {
  const names = ctx.names ?? DEFAULT_RELAY_SECRET_NAMES;
  const name = row.name;
  switch (row.state) {
    case 'ok':
      return undefined;
    case 'missing':
      if (row.role === 'client') {
        return {
          text:
            `${name} is made by the agent, in its own cluster, when it first connects with the bootstrap token ` +
            `(certloop agent --server-address HOST:PORT ...); to check the management side only, leave it out`,
          command: checkWithout(rows, ctx),
        };
      }
      if (missingByDesign(row, rows)) {
        return {
          text: `no root CA here: ${names.signing} is there, so the root may be kept offline; check without it`,
          command: checkWithout(rows, ctx),
        };
      }
      return { text: `certloop init creates ${name} (and only what is missing)`, command: cmd(ctx, 'init') };
    case 'not-yet-valid':
      return {
        text: `${name} is not valid before ${row.notBefore?.toISOString() ?? 'its notBefore'}: check this machine's clock (date -u), or wait`,
        command: cmd(ctx, 'inspect', '--secret', row.role),
      };
    case 'renewal-due':
    case 'expired':
    case 'invalid':
      return renewal(row, ctx);
  }
}

function renewal(row: SecretStatus, ctx: AdviceContext): Advice {
  const what = row.state === 'invalid' ? `${row.name} is unusable (${row.errorCode ?? 'invalid'})` : undefined;
  if (!row.managed) {
    return {
      text: `${what ? `${what}; ` : ''}${row.name} is bring-your-own, so certloop never writes it: ${OWNER_TOOL.replace('NAME', row.name)}`,
      command: cmd(ctx, 'inspect', '--secret', row.role),
    };
  }
  if (row.role === 'root') {
    return {
      text:
        `${what ? `${what}; ` : `the root CA ${row.state === 'expired' ? 'has expired' : 'is due for renewal'}; `}` +
        'certloop does not replace a root in place (every peer trusts it): see its details, then make a new PKI ' +
        'with certloop init --dir NEW_DIR and move the peers to it',
      command: cmd(ctx, 'inspect', '--secret', 'root'),
    };
  }
  const verb = row.role === 'token' ? 'replaces the token' : 'issues a new key and certificate';
  return {
    text: `${what ? `${what}; ` : ''}certloop rotate ${verb} for ${row.name}`,
    command: cmd(ctx, 'rotate', row.role),
  };
}

/** Advice for every row that needs some, in row order. */
export function adviceList(
  rows: readonly SecretStatus[],
  ctx: AdviceContext,
): { readonly row: SecretStatus; readonly advice: Advice }[] {
  return rows.flatMap((row) => {
    const advice = adviceFor(row, rows, ctx);
    return advice ? [{ row, advice }] : [];
  });
}
