/**
 * `certloop` default store: contexts, as kubeconfig has them and `$STEPPATH` gives step one home, so the store need
 * not be named on every call. `$CERTLOOP_HOME/contexts.yaml` (default `~/.certloop/contexts.yaml`):
 *
 *   current-context: dev
 *   contexts:
 *     dev:  { dir: ./pki/dev }                       # a file store; a relative dir is relative to this file
 *     prod: { store: kubernetes, context: prod-admin, namespace: gloo-mesh }
 *
 * `CERTLOOP_CONTEXT=NAME` picks another context for one call. Precedence, per flag: the command line, then its
 * environment variable (CERTLOOP_DIR, ...), then the context, then the default. `certloop context` lists the
 * contexts and sets the current one.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import type { CliContext } from './context.js';
import { cliError } from './errors.js';

export const CONTEXT_KEYS = ['store', 'dir', 'kubeconfig', 'context', 'namespace'] as const;
export type StoreContext = Partial<Record<(typeof CONTEXT_KEYS)[number], string>>;

export interface ContextsFile {
  readonly path: string;
  readonly current?: string;
  readonly contexts: Readonly<Record<string, StoreContext>>;
}

/** Where the contexts live for this environment. */
export function contextsPath(env: CliContext['env']): string {
  const home = env.CERTLOOP_HOME || join(env.HOME || homedir(), '.certloop');
  return join(home, 'contexts.yaml');
}

/** The contexts file, or undefined when there is none; CERTLOOP_INVALID_CONFIG when it is not one. */
export async function readContexts(env: CliContext['env']): Promise<ContextsFile | undefined> {
  const path = contextsPath(env);
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw cliError('CERTLOOP_INVALID_CONFIG', `${path} is not YAML`, 'fix its syntax', err);
  }
  const doc = (raw ?? {}) as { 'current-context'?: unknown; contexts?: unknown };
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw cliError(
      'CERTLOOP_INVALID_CONFIG',
      `${path} holds no contexts`,
      'write `contexts:` with one entry per store',
    );
  }
  const contexts: Record<string, StoreContext> = {};
  for (const [name, value] of Object.entries((doc.contexts ?? {}) as Record<string, unknown>)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw cliError('CERTLOOP_INVALID_CONFIG', `${path}: context ${name} is not a set of store settings`);
    }
    const context: StoreContext = {};
    for (const [key, setting] of Object.entries(value)) {
      if (!(CONTEXT_KEYS as readonly string[]).includes(key)) {
        throw cliError(
          'CERTLOOP_INVALID_CONFIG',
          `${path}: context ${name} has an unknown setting ${JSON.stringify(key)}`,
          `a context takes ${CONTEXT_KEYS.join(', ')}`,
        );
      }
      context[key as keyof StoreContext] = String(setting);
    }
    if (context.dir) context.dir = resolve(dirname(path), context.dir.replace(/^~(?=\/|$)/, homedir()));
    contexts[name] = context;
  }
  const current = typeof doc['current-context'] === 'string' ? doc['current-context'] : undefined;
  return { path, current, contexts };
}

/** Fills the store flags of `command` that neither the command line nor the environment set, from the context. */
export async function applyStoreContext(command: Command, context: CliContext): Promise<void> {
  if (!command.options.some((o) => o.long === '--store')) return;
  const file = await readContexts(context.env);
  const name = context.env.CERTLOOP_CONTEXT || file?.current;
  if (!name) return;
  const chosen = file?.contexts[name];
  if (!chosen) {
    const known = Object.keys(file?.contexts ?? {});
    throw cliError(
      'CERTLOOP_INVALID_CONFIG',
      `no context ${JSON.stringify(name)} in ${file?.path ?? contextsPath(context.env)}`,
      known.length ? `contexts: ${known.join(', ')} (certloop context list)` : 'add it with `certloop context set`',
    );
  }
  if (chosen.store !== undefined && chosen.store !== 'file' && chosen.store !== 'kubernetes') {
    throw cliError(
      'CERTLOOP_INVALID_CONFIG',
      `context ${name}: store ${JSON.stringify(chosen.store)} is not file or kubernetes`,
    );
  }
  for (const key of CONTEXT_KEYS) {
    const value = chosen[key];
    const source = command.getOptionValueSource(key);
    if (value !== undefined && (source === undefined || source === 'default')) {
      command.setOptionValueWithSource(key, value, 'config');
    }
  }
}
