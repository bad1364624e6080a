import { describe, expect, it } from 'vitest';
import { renderFates, replicaFate } from './fates.js';

describe('demo summary: what happened to each replica', () => {
  it('names the replica the demo killed apart from the clean SIGTERM stops (issue 17, item 8)', () => {
    const fates = [
      replicaFate({
        name: 'replica-1',
        killed: { atSeconds: 24.8, wasLeader: true },
        stoppedAtEnd: false,
        exitCode: null,
        signal: 'SIGKILL',
      }),
      replicaFate({ name: 'replica-2', stoppedAtEnd: true, exitCode: 0, signal: null }),
      replicaFate({ name: 'cluster-2-agent', stoppedAtEnd: true, exitCode: 0, signal: null }),
    ];
    expect(fates.map((f) => [f.kind, f.expected])).toEqual([
      ['killed', true],
      ['stopped', true],
      ['stopped', true],
    ]);
    expect(renderFates(fates, (_f, t) => t)).toBe(
      '  replica-1        killed on purpose as the leader (SIGKILL) at +24.8s; another took over\n' +
        '  replica-2        stopped cleanly on SIGTERM (exit 0)\n' +
        '  cluster-2-agent  stopped cleanly on SIGTERM (exit 0)\n',
    );
  });

  it('calls out a replica that needed SIGKILL after SIGTERM, or that died by itself', () => {
    const hung = replicaFate({ name: 'r', stoppedAtEnd: true, exitCode: null, signal: 'SIGKILL' });
    expect(hung).toMatchObject({ kind: 'unexpected', expected: false });
    expect(hung.text).toContain('did not stop cleanly on SIGTERM (killed by SIGKILL after the grace period)');
    const early = replicaFate({ name: 'r', stoppedAtEnd: true, exitCode: null, signal: 'SIGTERM' });
    expect(early.text).toContain('ended by SIGTERM before it could stop cleanly');
    const crashed = replicaFate({ name: 'r', stoppedAtEnd: false, exitCode: 70, signal: null });
    expect(crashed).toMatchObject({ kind: 'unexpected', expected: false });
    expect(crashed.text).toContain('exit status 70');
  });
});
