import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/manual-clock.js';
import { FileLeaseElector } from './file-lease-elector.js';
import { recordEvents } from './lease-test-kit.js';

const here = dirname(fileURLToPath(import.meta.url));

interface Line {
  readonly type: string;
  /** The event's time on the candidate's (possibly stepped) wall clock. */
  readonly at: number;
  /** The host's time through the monotonic clock: comparable across candidates whatever their wall clocks did. */
  readonly real: number;
  readonly identity?: string;
  readonly holder?: string;
}

/** A candidate process and the JSON lines it printed so far. */
interface Candidate {
  readonly identity: string;
  readonly child: ChildProcess;
  readonly lines: Line[];
  killedAt?: number;
}

let root: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'certloop-file-lease-'));
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited(child);
  }
  await rm(root, { recursive: true, force: true });
});

function startCandidate(directory: string, identity: string, timings: number[]): Candidate {
  const script = join(here, 'fixtures', 'file-lease-candidate.ts');
  const args = [directory, identity, ...timings.map(String)];
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, ...args], {
    cwd: here,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const candidate: Candidate = { identity, child, lines: [] };
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const complete = buffered.split('\n');
    buffered = complete.pop()!;
    for (const line of complete) if (line.trim()) candidate.lines.push(JSON.parse(line) as Line);
  });
  return candidate;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Polls (real time) until `find` returns something, for at most `timeoutMs`. */
async function waitFor<T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Each candidate's leadership intervals [elected, lost or killed), on the time `of` each line. */
function terms(candidate: Candidate, of: (line: Line) => number = (line) => line.at): Array<[number, number]> {
  const result: Array<[number, number]> = [];
  let open: number | undefined;
  for (const line of candidate.lines) {
    if (line.type === 'elected') open = of(line);
    if (line.type === 'lost' && open !== undefined) {
      result.push([open, of(line)]);
      open = undefined;
    }
  }
  if (open !== undefined) result.push([open, candidate.killedAt ?? Number.POSITIVE_INFINITY]);
  return result;
}

const electedLine = (candidates: Candidate[]) => {
  for (const candidate of candidates) {
    const line = candidate.lines.find((l) => l.type === 'elected');
    if (line) return { candidate, line };
  }
  return undefined;
};

