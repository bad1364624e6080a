/**
 * Internal: reading the Kubernetes Secret volume layout (the kubelet's AtomicWriter) that FileSecretStore
 * writes and reads:
 *
 *   <directory>/<name>/..2026_01_01_00_00_00.Ab3xYz/   data directory: one file per key, plus ..certloop.json
 *   <directory>/<name>/..data -> ..2026_01_01_00_00_00.Ab3xYz
 *   <directory>/<name>/<key> -> ..data/<key>
 *
 * A reader resolves `..data` once and reads the files from the directory it names, so it sees one whole
 * version; the name of that directory is the secret's version.
 */
import { open, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { CertloopError } from '../errors.js';
import { hasErrno, toStoreIoError } from '../lib/fs-errors.js';
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
  const normalized = posix.normalize(target);
  // only a sibling entry: a link leading elsewhere is not this layout (and must not lead reads out of it)
  if (normalized.includes('/') || normalized === '.' || normalized === '..' || normalized.includes('\\')) {
    throw corrupt(secretDir, '..data must point at a sibling directory');
  }
  return normalized;
}

/** Reads the secret whole, as of one `..data` resolution; undefined when missing. */
export async function readSecretDirectory(secretDir: string, name: string): Promise<Secret | undefined> {
  let previous: string | undefined;
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    const version = await readDataVersion(secretDir);
    if (version === null) return undefined;
    try {
      return await readDataDirectory(secretDir, name, version);
    } catch (err) {
      if (!hasErrno(err, 'ENOENT')) throw toStoreIoError(err, 'read', join(secretDir, version));
      // the same target vanishing twice is a dangling ..data, not a race with a writer
      if (version === previous) throw corrupt(secretDir, '..data points at a missing directory', err);
      previous = version;
    }
  }
  throw new CertloopError('CERTLOOP_STORE_IO', `file store: secret ${name} kept changing while being read`, {
    details: { path: secretDir },
  });
}

async function readDataDirectory(secretDir: string, name: string, version: string): Promise<Secret> {
  const dataDir = join(secretDir, version);
  const entries = await readdir(dataDir, { withFileTypes: true });
  let metadata: Metadata = { type: 'Opaque', labels: {}, annotations: {} };
  const data: [string, Uint8Array][] = [];
  let total = 0;
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name === METADATA_FILE) {
      metadata = parseMetadata(await readBounded(join(dataDir, entry.name), MAX_SECRET_BYTES), secretDir);
      continue;
    }
    // subdirectories, links and names that are not data keys are not part of the secret
    if (!entry.isFile() || !isValidDataKey(entry.name)) continue;
    const bytes = await readBounded(join(dataDir, entry.name), MAX_SECRET_BYTES - total);
    total += bytes.byteLength;
    data.push([entry.name, bytes]);
  }
  return { name, ...metadata, data: Object.fromEntries(data), version };
}

interface Metadata {
  type: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

function parseMetadata(bytes: Uint8Array, secretDir: string): Metadata {
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

/** Reads a file, refusing more than `limit` bytes before reading them. */
async function readBounded(path: string, limit: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > limit) {
      throw new CertloopError('CERTLOOP_INPUT_TOO_LARGE', 'file store: secret exceeds the 1 MiB size limit', {
        details: { path, limit: MAX_SECRET_BYTES },
      });
    }
    return new Uint8Array(await handle.readFile());
  } finally {
    await handle.close();
  }
}

export function corrupt(secretDir: string, message: string, cause?: unknown): CertloopError {
  return new CertloopError('CERTLOOP_STORE_CORRUPT', `file store: ${message} (${secretDir})`, {
    cause,
    details: { path: secretDir },
  });
}
