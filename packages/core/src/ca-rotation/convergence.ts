/**
 * `@certloop/core` convergence: which consumers hold the bundle {A, B}, as a pure function of their reports.
 */
import type { BundleConsumerKind, BundleObservation } from './consumers.js';
import type { ConvergenceFigures, WaitingConsumer } from './types.js';

export interface ConvergenceInput {
  readonly targetDigest: string;
  readonly observations: readonly BundleObservation[];
  /** Consumers that must be counted even when no source reports them. */
  readonly expected?: readonly { readonly consumer: string; readonly kind: BundleConsumerKind }[];
  /** Bring-your-own consumers that cannot report. */
  readonly bringYourOwn?: readonly string[];
  /** Bring-your-own consumers confirmed by hand. */
  readonly confirmed?: readonly string[];
  /** When the bundles {A, B} were published (for the bring-your-own timeout). */
  readonly publishedAt?: Date;
  readonly bringYourOwnTimeoutSeconds?: number;
  readonly now: Date;
}

const key = (kind: BundleConsumerKind, consumer: string) => `${kind}\u0000${consumer}`;

/** "3 m ago", "2 h ago", "5 d ago". */
export function ago(from: Date, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} m ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/**
 * Every consumer (reported, expected or bring-your-own) is converged when its latest report holds the target
 * digest; a bring-your-own one when confirmed or when the timeout since publication has passed. Pure.
 */
export function convergenceFigures(input: ConvergenceInput): ConvergenceFigures {
  const latest = new Map<string, BundleObservation>();
  for (const o of input.observations) {
    const k = key(o.kind, o.consumer);
    const seen = latest.get(k);
    if (!seen || seen.observedAt.getTime() <= o.observedAt.getTime()) latest.set(k, o);
  }
  const all = new Map<string, { consumer: string; kind: BundleConsumerKind }>();
  for (const o of latest.values()) all.set(key(o.kind, o.consumer), { consumer: o.consumer, kind: o.kind });
  for (const e of input.expected ?? []) all.set(key(e.kind, e.consumer), e);
  const byo = new Set(input.bringYourOwn ?? []);
  for (const consumer of byo) all.set(key('bring-your-own', consumer), { consumer, kind: 'bring-your-own' });
  const confirmedSet = new Set(input.confirmed ?? []);
  const timedOut =
    input.bringYourOwnTimeoutSeconds !== undefined &&
    input.publishedAt !== undefined &&
    input.now.getTime() - input.publishedAt.getTime() >= input.bringYourOwnTimeoutSeconds * 1000;
  const waiting: WaitingConsumer[] = [];
  const confirmed: string[] = [];
  let converged = 0;
  for (const [k, c] of [...all.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const seen = latest.get(k);
    if (seen?.bundleDigest === input.targetDigest) {
      converged++;
      continue;
    }
    if (c.kind === 'bring-your-own' && byo.has(c.consumer) && (confirmedSet.has(c.consumer) || timedOut)) {
      converged++;
      confirmed.push(c.consumer);
      continue;
    }
    waiting.push({
      consumer: c.consumer,
      kind: c.kind,
      ...(seen ? { lastSeen: seen.observedAt.toISOString(), bundleDigest: seen.bundleDigest } : {}),
    });
  }
  const total = all.size;
  const complete = waiting.length === 0;
  let summary = `${converged}/${total} consumers hold {A,B}`;
  if (!complete) {
    const first = waiting[0]!;
    const seen = first.lastSeen ? `last seen ${ago(new Date(first.lastSeen), input.now)}` : 'never reported';
    const more = waiting.length > 1 ? ` and ${waiting.length - 1} more` : '';
    summary += `; waiting for ${first.consumer} (${seen})${more}`;
  }
  return {
    checkedAt: input.now.toISOString(),
    targetDigest: input.targetDigest,
    total,
    converged,
    waiting: waiting.slice(0, 20),
    confirmed,
    complete,
    summary,
  };
}
