/**
 * Internal: reading the Kubernetes Secret volume layout (the kubelet's AtomicWriter) that FileSecretStore
 * writes and reads:
 *
 *   <directory>/<name>/..2026_01_01_00_00_00.Ab3xYz/   data directory: one file per key, plus ..certloop.json
 *   <directory>/<name>/..data -> ..2026_01_01_00_00_00.Ab3xYz
 *   <directory>/<name>/<key> -> ..data/<key>
 *
 * A reader resolves `..data`, reads the files from the directory it names, and checks that `..data` still names it
 * (writers remove a version only after swapping away from it), so it sees one whole version; the name of that
 * directory is the secret's version.
 */
import { constants, existsSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { CertloopError } from '../errors.js';
import { hasErrno, toStoreIoError } from '../lib/fs-errors.js';
import { lstat, open, readdir, readlink } from '../lib/fs-seam.js';
import { isValidDataKey, MAX_SECRET_BYTES } from './names.js';
import type { Secret } from './types.js';

export const DATA_LINK = '..data';
export const DATA_TMP_LINK = '..data_tmp';
/** Type, labels and annotations, kept inside the data directory so they swap atomically with the data. */
export const METADATA_FILE = '..certloop.json';
/** Data directories as the kubelet names them: `..<UTC timestamp>.<random>`. */
export const DATA_DIR_PATTERN = /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\./;

// A reader racing writers retries when the directory it resolved is swapped away and removed under it.
const READ_ATTEMPTS = 8;

/** The name of the data directory `..data` points at (the version), or null when the secret is missing. */
export async function readDataVersion(secretDir: string): Promise<string | null> {
  const link = join(secretDir, DATA_LINK);
  let target: string;
  try {
    target = await readlink(link);
  } catch (err) {
    // no ..data: no secret, or a first write that has not committed (or crashed before committing)
    if (hasErrno(err, 'ENOENT', 'ENOTDIR')) return null;
    if (hasErrno(err, 'EINVAL')) throw corrupt(secretDir, '..data is not a symbolic link');
    throw toStoreIoError(err, 'readlink', link);
  }
  return checkSibling(target, secretDir);
}

/** `..data`'s target, which must name an entry of the secret directory itself: a link elsewhere is corrupt. */
export function checkSibling(target: string, secretDir: string): string {
  const normalized = posix.normalize(target);
  // only a sibling entry: a link leading elsewhere is not this layout (and must not lead reads out of it)
  if (normalized.includes('/') || normalized === '.' || normalized === '..' || normalized.includes('\\')) {
    throw corrupt(secretDir, '..data must point at a sibling directory');
  }
  return normalized;
}

export interface ReadLayoutOptions {
  /** Read a secret directory that is itself a symbolic link (a mounted volume); default false: corrupt. */
  readonly followSecretLink?: boolean;
}

/**
 * Reads the secret whole, as of one `..data` resolution; undefined when missing.
 *
 * Confined to the secret's own directory: the secret directory is opened without following a link (unless
 * `followSecretLink`), `..data` must name a sibling that is a real directory (opened with `O_NOFOLLOW`), and
 * every key is a regular file in it, opened with `O_NOFOLLOW` and checked on the opened descriptor. On Linux
 * every step after the first resolves relative to the descriptor opened before it (`/proc/self/fd/<fd>/...`),
 * so nothing is checked by path and then used by path. Anything else (a link to elsewhere, a key that is a
 * link, a device or a pipe) throws `CERTLOOP_STORE_CORRUPT`.
 */
export async function readSecretDirectory(
  secretDir: string,
  name: string,
  options: ReadLayoutOptions = {},
): Promise<Secret | undefined> {
  const dir = await openDirectory(secretDir, options.followSecretLink === true, 'secret');
  if (dir === undefined) return undefined;
  try {
    const base = descriptorPath(dir.fd, secretDir);
    let previous: string | undefined;
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const version = await readVersionAt(base, secretDir);
      if (version === null) return undefined;
      try {
        const secret = await readDataDirectory(secretDir, base, name, version);
        // a writer swaps ..data away from a version before it removes that version's files: if ..data still names
        // it, nothing was removed while it was read (a directory read as it was being removed can look whole but
        // hold fewer keys, or none)
        if ((await readVersionAt(base, secretDir)) === version) return secret;
        previous = undefined;
      } catch (err) {
        if (!hasErrno(err, 'ENOENT')) throw toStoreIoError(err, 'read', join(secretDir, version));
        // the same target vanishing twice is a dangling ..data, not a race with a writer
        if (version === previous) throw corrupt(secretDir, '..data points at a missing directory', err);
        previous = version;
      }
    }
  } finally {
    await dir.close();
  }
  throw new CertloopError('CERTLOOP_STORE_IO', `file store: secret ${name} kept changing while being read`, {
    details: { path: secretDir },
  });
}

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;
let procFd: string | null | undefined;

/**
 * The path that names an open directory `fd` (at `path`): through its descriptor where the platform allows it.
 * Linux names an open directory's contents by its descriptor (`/proc/self/fd/<fd>/...`), which makes openat(2)
 * out of plain paths; elsewhere the path itself (each step is still opened without following links).
 */
export function descriptorPath(fd: number, path: string): string {
  procFd ??= process.platform === 'linux' && existsSync('/proc/self/fd') ? '/proc/self/fd' : null;
  return procFd === null ? path : `${procFd}/${fd}`;
}

/**
 * Opens a directory without following a final link (unless `follow`). Undefined when missing (or not a
 * directory, for the secret itself); a link where none may be is corrupt.
 */
