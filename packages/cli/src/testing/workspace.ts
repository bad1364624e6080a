/**
 * Test support (not published): a scratch folder per test, removed afterwards, with a relay PKI made by
 * `certloop init` when asked.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCertloop } from './spawn.js';

export interface Scratch {
  readonly dir: string;
  /** The file store's folder (`<dir>/secrets`). */
  readonly store: string;
  remove(): Promise<void>;
}

export async function scratch(): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), 'certloop-cli-'));
  return { dir, store: join(dir, 'secrets'), remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A scratch folder whose store holds what `certloop init` makes. */
export async function initialised(): Promise<Scratch> {
  const s = await scratch();
  const result = await runCertloop(['init', '--dir', s.store], { cwd: s.dir });
  if (result.code !== 0) throw new Error(`certloop init failed: ${result.stderr}`);
  return s;
}
