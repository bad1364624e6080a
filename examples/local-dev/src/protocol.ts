/**
 * examples/local-dev: what replicas tell the orchestrator (over the child-process IPC channel), and shared timings.
 */
export const TIMINGS = {
  /** Client certificate lifetime and grace ratio: rotation every ~10 s. */
  clientLifetimeSeconds: 20,
  ratio: 0.5,
  /** File lease: a dead leader is replaced within about lease + retry. */
  leaseDurationMs: 3000,
  renewDeadlineMs: 2000,
  retryPeriodMs: 500,
  requestIntervalMs: 250,
} as const;

export const AGENT_NAME = 'agent-cluster-1';

export type ReplicaMessage =
  | { kind: 'ready'; replica: string; pid: number }
  | { kind: 'leader'; replica: string; event: 'elected' | 'lost'; reason?: string }
  | {
      kind: 'rotation';
      replica: string;
      event: string;
      serial?: string;
      notAfter?: string;
      renewAt?: string;
      code?: string;
    }
  | { kind: 'loaded'; replica: string; serial: string; notAfter: string }
  | { kind: 'stats'; replica: string; ok: number; failed: number; lastError?: string };

export interface ReplicaConfig {
  readonly replica: string;
  readonly directory: string;
  readonly port: number;
}
