/**
 * Internal: writing the Kubernetes Secret volume layout the way the kubelet's AtomicWriter does, so a crash at
 * any point leaves the old or the new secret whole:
 *
 * 1. create a new timestamped data directory holding one file per key and the metadata file, all fsynced;
 * 2. link `..data_tmp.<token>` to it, claim the current version's successor and rename the link over `..data`:
 *    the commit, fenced by the claim (file-commit.ts), so a writer whose lock was broken cannot overwrite a
 *    newer version;
 * 3. add the `<key> -> ..data/<key>` links of new keys, remove those of dropped keys;
 * 4. remove the previous data directory (and any left by writers that died).
 *
 * Callers hold the secret's lock (it saves conflicts; it is not what makes compare-and-swap hold); the layout
 * itself needs no lock for readers. Data directories carry their writer in their name
 * (`..<timestamp>.<host>-<pid>-<start>-<random>`) so that leftovers of dead writers can be told from the
 * directory of a live writer that is only slow.
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { Clock } from '../clock/clock.js';
import { CertloopError, isCertloopError, throwIfAborted } from '../errors.js';
import { hasErrno } from '../lib/fs-errors.js';
import { lstat, mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, unlink } from '../lib/fs-seam.js';
import { fsyncDirectory, writeFileDurably } from '../lib/fs-sync.js';
import {
  claimForDelete,
  commitVersion,
  type PreparedVersion,
  prepareLink,
  retireVersion,
  settleCurrent,
  sweepLeftovers,
} from './file-commit.js';
import { corrupt, DATA_DIR_PATTERN, DATA_LINK, METADATA_FILE } from './file-layout.js';
import type { NormalizedSecretInput } from './names.js';
import { type HolderIdentity, ownerTag, parseOwnerTag } from './process-identity.js';
import { checkExpectedVersion } from './secret-utils.js';

const LINK_TMP = '..link_tmp';
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
// an unconditional write that keeps losing the claim to other writers gives up after this many rounds
const WRITE_ATTEMPTS = 32;

export interface WriteSecretRequest {
  readonly name: string;
  readonly secretDir: string;
  readonly input: NormalizedSecretInput;
  readonly clock: Clock;
  /** As `PutOptions.expectedVersion`: undefined for an unconditional write. */
  readonly expectedVersion?: string | null | undefined;
  /** As `FileSecretStoreOptions.followSymlinkedSecrets`. */
  readonly followSecretLink?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Writes a new version of the secret and returns it (the new data directory's name). Until the commit, an
 * abort or error removes what was written and leaves the old version in place; after it, the remaining steps
 * are tidying that the next write redoes, so their failures do not fail the write.
 */
export async function writeSecretDirectory(request: WriteSecretRequest): Promise<string> {
  const { name, secretDir, input, clock, signal, expectedVersion } = request;
  await ensureDirectory(secretDir, request.followSecretLink === true);
  let prepared: PreparedVersion | undefined;
  let committed = false;
  let predecessor: string | null = null;
  try {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const settled = await settleCurrent(secretDir).catch((err: unknown) => {
        // an unconditional write can also replace a corrupt layout (a `..data` that is no link of ours)
        if (expectedVersion === undefined && isCertloopError(err, 'CERTLOOP_STORE_CORRUPT')) return undefined;
        throw err;
      });
      if (!settled) {
        prepared ??= await prepareVersion(secretDir, input, clock);
        await rename(join(secretDir, prepared.link), join(secretDir, DATA_LINK));
        committed = true;
        break;
      }
      const { version: current, pendingDelete } = settled;
      checkExpectedVersion(name, current === null ? undefined : { version: current }, expectedVersion);
      if (pendingDelete && expectedVersion !== undefined) throw conflict(name, current);
      throwIfAborted(signal);
      if (!prepared) {
        prepared = await prepareVersion(secretDir, input, clock);
        throwIfAborted(signal);
      }
      const outcome = await commitVersion(secretDir, current, prepared);
      if (outcome === 'committed') {
        committed = true;
        predecessor = current;
        break;
      }
      // lost the claim: a compare-and-swap fails; an unconditional write tries again on the new current version
      if (expectedVersion !== undefined) throw conflict(name, current);
      prepared = await relink(secretDir, prepared);
    }
    if (!committed) throw conflict(name, null);
  } catch (err) {
    if (prepared && !committed) await discard(secretDir, prepared);
    throw err;
  }
  const version = prepared!.version;
  // committed: a reader already sees the new version whole; the next write repairs links and leftovers, so
  // failures here do not fail the write (allSettled: nothing may still run once the lock is released)
  await Promise.allSettled([
    fsyncDirectory(secretDir),
    retireVersion(secretDir, predecessor).then(() => tidyAfterCommit(secretDir, new Set(Object.keys(input.data)))),
  ]);
  return version;
}