describe('FileLeaseElector', () => {
  it('elects one of two in-process candidates, writes lease.json with MicroTimes, and hands over on stop', async () => {
    const clock = new ManualClock('2026-02-01T10:00:00.123Z');
    const directory = join(root, 'leases');
    const [a, b] = ['a', 'b'].map(
      (identity) => new FileLeaseElector({ directory, name: 'controller', identity, clock, random: () => 0 }),
    ) as [FileLeaseElector, FileLeaseElector];
    const bEvents = recordEvents(b);
    a.start();
    await waitFor(() => a.isLeader() || undefined, 5_000, 'a elected');
    b.start();
    await waitFor(() => bEvents.find((e) => e.type === 'observed'), 5_000, 'b observing');
    const onDisk = JSON.parse(await readFile(join(directory, 'controller', 'lease.json'), 'utf8'));
    expect(onDisk).toEqual({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: '2026-02-01T10:00:00.123000Z',
      renewTime: '2026-02-01T10:00:00.123000Z',
      leaseTransitions: 0,
    });
    expect(a.lock.describe()).toBe('secret/controller');

    await a.stop();
    expect((await a.lock.get())?.record.holderIdentity).toBe('');
    await clock.advance(2_000);
    await waitFor(() => b.isLeader() || undefined, 5_000, 'b elected');
    expect((await b.lock.get())?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.stop();
  });

  it('fails over across processes: SIGKILL of the leader hands over after the lease, a stop at once; never two leaders', async () => {
    const directory = join(root, 'shared');
    const [leaseMs, renewMs, retryMs] = [2_000, 1_000, 200];
    const candidates = ['p0', 'p1', 'p2'].map((id) => startCandidate(directory, id, [leaseMs, renewMs, retryMs]));

    const first = await waitFor(() => electedLine(candidates), 10_000, 'a first leader');
    await waitFor(
      () => (candidates.every((c) => c.lines.some((l) => l.type === 'observed')) ? true : undefined),
      10_000,
      'every candidate observing',
    );
    await new Promise((resolve) => setTimeout(resolve, 500)); // a few renewals
    first.candidate.killedAt = Date.now();
    first.candidate.child.kill('SIGKILL');
    await exited(first.candidate.child);

    const survivors = candidates.filter((c) => c !== first.candidate);
    const second = await waitFor(() => electedLine(survivors), 8_000, 'a leader after the kill');
    const takeoverMs = second.line.at - first.candidate.killedAt;
    // The survivors wait out the lease from their last observation of a renewal, then win at a jittered retry.
    expect(takeoverMs).toBeGreaterThan(leaseMs - retryMs - 500);
    expect(takeoverMs).toBeLessThan(leaseMs + retryMs * 2.2 + 1_000);

    second.candidate.child.kill('SIGTERM');
    const third = survivors.find((c) => c !== second.candidate)!;
    const thirdElected = await waitFor(() => third.lines.find((l) => l.type === 'elected'), 8_000, 'a third leader');
    const secondLost = second.candidate.lines.find((l) => l.type === 'lost')!;
    // Released on stop: the last candidate takes over at its next retry, well inside the lease duration.
    expect(thirdElected.at - secondLost.at).toBeLessThan(1_500);

    third.child.kill('SIGTERM');
    await Promise.all(survivors.map((c) => exited(c.child)));
    expect(survivors.map((c) => c.child.exitCode)).toEqual([0, 0]);
    expect(survivors.every((c) => c.lines.at(-1)?.type === 'stopped')).toBe(true);
    const lease = JSON.parse(await readFile(join(directory, 'certloop-leader', 'lease.json'), 'utf8'));
    expect(lease).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 2 });

    // Never two leaders: the terms of all processes, on the one wall clock of this host, do not overlap.
    const all = candidates.flatMap((c) => terms(c).map(([from, to]) => ({ id: c.identity, from, to })));
    all.sort((x, y) => x.from - y.from);
    expect(all.map((t) => t.id)).toEqual([first.candidate.identity, second.candidate.identity, third.identity]);
    for (let i = 1; i < all.length; i++) expect(all[i]!.from).toBeGreaterThanOrEqual(all[i - 1]!.to);
  });

  // Regression (issue 11): the leader's timers waited for wall-clock deadlines, so after a step back of 2 days it
  // stopped renewing yet kept reporting leadership, while another process took the lease over: two leaders.
  it("keeps renewing across processes when the leader's wall clock steps back 2 days; nobody else is elected", async () => {
    const directory = join(root, 'stepped');
    const [leaseMs, renewMs, retryMs] = [3_000, 2_000, 250];
    const candidates = ['q0', 'q1'].map((id) => startCandidate(directory, id, [leaseMs, renewMs, retryMs]));
    const first = await waitFor(() => electedLine(candidates), 10_000, 'a first leader');
    const other = candidates.find((c) => c !== first.candidate)!;
    await waitFor(() => other.lines.find((l) => l.type === 'observed'), 10_000, 'the other observing');
    const leasePath = join(directory, 'certloop-leader', 'lease.json');
    const readLease = async () => JSON.parse(await readFile(leasePath, 'utf8'));

    first.candidate.child.stdin!.write(`step ${-2 * 86_400_000}\n`);
    const stepped = await waitFor(() => first.candidate.lines.find((l) => l.type === 'stepped'), 5_000, 'the step');
    expect(stepped.at).toBeLessThan(Date.now() - 86_400_000);
    // Two lease durations: a frozen leader would have been taken over by now.
    const renewTimes = new Set<string>();
    for (let i = 0; i < 12; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const lease = await readLease();
      expect(lease.holderIdentity).toBe(first.candidate.identity);
      renewTimes.add(lease.renewTime);
    }
    // it renewed all along, writing its stepped wall time as (informational) renewTime
    expect(renewTimes.size).toBeGreaterThanOrEqual(8);
    const latest = Date.parse((await readLease()).renewTime);
    expect(latest).toBeLessThan(Date.now() - 86_400_000);
    expect(other.lines.some((l) => l.type === 'elected')).toBe(false);
    expect(first.candidate.lines.some((l) => l.type === 'lost')).toBe(false);

    for (const c of candidates) c.child.kill('SIGTERM');
    await Promise.all(candidates.map((c) => exited(c.child)));
    expect(candidates.map((c) => c.child.exitCode)).toEqual([0, 0]);
    const all = candidates.flatMap((c) => terms(c, (line) => line.real).map(([from, to]) => ({ from, to })));
    all.sort((x, y) => x.from - y.from);
    for (let i = 1; i < all.length; i++) expect(all[i]!.from).toBeGreaterThanOrEqual(all[i - 1]!.to);
  });
});
