/**
 * Test support (not published): the lines of a `certloop demo` run that show each promise kept (demo*.e2e.test.ts).
 */
export const DEMO_PROMISES: readonly RegExp[] = [
  /elected leader/,
  /killed the leader replica-\d \(SIGKILL\)/,
  /hot-reloaded its certificate/,
  /rotated by renew/,
  /requests failed\s+0/,
  /leader changes\s+[1-9]/,
  /cluster-2 \(bring-your-own\) connected\s+yes/,
  /cluster-2's secret written by certloop\s+0/,
  /survivors stopped cleanly on SIGTERM\s+(\d)\/\1/,
  /replicas ending as the demo meant\s+(\d)\/\1/,
  /replica-\d\s+killed on purpose as the leader \(SIGKILL\)/,
  /every promise kept/,
];
