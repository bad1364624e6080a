/**
 * `certloop demo` agent replicas: each is a real `certloop agent` child process (this same binary, so one can be
 * killed like a pod), whose JSON log lines are read back into counters and timeline events.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface ReplicaSpec {
  readonly name: string;
  readonly cluster: string;
  readonly args: readonly string[];
}

export interface ReplicaLine {
  readonly msg: string;
  readonly level: string;
  readonly [field: string]: unknown;
}

export interface Replica {
  readonly spec: ReplicaSpec;
  readonly child: ChildProcess;
  alive: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  heartbeats: number;
  /** Its relay stream is up (from its log: connected, then disconnected or connect-failed). */
  connected: boolean;
  /** Date.now() of its last heartbeat on the stream. */
  lastHeartbeatAt?: number;
  failures: number;
  lastError?: string;
  stderr: string;
  /** Resolves once the process has exited. */
  readonly exited: Promise<void>;
}

/** The command line that runs this binary again (with the same Node flags, e.g. tsx in the workspace). */
function self(): [string, string[]] {
  return [process.execPath, [...process.execArgv, process.argv[1]!]];
}

export function startReplica(
  spec: ReplicaSpec,
  env: NodeJS.ProcessEnv,
  onLine: (replica: Replica, line: ReplicaLine) => void,
): Replica {
  const [file, prefix] = self();
  const child = spawn(file, [...prefix, 'agent', ...spec.args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let resolveExit: () => void = () => {};
  const replica: Replica = {
    spec,
    child,
    alive: true,
    exitCode: null,
    signal: null,
    heartbeats: 0,
    connected: false,
    failures: 0,
    stderr: '',
    exited: new Promise<void>((resolve) => {
      resolveExit = resolve;
    }),
  };
  let buffer = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const text = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      let line: ReplicaLine;
      try {
        line = JSON.parse(text) as ReplicaLine;
      } catch {
        continue;
      }
      if (line.msg === 'connected') replica.connected = true;
      if (line.msg === 'connect-failed' || line.msg === 'disconnected') replica.connected = false;
      if (line.msg === 'heartbeat') {
        replica.heartbeats++;
        replica.lastHeartbeatAt = Date.now();
      } else if (line.msg === 'connect-failed' || (line.msg === 'disconnected' && line.code)) {
        replica.failures++;
        replica.lastError = String(line.code);
      }
      onLine(replica, line);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    replica.stderr += d;
  });
  child.once('exit', (code, signal) => {
    replica.alive = false;
    replica.connected = false;
    replica.exitCode = code;
    replica.signal = signal;
    resolveExit();
  });
  return replica;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
export async function stopReplica(replica: Replica, graceMs = 8000): Promise<void> {
  if (!replica.alive) return;
  replica.child.kill('SIGTERM');
  const timer = setTimeout(() => replica.child.kill('SIGKILL'), graceMs);
  await replica.exited;
  clearTimeout(timer);
}
