/**
 * Bench support (relay fleet and relay resumption): forking the bench's child processes and waiting for their
 * messages. The server children run the built packages (`npm run bench` builds them first), as `certloop server`
 * does: from source, tsx compiles with esbuild's keepNames, which adds a `__name` call to every named closure and
 * class, so the relay's own JavaScript would cost more than what ships. `CERTLOOP_BENCH_FROM_SOURCE=1` runs them from
 * source. `CERTLOOP_BENCH_PROF=<part of a script name>` profiles that child (`--cpu-prof` into
 * `CERTLOOP_BENCH_PROF_DIR`, default /tmp/relay-prof).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SERVER_FROM_SOURCE = process.env.CERTLOOP_BENCH_FROM_SOURCE === '1';

/** Forks a bench script of this folder with an IPC channel; `env` is added to this process's environment. */
export function benchChild(script: string, env: Record<string, string> = {}): ChildProcess {
  const fromSource = SERVER_FROM_SOURCE || !script.includes('-server');
  return fork(fileURLToPath(new URL(script, import.meta.url)), [], {
    execArgv: [
      ...(fromSource ? ['--conditions=source'] : []),
      '--import',
      'tsx',
      '--expose-gc',
      ...(process.env.CERTLOOP_BENCH_PROF && script.includes(process.env.CERTLOOP_BENCH_PROF)
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CERTLOOP_BENCH_PROF_DIR ?? '/tmp/relay-prof'}`]
        : []),
    ],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** The child's next message of `kind`; rejects if the child exits first. */
export function nextMessage<T>(proc: ChildProcess, kind: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`bench child exited (${code}) before ${kind}`));
    const onMessage = (m: { kind: string }) => {
      if (m.kind !== kind) return;
      proc.off('message', onMessage);
      proc.off('exit', onExit);
      resolve(m as T);
    };
    proc.on('message', onMessage);
    proc.once('exit', onExit);
  });
}
