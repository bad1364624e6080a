/**
 * Internal: the commit of a new version as its own fence, so that compare-and-swap holds even when the lock
 * does not (a holder paused past `staleLockMs` and woken after another writer took over).
 *
 * Every version `V` has at most one successor, decided by an exclusive create: the writer that read `V` as
 * current links a claim file `..claim.<V>` (`link(2)` fails when the name exists, like `O_EXCL`) naming its new
 * data directory `N` and a link `..data_tmp.<token> -> N` made beforehand. Then:
 *
 * 1. it checks that `..data` still names `V`: a claim on a version already replaced (its claim file removed since)
 *    is void, and the writer backs off with `CERTLOOP_CONFLICT`;
 * 2. it commits by renaming its `..data_tmp.<token>` over `..data`.
 *
 * A claim decides the successor, so anyone may finish it: a writer that finds a claim on the current version
 * renames that claim's link over `..data` itself (roll forward) when the claimer may still live (paused, or on
 * another host); a claim of a writer that died (it never reported its write) is undone instead, by taking its
 * link back first, so the version readers saw stays current. Each
 * link can be renamed once only, so a claimer that wakes up late finds its link gone (its version was committed
 * for it) and can never move `..data` backwards. A claim whose link is gone while `..data` still names `V` was
 * abandoned (its writer failed before committing) and is removed.
 *
 * Deletes claim `V` the same way (with no link): a claim of a live deleter makes other writers wait for it
 * (conflict), one of a dead deleter is removed.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { hasErrno } from '../lib/fs-errors.js';
import { link, readdir, readFile, readlink, rename, rm, symlink, unlink, writeFile } from '../lib/fs-seam.js';
import { DATA_LINK, DATA_TMP_LINK, readDataVersion } from './file-layout.js';
import {
  type HolderIdentity,
  holderLiveness,
  isSelf,
  ownerTag,
  parseOwnerTag,
  selfIdentity,
} from './process-identity.js';

export const CLAIM_PREFIX = '..claim.';
export const TMP_LINK_PREFIX = '..data_tmp.';
const CLAIM_TMP_PREFIX = '..claimtmp.';
/** The claim name for "no version yet" (the secret's first write). */
const NO_VERSION = '-';
const SETTLE_ATTEMPTS = 16;

interface ClaimRecord extends HolderIdentity {
  readonly token: string;
  /** The successor's data directory; absent for a delete. */
  readonly next?: string;
  /** The `..data_tmp.<token>` link naming `next`; absent for a delete. */
  readonly link?: string;
}

export type CommitOutcome = 'committed' | 'lost';

export function claimName(version: string | null): string {
  return `${CLAIM_PREFIX}${version ?? NO_VERSION}`;
}

/** A new version written but not yet committed: its data directory and its own `..data_tmp.<token>` link. */
export interface PreparedVersion {
  readonly version: string;
  readonly link: string;
  readonly token: string;
}

/** Makes the version's link `..data_tmp.<token> -> version`. */
export async function prepareLink(secretDir: string, version: string): Promise<PreparedVersion> {
  const token = randomBytes(9).toString('hex');
  const name = `${TMP_LINK_PREFIX}${token}`;
  await symlink(version, join(secretDir, name));
  return { version, link: name, token };
}

/**
 * Resolves the current version after finishing or clearing any claim on it (see the module comment). Resolves
 * `pendingDelete` when a live deleter holds the claim on it.
 */
export async function settleCurrent(secretDir: string): Promise<{ version: string | null; pendingDelete: boolean }> {
  for (let attempt = 0; attempt < SETTLE_ATTEMPTS; attempt++) {
    const version = await readDataVersion(secretDir);
    const claimPath = join(secretDir, claimName(version));
    const claim = await readClaim(claimPath);
    if (claim === 'missing') return { version, pendingDelete: false };
    if (claim === 'unreadable' || claim.link === undefined) {
      if (claim !== 'unreadable' && claimLiveness(claim) !== 'dead') return { version, pendingDelete: true };
      await removeClaimIf(claimPath, claim);
      continue;
    }
    if (claimLiveness(claim) === 'dead') {
      // its writer died (or its call failed) before committing and never reported the write: undo the claim
      // rather than finish it, so the version readers saw stays current (taking the link back first: a link
      // already gone was committed, or withdrawn by its writer)
      if (await takeBackLink(join(secretDir, claim.link))) {
        if (claim.next !== undefined) await rm(join(secretDir, claim.next), { recursive: true, force: true });
        await removeClaimIf(claimPath, claim);
      } else if ((await readDataVersion(secretDir)) === version) {
        // its link is gone and `..data` did not move: withdrawn, never committed; nothing can commit it now
        await removeClaimIf(claimPath, claim);
      }
      continue;
    }
    try {
      await rename(join(secretDir, claim.link), join(secretDir, DATA_LINK));
      // rolled forward: `version` is superseded for good
      await retireVersion(secretDir, version);
      continue;
    } catch (err) {
      if (!hasErrno(err, 'ENOENT')) throw err;
    }
    // the link is gone: committed meanwhile (then `..data` moved on), or abandoned by its writer
    if ((await readDataVersion(secretDir)) === version) await removeClaimIf(claimPath, claim);
  }
  return { version: await readDataVersion(secretDir), pendingDelete: false };
}