/**
 * Deletes the secret if its version is still `expected` (any version when undefined): claims the current
 * version like a write (so no writer can commit over it meanwhile), then renames the directory away. Resolves
 * false when it was missing.
 */
export async function deleteSecretDirectory(
  baseDir: string,
  name: string,
  expected: string | undefined,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const secretDir = join(baseDir, name);
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const { version: current, pendingDelete } = await settleCurrent(secretDir);
    // a missing secret is already deleted, whatever version the caller last saw
    if (current === null) return false;
    checkExpectedVersion(name, { version: current }, expected);
    throwIfAborted(signal);
    if (pendingDelete) {
      if (expected !== undefined) throw conflict(name, current);
      continue;
    }
    const release = await claimForDelete(secretDir, current);
    if (!release) {
      if (expected !== undefined) throw conflict(name, current);
      continue;
    }
    try {
      throwIfAborted(signal);
      await removeSecretDirectory(baseDir, name);
    } catch (err) {
      // not deleted: the claim must not outlive this call, or it would block every later write
      await release().catch(() => undefined);
      throw err;
    }
    // deleted (the claim went with the directory); what follows is tidying that the next delete redoes
    await sweepDeletedLeftovers(baseDir);
    return true;
  }
  throw conflict(name, null);
}

function conflict(name: string, actual: string | null): CertloopError {
  return new CertloopError('CERTLOOP_CONFLICT', `secret ${name} changed: another writer committed first`, {
    details: { name, actualVersion: actual },
  });
}

async function prepareVersion(secretDir: string, input: NormalizedSecretInput, clock: Clock): Promise<PreparedVersion> {
  const version = await createDataDirectory(secretDir, input, clock);
  try {
    return await prepareLink(secretDir, version);
  } catch (err) {
    await rm(join(secretDir, version), { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

/** A fresh link for a version whose claim was lost (the old link was taken back by commitVersion). */
async function relink(secretDir: string, prepared: PreparedVersion): Promise<PreparedVersion> {
  await rm(join(secretDir, prepared.link), { force: true });
  return prepareLink(secretDir, prepared.version);
}

/** Removes a version that was not committed: its link first (it may still be renamed by a roll-forward), then it. */
async function discard(secretDir: string, prepared: PreparedVersion): Promise<void> {
  await Promise.allSettled([
    unlink(join(secretDir, prepared.link)).then(() => rm(join(secretDir, prepared.version), { recursive: true })),
  ]);
}

/** The writer a data directory's name records, or undefined for directories certloop did not name. */
export function dataDirectoryOwner(entry: string): HolderIdentity | undefined {
  const match = /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.(.*)$/.exec(entry);
  return match ? parseOwnerTag(match[1]!) : undefined;
}

/**
 * Removes a secret directory: an atomic rename out of the way first (readers then see it missing, a crash leaves
 * only a hidden leftover), then the actual removal. The rename is the commit of a delete. Only its own failure fails the delete; the fsync and the
 * removal after it are best effort (hidden leftovers are invisible to readers; sweepDeletedLeftovers retries).
 */
async function removeSecretDirectory(baseDir: string, name: string): Promise<void> {
  const trash = join(baseDir, `..deleted.${randomBytes(6).toString('hex')}`);
  await rename(join(baseDir, name), trash);
  await fsyncDirectory(baseDir).catch(() => undefined);
  await rm(trash, { recursive: true, force: true }).catch(() => undefined);
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

async function ensureDirectory(secretDir: string, followLink: boolean): Promise<void> {
  const baseDir = dirname(secretDir);
  try {
    await mkdir(secretDir, { mode: DIR_MODE });
  } catch (err) {
    if (hasErrno(err, 'EEXIST')) {
      // writes go where reads look: never through a secret directory that is a link, unless allowed
      if (!followLink && (await lstat(secretDir)).isSymbolicLink()) {
        throw corrupt(secretDir, 'the secret directory is a symbolic link (see the followSymlinkedSecrets option)');
      }
      return;
    }
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
  const dataDir = await mkdtemp(join(secretDir, `${timestampPrefix(clock.now())}${ownerTag()}-`));
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
 * that are not such links alone), then sweeps what writers that died left behind.
 */
async function tidyAfterCommit(secretDir: string, keys: ReadonlySet<string>): Promise<void> {
  const entries = await readdir(secretDir, { withFileTypes: true });
  const linked = new Set<string>();
  await Promise.allSettled(
    entries.map(async (entry) => {
      const path = join(secretDir, entry.name);
      if (DATA_DIR_PATTERN.test(entry.name)) return;
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
  await sweepLeftovers(secretDir, (entry) => DATA_DIR_PATTERN.test(entry), dataDirectoryOwner);
}
