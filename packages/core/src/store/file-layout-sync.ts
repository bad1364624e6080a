/**
 * Internal: the reads of file-layout.ts with synchronous calls, for the watch hub, which checks thousands of
 * small local secrets in batches: a synchronous `readlink` or read of a few kilobytes costs microseconds, where
 * the same call through the thread pool costs tens (and thousands of them queue behind each other). Same
 * confinement as the asynchronous reads: see {@link readSecretDirectory}.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { CertloopError } from '../errors.js';
import { hasErrno, toStoreIoError } from '../lib/fs-errors.js';
import {
  checkSibling,
  corrupt,
  DATA_LINK,
  descriptorPath,
  METADATA_FILE,
  type Metadata,
  parseMetadata,
  type ReadLayoutOptions,
  tooLarge,
} from './file-layout.js';
import { isValidDataKey, MAX_SECRET_BYTES } from './names.js';
import type { Secret } from './types.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;
const READ_ATTEMPTS = 8;

/** As `readDataVersion`, synchronously. */
export function readDataVersionSync(secretDir: string): string | null {
  return versionAt(secretDir, secretDir);
}

/** `..data`'s target read through `base` (the secret directory, or a descriptor path naming it). */
function versionAt(base: string, secretDir: string): string | null {
  const link = join(base, DATA_LINK);
  let target: string;
  try {
    target = readlinkSync(link);
  } catch (err) {
    if (hasErrno(err, 'ENOENT', 'ENOTDIR')) return null;
    if (hasErrno(err, 'EINVAL')) throw corrupt(secretDir, '..data is not a symbolic link');
    throw toStoreIoError(err, 'readlink', join(secretDir, DATA_LINK));
  }
  return checkSibling(target, secretDir);
}

/** As `readSecretDirectory`, synchronously. */
export function readSecretDirectorySync(
  secretDir: string,
  name: string,
  options: ReadLayoutOptions = {},
): Secret | undefined {
  const dir = openSecretDirectory(secretDir, options.followSecretLink === true);
  if (dir === undefined) return undefined;
  try {
    const base = descriptorPath(dir, secretDir);
    let previous: string | undefined;
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const version = versionAt(base, secretDir);
      if (version === null) return undefined;
      try {
        const secret = readDataDirectory(secretDir, base, name, version);
        // as in readSecretDirectory: a version still named by ..data after the read was not being removed
        if (versionAt(base, secretDir) === version) return secret;
        previous = undefined;
      } catch (err) {
        if (!hasErrno(err, 'ENOENT')) throw toStoreIoError(err, 'read', join(secretDir, version));
        if (version === previous) throw corrupt(secretDir, '..data points at a missing directory', err);
        previous = version;
      }
    }
  } finally {
    closeSync(dir);
  }
  throw new CertloopError('CERTLOOP_STORE_IO', `file store: secret ${name} kept changing while being read`, {
    details: { path: secretDir },
  });
}

function openSecretDirectory(path: string, follow: boolean): number | undefined {
  try {
    return openSync(path, O_RDONLY | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW));
  } catch (err) {
    if (hasErrno(err, 'ENOENT')) return undefined;
    // Linux answers ENOTDIR (not ELOOP) for a link opened with O_DIRECTORY | O_NOFOLLOW
    const link = hasErrno(err, 'ELOOP') || (hasErrno(err, 'ENOTDIR') && isLink(path));
    if (link) throw corrupt(path, 'the secret directory is a symbolic link (see the followSymlinkedSecrets option)');
    if (hasErrno(err, 'ENOTDIR')) return undefined;
    throw toStoreIoError(err, 'open', path);
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function readDataDirectory(secretDir: string, base: string, name: string, version: string): Secret {
  let dataDir: number;
  try {
    dataDir = openSync(join(base, version), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (err) {
    if (hasErrno(err, 'ELOOP', 'ENOTDIR')) throw corrupt(secretDir, '..data does not lead to a directory of its own');
    throw err;
  }
  try {
    const dataBase = descriptorPath(dataDir, join(secretDir, version));
    const entries = readdirSync(dataBase, { withFileTypes: true });
    let metadata: Metadata = { type: 'Opaque', labels: {}, annotations: {} };
    const keys: [string, number][] = [];
    let total = 0;
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (entry.name === METADATA_FILE) continue;
      if (!isValidDataKey(entry.name) || entry.isDirectory()) continue;
      if (!entry.isFile()) throw corrupt(secretDir, `key ${entry.name} is not a regular file`);
      const length = readBounded(join(dataBase, entry.name), MAX_SECRET_BYTES - total, secretDir, total);
      total += length;
      keys.push([entry.name, length]);
    }
    // the values, copied once out of the scratch buffer into one block for the whole secret
    const block = scratch.slice(0, total);
    let offset = 0;
    // fromEntries defines own properties, so a key such as `__proto__` stays plain data
    const data = Object.fromEntries(
      keys.map(([key, length]) => {
        const view = block.subarray(offset, offset + length);
        offset += length;
        return [key, view];
      }),
    );
    if (entries.some((entry) => entry.name === METADATA_FILE)) {
      const length = readBounded(join(dataBase, METADATA_FILE), MAX_SECRET_BYTES, secretDir);
      metadata = parseMetadata(scratch.subarray(0, length), secretDir);
    }
    return { name, ...metadata, data, version };
  } finally {
    closeSync(dataDir);
  }
}

/**
 * One scratch buffer for every synchronous read (reads never interleave): a value is copied out of it once, into
 * the secret's single block, so checking thousands of secrets does not churn a small allocation per file.
 */
let scratch = new Uint8Array(16 * 1024);

/** Reads a regular file into the scratch buffer at `offset`; resolves its length. */
function readBounded(path: string, limit: number, secretDir: string, offset = 0): number {
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    if (hasErrno(err, 'ELOOP')) throw corrupt(secretDir, 'a key file was replaced by a symbolic link', err);
    throw err;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw corrupt(secretDir, 'a key file is not a regular file');
    if (info.size > limit) throw tooLarge(secretDir);
    // room for the whole file and one byte more, to see a file that grew past the limit since fstat
    const end = offset + Math.min(info.size, limit) + 1;
    if (scratch.length < end) {
      const grown = new Uint8Array(Math.max(end, scratch.length * 2));
      grown.set(scratch.subarray(0, offset));
      scratch = grown;
    }
    let length = 0;
    for (;;) {
      const bytesRead = readSync(fd, scratch, offset + length, end - offset - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (offset + length === end) throw tooLarge(secretDir);
    }
    return length;
  } finally {
    closeSync(fd);
  }
}