async function openDirectory(path: string, follow: boolean, what: 'secret'): Promise<FileHandle | undefined>;
async function openDirectory(path: string, follow: boolean, what: 'data', secretDir: string): Promise<FileHandle>;
async function openDirectory(
  path: string,
  follow: boolean,
  what: 'secret' | 'data',
  secretDir = path,
): Promise<FileHandle | undefined> {
  try {
    return await open(path, O_RDONLY | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW));
  } catch (err) {
    if (what === 'secret') {
      if (hasErrno(err, 'ENOENT')) return undefined;
      // Linux answers ENOTDIR (not ELOOP) for a link opened with O_DIRECTORY | O_NOFOLLOW
      const link = hasErrno(err, 'ELOOP') || (hasErrno(err, 'ENOTDIR') && (await isLink(path)));
      if (hasErrno(err, 'ENOTDIR') && !link) return undefined;
      if (link) {
        throw corrupt(secretDir, 'the secret directory is a symbolic link (see the followSymlinkedSecrets option)');
      }
      throw toStoreIoError(err, 'open', path);
    }
    if (hasErrno(err, 'ELOOP', 'ENOTDIR')) throw corrupt(secretDir, '..data does not lead to a directory of its own');
    throw err;
  }
}

async function isLink(path: string): Promise<boolean> {
  return lstat(path).then(
    (info) => info.isSymbolicLink(),
    () => false,
  );
}

async function readVersionAt(base: string, secretDir: string): Promise<string | null> {
  const link = join(base, DATA_LINK);
  let target: string;
  try {
    target = await readlink(link);
  } catch (err) {
    if (hasErrno(err, 'ENOENT', 'ENOTDIR')) return null;
    if (hasErrno(err, 'EINVAL')) throw corrupt(secretDir, '..data is not a symbolic link');
    throw toStoreIoError(err, 'readlink', join(secretDir, DATA_LINK));
  }
  return checkSibling(target, secretDir);
}

async function readDataDirectory(secretDir: string, base: string, name: string, version: string): Promise<Secret> {
  const dataDir = await openDirectory(join(base, version), false, 'data', secretDir);
  try {
    const dataBase = descriptorPath(dataDir.fd, join(secretDir, version));
    const entries = await readdir(dataBase, { withFileTypes: true });
    let metadata: Metadata = { type: 'Opaque', labels: {}, annotations: {} };
    const data: [string, Uint8Array][] = [];
    let total = 0;
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (entry.name === METADATA_FILE) {
        const bytes = await readBounded(join(dataBase, entry.name), MAX_SECRET_BYTES, secretDir);
        metadata = parseMetadata(bytes, secretDir);
        continue;
      }
      // subdirectories and names that are not data keys are not part of the secret
      if (!isValidDataKey(entry.name) || entry.isDirectory()) continue;
      // a key that is a link (or a device, a pipe) could lead anywhere: the layout has none
      if (!entry.isFile()) throw corrupt(secretDir, `key ${entry.name} is not a regular file`);
      const bytes = await readBounded(join(dataBase, entry.name), MAX_SECRET_BYTES - total, secretDir);
      total += bytes.byteLength;
      data.push([entry.name, bytes]);
    }
    return { name, ...metadata, data: Object.fromEntries(data), version };
  } finally {
    await dataDir.close();
  }
}

export interface Metadata {
  type: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function parseMetadata(bytes: Uint8Array, secretDir: string): Metadata {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw corrupt(secretDir, `${METADATA_FILE} is not valid JSON`, err);
  }
  const record = parsed as Partial<Record<keyof Metadata, unknown>> | null;
  if (
    typeof record !== 'object' ||
    record === null ||
    typeof record.type !== 'string' ||
    record.type.length === 0 ||
    !isStringMap(record.labels) ||
    !isStringMap(record.annotations)
  ) {
    throw corrupt(secretDir, `${METADATA_FILE} does not hold type, labels and annotations`);
  }
  return { type: record.type, labels: { ...record.labels }, annotations: { ...record.annotations } };
}

function isStringMap(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((item) => typeof item === 'string')
  );
}

/**
 * Reads a regular file, refusing more than `limit` bytes before reading them. Opened with `O_NOFOLLOW` (and
 * `O_NONBLOCK`, so a pipe put in its place cannot hang the read) and checked on the descriptor.
 */
async function readBounded(path: string, limit: number, secretDir: string): Promise<Uint8Array> {
  let handle: FileHandle;
  try {
    handle = await open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    if (hasErrno(err, 'ELOOP')) throw corrupt(secretDir, 'a key file was replaced by a symbolic link', err);
    throw err;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw corrupt(secretDir, 'a key file is not a regular file');
    if (info.size > limit) throw tooLarge(secretDir);
    // one read of size + 1: a file that grew since fstat still reads whole, up to the limit
    const buffer = new Uint8Array(Math.min(info.size, limit) + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) throw tooLarge(secretDir);
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

export function tooLarge(secretDir: string): CertloopError {
  return new CertloopError('CERTLOOP_INPUT_TOO_LARGE', 'file store: secret exceeds the 1 MiB size limit', {
    details: { path: secretDir, limit: MAX_SECRET_BYTES },
  });
}

export function corrupt(secretDir: string, message: string, cause?: unknown): CertloopError {
  return new CertloopError('CERTLOOP_STORE_CORRUPT', `file store: ${message} (${secretDir})`, {
    cause,
    details: { path: secretDir },
  });
}
