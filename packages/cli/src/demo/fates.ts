/**
 * `certloop demo` summary: what happened to each replica, in one line each (killed on purpose, stopped cleanly on
 * SIGTERM, or exited some other way), so a count of clean stops never hides the one the demo killed.
 */

/** One replica at the end of the demo. */
export interface ReplicaOutcome {
  readonly name: string;
  /** The demo killed it (SIGKILL) this many seconds into the run, and whether it was the leader then. */
  readonly killed?: { readonly atSeconds: number; readonly wasLeader: boolean };
  /** It was still running at the end and got SIGTERM. */
  readonly stoppedAtEnd: boolean;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Fate {
  readonly name: string;
  readonly text: string;
  /** Killed on purpose, stopped cleanly at the end (both as the demo meant), or anything else (a broken promise). */
  readonly kind: 'killed' | 'stopped' | 'unexpected';
  readonly expected: boolean;
}

export function replicaFate(r: ReplicaOutcome): Fate {
  if (r.killed) {
    const who = r.killed.wasLeader ? 'the leader' : 'a replica';
    return {
      name: r.name,
      text: `killed on purpose as ${who} (SIGKILL) at +${r.killed.atSeconds.toFixed(1)}s; another took over`,
      kind: 'killed',
      expected: true,
    };
  }
  if (!r.stoppedAtEnd) {
    const how = r.signal ? `signal ${r.signal}` : `exit status ${r.exitCode}`;
    return { name: r.name, text: `exited by itself before the end (${how})`, kind: 'unexpected', expected: false };
  }
  if (r.exitCode === 0)
    return { name: r.name, text: 'stopped cleanly on SIGTERM (exit 0)', kind: 'stopped', expected: true };
  const how =
    r.signal === 'SIGKILL'
      ? 'killed by SIGKILL after the grace period'
      : r.signal
        ? `ended by ${r.signal} before it could stop cleanly`
        : `exit status ${r.exitCode}`;
  return { name: r.name, text: `did not stop cleanly on SIGTERM (${how})`, kind: 'unexpected', expected: false };
}

/** The summary's block: `  name  what happened`, one line per replica. */
export function renderFates(fates: readonly Fate[], paint: (fate: Fate, text: string) => string): string {
  const width = Math.max(...fates.map((f) => f.name.length), 0) + 2;
  return fates.map((f) => `  ${f.name.padEnd(width)}${paint(f, f.text)}\n`).join('');
}