/**
 * Claims `current`'s successor for `prepared` and commits it. `lost` when another writer claimed it first or
 * `current` is no longer current; then nothing of `prepared` was committed and its link is removed.
 */
export async function commitVersion(
  secretDir: string,
  current: string | null,
  prepared: PreparedVersion,
): Promise<CommitOutcome> {
  const claimPath = join(secretDir, claimName(current));
  const record: ClaimRecord = {
    ...selfIdentity(),
    token: prepared.token,
    next: prepared.version,
    link: prepared.link,
  };
  if (!(await createClaim(secretDir, claimPath, record))) return 'lost';
  heldClaims.add(record.token);
  try {
    return await finishCommit(secretDir, current, prepared, claimPath, record);
  } finally {
    heldClaims.delete(record.token);
  }
}

async function finishCommit(
  secretDir: string,
  current: string | null,
  prepared: PreparedVersion,
  claimPath: string,
  record: ClaimRecord,
): Promise<CommitOutcome> {
  const linkPath = join(secretDir, prepared.link);
  let still: boolean;
  try {
    still = (await readDataVersion(secretDir)) === current;
  } catch (err) {
    // cannot tell whether `current` is still current: withdraw, unless another writer already finished it for us
    if (!(await takeBackLink(linkPath).catch(() => true))) return 'committed';
    await removeClaimIf(claimPath, record).catch(() => undefined);
    throw err;
  }
  if (!still) {
    // a claim on a version replaced meanwhile: void, unless another writer already finished it for us
    if (await takeBackLink(linkPath)) {
      await removeClaimIf(claimPath, record);
      return 'lost';
    }
    return 'committed';
  }
  try {
    await rename(linkPath, join(secretDir, DATA_LINK));
  } catch (err) {
    // ENOENT: another writer rolled this claim forward
    if (hasErrno(err, 'ENOENT')) return 'committed';
    if (!(await takeBackLink(linkPath).catch(() => true))) return 'committed';
    await removeClaimIf(claimPath, record).catch(() => undefined);
    throw err;
  }
  return 'committed';
}

/** Claims `current` for a delete; false when another writer claimed it or it is no longer current. */
export async function claimForDelete(secretDir: string, current: string): Promise<(() => Promise<void>) | false> {
  const claimPath = join(secretDir, claimName(current));
  const record: ClaimRecord = { ...selfIdentity(), token: randomBytes(9).toString('hex') };
  if (!(await createClaim(secretDir, claimPath, record))) return false;
  heldClaims.add(record.token);
  const release = async () => {
    try {
      await removeClaimIf(claimPath, record);
    } finally {
      // a claim whose removal failed is no longer held by any call: the next write takes it as abandoned
      heldClaims.delete(record.token);
    }
  };
  let still: boolean;
  try {
    still = (await readDataVersion(secretDir)) === current;
  } catch (err) {
    await release().catch(() => undefined);
    throw err;
  }
  if (!still) {
    await release();
    return false;
  }
  return release;
}

/**
 * Tokens of the claims calls of this process hold right now: a claim naming this process whose token is not
 * here was left by a call that failed (its cleanup failed too, e.g. EACCES), and is taken as a dead writer's.
 */
const heldClaims = new Set<string>();

function claimLiveness(claim: ClaimRecord): 'alive' | 'dead' | 'unknown' {
  if (isSelf(claim) && !heldClaims.has(claim.token)) return 'dead';
  return holderLiveness(claim);
}

/**
 * After `version` was replaced by a commit this writer made or finished: removes its data directory and its
 * claim. Both are safe to remove however late this runs: a replaced version never becomes current again (every
 * link names a fresh directory), and a writer claiming it anew fails the check after its claim.
 */
export async function retireVersion(secretDir: string, version: string | null): Promise<void> {
  await Promise.allSettled([
    version === null ? Promise.resolve() : rm(join(secretDir, version), { recursive: true, force: true }),
    rm(join(secretDir, claimName(version)), { force: true }),
  ]);
}

/** Removes the claim file if it still holds `record` (by token). */
async function removeClaimIf(claimPath: string, record: ClaimRecord | 'unreadable'): Promise<void> {
  const current = await readClaim(claimPath);
  if (current === 'missing') return;
  if (record === 'unreadable' ? current === 'unreadable' : current !== 'unreadable' && current.token === record.token) {
    await unlink(claimPath).catch((err) => {
      if (!hasErrno(err, 'ENOENT')) throw err;
    });
  }
}

