/**
 * `@certloop/agent-rotator` replicas: several stateless `RelayServer` processes behind one address, with Node's
 * `cluster` module (the primary holds the listening socket and hands each new connection to a worker in turn).
 *
 * Every replica reads the same store (secrets, token, the signing secret's CRL) and keeps nothing of its own but
 * open streams, so an agent may land on any of them, and a revocation written to the store reaches all of them
 * through their own watches. One writer: only replica 0 republishes the CRL (`republishCrl`), the others follow
 * it. On Kubernetes the same holds across pods (Deployment replicas behind a Service; see the README): there the
 * replicas are pods, and `republishCrl` is best given to one of them (or to a CronJob).
 *
 * The primary runs no server: it forks `count` workers running `exec` (the same program, usually), restarts one
 * that dies (after a second), and stops them all on `stop()`. A worker knows its index from `replicaIndex()`.
 */
import cluster, { type Worker } from 'node:cluster';
import { CertloopError } from '@certloop/core';

/** The environment variable a worker reads its index from. */
export const REPLICA_INDEX_ENV = 'CERTLOOP_REPLICA_INDEX';

/** This process's replica index when it is a worker of {@link forkRelayReplicas}, else undefined. */
export function replicaIndex(env: Readonly<Record<string, string | undefined>> = process.env): number | undefined {
  if (!cluster.isWorker) return undefined;
  const n = Number(env[REPLICA_INDEX_ENV]);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

export interface RelayReplicasOptions {
  /** How many worker processes (at least 1). */
  readonly count: number;
  /** The program every worker runs (default: this process's own `process.argv[1]`). */
  readonly exec?: string;
  readonly args?: readonly string[];
  readonly execArgv?: readonly string[];
  /** Called with each message a worker sends (`process.send`), and its index. */
  readonly onMessage?: (index: number, message: unknown) => void;
  /** Called when a worker exits; it is restarted unless the set is stopping. */
  readonly onExit?: (index: number, code: number | null) => void;
}

export interface RelayReplicas {
  /** The live workers by index. */
  readonly workers: ReadonlyMap<number, Worker>;
  /** Sends a message to every live worker. */
  broadcast(message: unknown): void;
  /** Stops every worker (SIGTERM, then SIGKILL after `graceMs`, default 5 s); resolves when all have exited. */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/** Forks the replicas (in the primary only). Throws `CERTLOOP_INVALID_CONFIG` in a worker or for a bad count. */
export function forkRelayReplicas(options: RelayReplicasOptions): RelayReplicas {
  if (!cluster.isPrimary) throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'replicas are forked by the primary');
  if (!Number.isInteger(options.count) || options.count < 1) {
    throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'the replica count must be a whole number >= 1');
  }
  cluster.setupPrimary({
    ...(options.exec ? { exec: options.exec } : {}),
    ...(options.args ? { args: [...options.args] } : {}),
    ...(options.execArgv ? { execArgv: [...options.execArgv] } : {}),
  });
  const workers = new Map<number, Worker>();
  let stopping = false;
  const start = (index: number) => {
    const worker = cluster.fork({ [REPLICA_INDEX_ENV]: String(index) });
    workers.set(index, worker);
    worker.on('message', (message: unknown) => options.onMessage?.(index, message));
    worker.on('exit', (code) => {
      if (workers.get(index) === worker) workers.delete(index);
      options.onExit?.(index, code);
      if (!stopping) setTimeout(() => !stopping && start(index), 1000).unref();
    });
  };
  for (let i = 0; i < options.count; i++) start(i);
  return {
    workers,
    broadcast(message) {
      for (const worker of workers.values()) if (worker.isConnected()) worker.send(message as never);
    },
    async stop({ graceMs = 5000 } = {}) {
      stopping = true;
      await Promise.all(
        [...workers.values()].map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.isDead()) return resolve();
              const timer = setTimeout(() => worker.process.kill('SIGKILL'), graceMs);
              worker.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              worker.process.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
