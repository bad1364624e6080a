/**
 * `@certloop/agent-rotator` lean gRPC server: the `grpc-timeout` request header (1 to 8 ASCII digits and a unit:
 * H hours, M minutes, S seconds, m milliseconds, u microseconds, n nanoseconds) as milliseconds.
 */

const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;

/** Milliseconds of a `grpc-timeout` value (rounded up, so a positive timeout is at least 1 ms), or undefined when malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const match = TIMEOUT.exec(value);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  return ms === 0 ? 0 : Math.max(1, Math.ceil(ms));
}