/** Unlinks the writer's own link; false when it was already gone (renamed over `..data` by someone). */
async function takeBackLink(linkPath: string): Promise<boolean> {
  try {
    await unlink(linkPath);
    return true;
  } catch (err) {
    if (hasErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

/** Creates the claim file whole and exclusively (temporary file, then `link(2)`); false when it exists. */
async function createClaim(secretDir: string, claimPath: string, record: ClaimRecord): Promise<boolean> {
  const tmp = join(secretDir, `${CLAIM_TMP_PREFIX}${ownerTag()}.${record.token}`);
  try {
    await writeFile(tmp, JSON.stringify(record), { mode: 0o600, flag: 'wx' });
    await link(tmp, claimPath);
    return true;
  } catch (err) {
    if (hasErrno(err, 'EEXIST')) return false;
    throw err;
  } finally {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}

async function readClaim(claimPath: string): Promise<ClaimRecord | 'missing' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(claimPath, 'utf8');
  } catch (err) {
    if (hasErrno(err, 'ENOENT')) return 'missing';
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<ClaimRecord>;
    if (typeof parsed.token === 'string' && typeof parsed.pid === 'number' && typeof parsed.hostname === 'string') {
      const valid =
        (parsed.next === undefined && parsed.link === undefined) ||
        (typeof parsed.next === 'string' &&
          parsed.next.startsWith('..') &&
          parsed.next.length > 2 &&
          !parsed.next.includes('/') &&
          typeof parsed.link === 'string' &&
          parsed.link.startsWith(TMP_LINK_PREFIX) &&
          !parsed.link.includes('/'));
      if (valid) return parsed as ClaimRecord;
    }
  } catch {
    // fall through
  }
  return 'unreadable';
}

/**
 * Best effort, after a commit: removes what writers that died left behind: data directories that are neither
 * current nor named by a pending link, whose writer (named in the directory) is dead; links and claim
 * temporaries of dead writers; claims of versions whose directory is gone. Entries are listed before `..data`
 * is read, so a version committed meanwhile is seen as current or as named by its link, never as a leftover.
 */
export async function sweepLeftovers(
  secretDir: string,
  isDataDirectory: (entry: string) => boolean,
  ownerOf: (dataDir: string) => HolderIdentity | undefined,
): Promise<void> {
  const entries = await readdir(secretDir);
  const linked = new Map<string, string>();
  await Promise.all(
    entries
      .filter((entry) => entry.startsWith(TMP_LINK_PREFIX))
      .map(async (entry) => {
        const target = await readlink(join(secretDir, entry)).catch(() => undefined);
        if (target !== undefined) linked.set(entry, target);
      }),
  );
  const current = await readDataVersion(secretDir).catch(() => null);
  const named = new Set(linked.values());
  const present = new Set(entries);
  const removals: Promise<unknown>[] = [];
  const handled = new Set<string>();
  for (const entry of entries) {
    if (!isDataDirectory(entry) || entry === current) continue;
    // a directory certloop did not name (made by hand or by a kubelet) has no writer to wait for
    const owner = ownerOf(entry);
    if (owner && holderLiveness(owner) !== 'dead') continue;
    present.delete(entry);
    if (!named.has(entry)) {
      removals.push(rm(join(secretDir, entry), { recursive: true, force: true }));
      continue;
    }
    // named by a dead writer's link: take the link away first; only once that succeeded can no roll-forward
    // make the directory current, so it may go (a link already gone may have been committed: leave it)
    const links = [...linked].filter(([, target]) => target === entry).map(([link]) => link);
    for (const link of links) handled.add(link);
    removals.push(
      (async () => {
        for (const link of links) await unlink(join(secretDir, link));
        await rm(join(secretDir, entry), { recursive: true, force: true });
      })(),
    );
  }
  for (const entry of entries) {
    const path = join(secretDir, entry);
    if (isDataDirectory(entry)) continue;
    if (entry === DATA_TMP_LINK) {
      // the kubelet's own temporary link, left by a swap made by hand that never finished
      removals.push(rm(path, { force: true }));
    } else if (entry.startsWith(TMP_LINK_PREFIX) && !handled.has(entry)) {
      const target = linked.get(entry);
      const owner = target === undefined ? undefined : ownerOf(target);
      if (target === undefined || !present.has(target) || (owner && holderLiveness(owner) === 'dead')) {
        removals.push(rm(path, { force: true }));
      }
    } else if (entry.startsWith(CLAIM_PREFIX)) {
      const version = entry.slice(CLAIM_PREFIX.length);
      if (version !== NO_VERSION && version !== current && !present.has(version)) {
        removals.push(rm(path, { force: true }));
      }
    } else if (entry.startsWith(CLAIM_TMP_PREFIX)) {
      const owner = parseOwnerTag(entry.slice(CLAIM_TMP_PREFIX.length));
      if (!owner || holderLiveness(owner) === 'dead') removals.push(rm(path, { force: true }));
    }
  }
  await Promise.allSettled(removals);
}
