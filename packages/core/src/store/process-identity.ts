/**
 * Internal: who holds a lock or a claim, and whether that holder still runs.
 *
 * A pid alone is not an identity: pids are reused, and a reused pid would make a dead holder look alive for as
 * long as the new process runs. On Linux the holder also records its start time (field 22 of
 * `/proc/<pid>/stat`, in clock ticks since boot), so a pid now running another process is seen as dead. Holders
 * on another host cannot be checked: their liveness is `unknown`, and callers fall back to observed staleness.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { hasErrno } from '../lib/fs-errors.js';

export interface HolderIdentity {
  readonly pid: number;
  readonly hostname: string;
  /** The process start time on Linux (`/proc/<pid>/stat` field 22); absent elsewhere. */
  readonly startTime?: string | undefined;
}

let self: HolderIdentity | undefined;

/** This process's identity (computed once). */
export function selfIdentity(): HolderIdentity {
  self ??= { pid: process.pid, hostname: hostname(), startTime: processStartTime(process.pid) };
  return self;
}

/** True when `holder` names this very process (same host, pid and start time). */
export function isSelf(holder: HolderIdentity): boolean {
  const me = selfIdentity();
  return holder.pid === me.pid && holder.hostname === me.hostname && holder.startTime === me.startTime;
}

/** `dead` only when certain: same host, and the pid is gone or now belongs to a process started at another time. */
export function holderLiveness(holder: HolderIdentity): 'alive' | 'dead' | 'unknown' {
  if (holder.hostname !== selfIdentity().hostname) return 'unknown';
  if (holder.pid === process.pid) return holder.startTime === selfIdentity().startTime ? 'alive' : 'dead';
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user
    if (hasErrno(err, 'ESRCH')) return 'dead';
  }
  if (holder.startTime === undefined) return 'alive';
  const now = processStartTime(holder.pid);
  // unreadable /proc (another platform, hidepid): trust the pid
  if (now === undefined) return 'alive';
  return now === holder.startTime ? 'alive' : 'dead';
}

/** Field 22 of `/proc/<pid>/stat`, or undefined where there is no such file. */
export function processStartTime(pid: number): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may itself contain spaces and parentheses
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/**
 * This process as a short name part, `<host tag>-<pid>-<start time>` (the host tag: 8 hex digits of a hash of
 * the hostname), so that files it leaves can be judged by name alone.
 */
export function ownerTag(): string {
  const me = selfIdentity();
  return `${hostTag(me.hostname)}-${me.pid}-${me.startTime ?? ''}`;
}

/** The holder an {@link ownerTag} at the start of `text` names, or undefined. */
export function parseOwnerTag(text: string): HolderIdentity | undefined {
  const match = /^([0-9a-f]{8})-(\d+)-(\d*)(?:$|[-.])/.exec(text);
  if (!match) return undefined;
  const me = selfIdentity();
  const host = match[1] === hostTag(me.hostname) ? me.hostname : `other:${match[1]}`;
  return { hostname: host, pid: Number(match[2]), startTime: match[3] === '' ? undefined : match[3] };
}

function hostTag(host: string): string {
  return createHash('sha256').update(host).digest('hex').slice(0, 8);
}
