/**
 * `certloop` file input and output. Input is a path or `-` for standard input, bounded in size. Output files are
 * written 0600, each to a temporary file renamed into place, and only after every output is ready and no target
 * exists (unless --force): a failing command writes nothing.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { isCertloopError } from '@certloop/core';
import { cliError } from './errors.js';

/** Largest input read (certificates, bundles, CSRs and keys are far smaller). */
export const MAX_INPUT_BYTES = 1024 * 1024;

async function readStream(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buffer.length;
    if (size > MAX_INPUT_BYTES) {
      throw cliError('CERTLOOP_INPUT_TOO_LARGE', `standard input is larger than ${MAX_INPUT_BYTES} bytes`);
    }
    chunks.push(buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** The bytes of `path` (relative to `cwd`), or of standard input for `-`. */
export async function readInput(path: string, io: { cwd: string; stdin: Readable }): Promise<Uint8Array> {
  if (path === '-') return readStream(io.stdin);
  const full = resolve(io.cwd, path);
  try {
    const handle = await open(full, constants.O_RDONLY);
    try {
      const stat = await handle.stat();
      if (stat.isDirectory()) throw cliError('CERTLOOP_FILE_UNREADABLE', `${path} is a directory, not a file`);
      if (stat.size > MAX_INPUT_BYTES) {
        throw cliError('CERTLOOP_INPUT_TOO_LARGE', `${path} is larger than ${MAX_INPUT_BYTES} bytes`);
      }
      return new Uint8Array(await handle.readFile());
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (isCertloopError(err)) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
    throw cliError('CERTLOOP_FILE_UNREADABLE', `cannot read ${path} (${reason})`, undefined, err);
  }
}

/** Text of an input (PEM), decoded as UTF-8. */
export async function readTextInput(path: string, io: { cwd: string; stdin: Readable }): Promise<string> {
  return new TextDecoder().decode(await readInput(path, io));
}

export interface OutputFile {
  readonly path: string;
  readonly content: string;
}

/**
 * Writes every file (mode 0600) or none: targets are checked first (an existing file needs `force`), each is
 * written to a temporary sibling and renamed into place; if any step fails, the temporaries are removed.
 */
export async function writeOutputFiles(files: readonly OutputFile[], options: { cwd: string; force: boolean }) {
  const targets = files.map((f) => ({ ...f, full: resolve(options.cwd, f.path) }));
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t.full))
      throw cliError('CERTLOOP_USAGE', `${t.path} is named for two outputs`, 'give each output its own path');
    seen.add(t.full);
    const existing = await lstat(t.full).catch(() => undefined);
    if (existing?.isDirectory()) throw cliError('CERTLOOP_FILE_EXISTS', `${t.path} is a directory`);
    if (existing && !options.force) throw cliError('CERTLOOP_FILE_EXISTS', `${t.path} exists`);
  }
  const temporaries: string[] = [];
  try {
    for (const t of targets) {
      const temporary = join(dirname(t.full), `.${basename(t.full)}.${randomBytes(6).toString('hex')}.tmp`);
      const handle = await open(temporary, 'wx', 0o600);
      temporaries.push(temporary);
      try {
        await handle.writeFile(t.content);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  } catch (err) {
    await Promise.all(temporaries.map((p) => rm(p, { force: true })));
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw cliError(
      'CERTLOOP_STORE_IO',
      `cannot write the output files (${code})`,
      'check that the folder exists and you may write to it',
      err,
    );
  }
  for (const [i, t] of targets.entries()) await rename(temporaries[i]!, t.full);
}
