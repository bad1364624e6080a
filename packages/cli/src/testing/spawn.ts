/**
 * Test support (not published): runs `certloop` as a user would, with real files.
 *
 * `runCertloop` runs a command to its end in this process through `runCli` (in-process.ts: what the binary runs,
 * without a second of process start-up per command), unless `spawn: true` or `CERTLOOP_CLI_BIN` is set: then, as
 * `startCertloop` always does, in a child process: the binary's entry (`src/bin.ts`) under tsx with the workspace's
 * `source` condition, so tests need no build, or with `CERTLOOP_CLI_BIN=/path/to/certloop` an installed or built
 * binary (`.ci/run` runs the command's tests so after the build).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runInProcess } from './in-process.js';
import { type LineReader, readLines } from './lines.js';

const BIN = fileURLToPath(new URL('../bin.ts', import.meta.url));

export interface RunOptions {
  readonly cwd?: string;
  /** Written to standard input, which is then closed. */
  readonly input?: string | Uint8Array;
  /** Added to a clean environment (no NO_COLOR/FORCE_COLOR/CI leaking in from the test runner). */
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  /** Run the binary in a child process even without CERTLOOP_CLI_BIN (a command that starts itself again, say). */
  readonly spawn?: boolean;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function command(args: readonly string[]): [string, string[]] {
  const installed = process.env.CERTLOOP_CLI_BIN;
  if (installed) return [installed, [...args]];
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
  return [process.execPath, ['--conditions=source', '--import', tsx, BIN, ...args]];
}

function environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const {
    NO_COLOR: _n,
    FORCE_COLOR: _f,
    CI: _c,
    CERTLOOP_DEBUG: _d,
    KUBECONFIG: _k,
    VAULT_ADDR: _v,
    ...rest
  } = process.env;
  return { ...rest, ...extra };
}

/** Starts `certloop args...`; the caller ends it. */
export function startCertloop(args: readonly string[], options: RunOptions = {}): ChildProcess {
  const [file, argv] = command(args);
  return spawn(file, argv, { cwd: options.cwd, env: environment(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
}

/**
 * Starts a long-running `certloop args...` with stdin closed, added to `children` (the caller ends them), and reads
 * its JSON log lines.
 */
export function startLogged(children: ChildProcess[], args: readonly string[], options: RunOptions = {}): LineReader {
  const child = startCertloop(args, options);
  child.stdin!.end();
  children.push(child);
  return readLines(child);
}

/** Runs `certloop args...` to its end: in this process, or in a child process (see the module's doc). */
export function runCertloop(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  if (!options.spawn && !process.env.CERTLOOP_CLI_BIN) {
    return runInProcess(args, {
      cwd: options.cwd,
      env: environment(options.env),
      input: options.input,
      timeoutMs: options.timeoutMs,
    });
  }
  const child = startCertloop(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdin!.end(options.input ?? '');
  // generous: on a loaded 2-core machine a process under tsx can take many seconds to start
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The certloop code of the one error line on stderr (`certloop: CODE: ...`). */
export function errorCode(stderr: string): string | undefined {
  return /^certloop: (CERTLOOP_[A-Z0-9_]+):/m.exec(stderr)?.[1];
}
