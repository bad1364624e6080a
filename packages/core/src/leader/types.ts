/**
 * `@certloop/core` LeaderElector contract: at most one holder of a named lease at a time.
 */

export type LeaderEvent =
  | { readonly type: 'elected'; readonly identity: string; readonly at: Date }
  | { readonly type: 'lost'; readonly identity: string; readonly at: Date; readonly reason: string }
  /** Someone (maybe us) holds the lease now, as last observed; `holder` undefined when free. */
  | { readonly type: 'observed'; readonly holder: string | undefined; readonly at: Date };

/**
 * Contract:
 * - `start()` begins campaigning (idempotent); the elector then tries to acquire, holds and renews the lease
 *   by itself, and tries again after a loss, until `stop()`.
 * - `isLeader()` is true only while the lease is held and was renewed within the renew deadline.
 * - `leadershipSignal()` returns, while leading, an `AbortSignal` for this term that aborts the moment the
 *   leadership is lost or released: pass it to leader-only work so that it stops at once. Undefined when not leading.
 * - `stop()` stops campaigning and releases the lease if held, so another candidate can take it at once.
 * - Lease expiry is judged on the local observation time of the record (client-go's rule), never the remote
 *   renew time, so clock skew between replicas cannot produce two leaders; that time, the renew deadline and the
 *   retry period are measured on the clock's monotonic reading, so a step of any wall clock cannot either.
 * - Elected and lost are reported through `subscribe`, in order, exactly once per term.
 */
export interface LeaderElector {
  readonly identity: string;
  start(): void;
  stop(): Promise<void>;
  isLeader(): boolean;
  leadershipSignal(): AbortSignal | undefined;
  subscribe(listener: (event: LeaderEvent) => void): () => void;
}
