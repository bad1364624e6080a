/**
 * Internal: writing the Kubernetes Secret volume layout the way the kubelet's AtomicWriter does, so a crash at
 * any point leaves the old or the new secret whole:
 *
 * 1. create a new timestamped data directory holding one file per key and the metadata file, all fsynced;
 * 2. create a `..data_tmp` link to it and rename it over `..data`: the one atomic step (the commit);
 * 3. add the `<key> -> ..data/<key>` links of new keys, remove those of dropped keys;
 * 4. remove the previous data directory (and any left by a crash).
 *
 * Callers hold the secret's lock; the layout itself needs no lock for readers.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Clock } from '../clock/clock.js';
import { throwIfAborted } from '../errors.js';
import { hasErrno } from '../lib/fs-errors.js';
import { fsyncDirectory, writeFileDurably } from '../lib/fs-sync.js';
import { DATA_DIR_PATTERN, DATA_LINK, DATA_TMP_LINK, METADATA_FILE } from './file-layout.js';
import type { NormalizedSecretInput } from './names.js';

const LINK_TMP = '..link_tmp';
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

export interface WriteSecretRequest {
  readonly secretDir: string;
  readonly input: NormalizedSecretInput;
  readonly clock: Clock;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Writes a new version of the secret and returns it (the new data directory's name). Until the commit, an
 * abort or error removes what was written and leaves the old version in place; after it, the remaining steps
 * are tidying that the next write redoes, so their failures do not fail the write.
 */
export async function writeSecretDirectory(request: WriteSecretRequest): Promise<string> {
  const { secretDir, input, clock, signal } = request;
  await ensureDirectory(secretDir);
  const version = await createDataDirectory(secretDir, input, clock);
  const tmpLink = join(secretDir, DATA_TMP_LINK);
  try {
    throwIfAborted(signal);
    await rm(tmpLink, { force: true });
    await symlink(version, tmpLink);
    throwIfAborted(signal);
    await rename(tmpLink, join(secretDir, DATA_LINK));
  } catch (err) {
    await Promise.allSettled([
      rm(join(secretDir, version), { recursive: true, force: true }),
      rm(tmpLink, { force: true }),
    ]);
    throw err;
  }
  // committed: a reader already sees the new version whole; the next write repairs links and leftovers, so
  // failures here do not fail the write (allSettled: nothing may still run once the lock is released)
  await Promise.allSettled([
    fsyncDirectory(secretDir),
    tidyAfterCommit(secretDir, new Set(Object.keys(input.data)), version),
  ]);
  return version;
}

/**
 * Removes a secret directory: an atomic rename out of the way first (readers then see it missing, a crash
 * leaves only a hidden leftover), then the actual removal.
 */
export async function removeSecretDirectory(baseDir: string, name: string): Promise<void> {
  const trash = join(baseDir, `..deleted.${randomBytes(6).toString('hex')}`);
  await rename(join(baseDir, name), trash);
  await fsyncDirectory(baseDir);
  await rm(trash, { recursive: true, force: true }).catch(() => {
    // hidden, so invisible to readers; sweepDeletedLeftovers retries it
  });
}

/** Best effort: removes `..deleted.*` leftovers of deletes interrupted by a crash. */
export async function sweepDeletedLeftovers(baseDir: string): Promise<void> {
  const entries = await readdir(baseDir).catch(() => [] as string[]);
  await Promise.allSettled(
    entries
      .filter((entry) => entry.startsWith('..deleted.'))
      .map((entry) => rm(join(baseDir, entry), { recursive: true, force: true })),
  );
}

async function ensureDirectory(secretDir: string): Promise<void> {
  const baseDir = dirname(secretDir);
  try {
    await mkdir(secretDir, { mode: DIR_MODE });
  } catch (err) {
    if (hasErrno(err, 'EEXIST')) return;
    if (!hasErrno(err, 'ENOENT')) throw err;
    // the first secret of this store: make the store directory too
    await mkdir(baseDir, { recursive: true, mode: DIR_MODE });
    await mkdir(secretDir, { mode: DIR_MODE }).catch((again) => {
      if (!hasErrno(again, 'EEXIST')) throw again;
    });
  }
  await fsyncDirectory(baseDir);
}

async function createDataDirectory(secretDir: string, input: NormalizedSecretInput, clock: Clock): Promise<string> {
  // mkdtemp makes the name unique and the directory 0700
  const dataDir = await mkdtemp(join(secretDir, timestampPrefix(clock.now())));
  try {
    const metadata = JSON.stringify({ type: input.type, labels: input.labels, annotations: input.annotations });
    await Promise.all([
      ...Object.entries(input.data).map(([key, value]) => writeFileDurably(join(dataDir, key), value, FILE_MODE)),
      writeFileDurably(join(dataDir, METADATA_FILE), metadata, FILE_MODE),
    ]);
    await fsyncDirectory(dataDir);
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  return dataDir.slice(secretDir.length + 1);
}

/** `..2026_01_01_00_00_00.` as the kubelet names data directories (UTC); mkdtemp appends the random part. */
function timestampPrefix(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  const parts = [date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes()];
  return `..${date.getUTCFullYear()}_${parts.map(pad).join('_')}_${pad(date.getUTCSeconds())}.`;
}

/**
 * After the commit, from one listing: makes the `<key> -> ..data/<key>` links match `keys` (leaving entries
 * that are not such links alone) and removes every data directory but `current` (the previous one, and any
 * left by a crash).
 */
async function tidyAfterCommit(secretDir: string, keys: ReadonlySet<string>, current: string): Promise<void> {
  const entries = await readdir(secretDir, { withFileTypes: true });
  const linked = new Set<string>();
  await Promise.allSettled(
    entries.map(async (entry) => {
      const path = join(secretDir, entry.name);
      if (DATA_DIR_PATTERN.test(entry.name)) {
        if (entry.name !== current) await rm(path, { recursive: true, force: true });
        return;
      }
      if (entry.name.startsWith('..') || !entry.isSymbolicLink()) return;
      if ((await readlink(path).catch(() => undefined)) !== `${DATA_LINK}/${entry.name}`) return;
      if (keys.has(entry.name)) linked.add(entry.name);
      else await unlink(path);
    }),
  );
  const taken = new Set(entries.map((entry) => entry.name));
  const missing = [...keys].filter((key) => !linked.has(key));
  const replace: string[] = [];
  await Promise.allSettled(
    missing.map(async (key) => {
      if (taken.has(key)) {
        replace.push(key);
        return;
      }
      await symlink(`${DATA_LINK}/${key}`, join(secretDir, key)).catch((err) => {
        if (!hasErrno(err, 'EEXIST')) throw err;
        replace.push(key);
      });
    }),
  );
  // something else holds the key's name (a stale link, a file made by hand): replace it atomically, one at a
  // time since replacements share one temporary name
  for (const key of replace) {
    const tmp = join(secretDir, LINK_TMP);
    await rm(tmp, { force: true });
    await symlink(`${DATA_LINK}/${key}`, tmp);
    await rename(tmp, join(secretDir, key));
  }
}
