/**
 * `@certloop/agent-rotator` per-peer rate limiting: token buckets keyed by peer address, refilled on the injected
 * clock's monotonic reading (`Clock.monotonicNow()`: a step of the wall clock neither empties nor refills a bucket),
 * with a bounded number of tracked peers (a flood of addresses cannot grow memory without bound).
 */
import { CertloopError, type Clock, systemClock } from '@certloop/core';

export interface RateLimitOptions {
  /** Bucket size: how many events a peer may have in a burst. */
  readonly burst: number;
  /** Tokens refilled per second. */
  readonly perSecond: number;
  /** Most peers tracked; the least recently seen are forgotten first (default 100,000). */
  readonly maxPeers?: number;
}

export interface PeerRateLimiterOptions extends RateLimitOptions {
  /** Whose `monotonicNow()` refills the buckets (default `systemClock`; the RelayServer passes its own clock). */
  readonly clock?: Clock | undefined;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class PeerRateLimiter {
  readonly #burst: number;
  readonly #perMs: number;
  readonly #maxPeers: number;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: PeerRateLimiterOptions) {
    if (!(options.burst >= 1) || !(options.perSecond >= 0)) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'a rate limit needs burst >= 1 and perSecond >= 0');
    }
    this.#burst = options.burst;
    this.#perMs = options.perSecond / 1000;
    this.#maxPeers = options.maxPeers ?? 100_000;
    this.#clock = options.clock ?? systemClock;
  }

  #bucket(peer: string): Bucket {
    const now = this.#clock.monotonicNow();
    let bucket = this.#buckets.get(peer);
    if (bucket) {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#perMs);
      bucket.at = now;
      // re-insert: the map's order is least recently seen first
      this.#buckets.delete(peer);
    } else {
      bucket = { tokens: this.#burst, at: now };
      if (this.#buckets.size >= this.#maxPeers) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    }
    this.#buckets.set(peer, bucket);
    return bucket;
  }

  /** True when the peer may act now (at least one token), without spending one. */
  allows(peer: string): boolean {
    return this.#bucket(peer).tokens >= 1;
  }

  /** Spends one token; false (and nothing spent) when the peer has none left. */
  take(peer: string): boolean {
    const bucket = this.#bucket(peer);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Spends one token even when none is left (a failure always counts). */
  charge(peer: string): void {
    const bucket = this.#bucket(peer);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
  }

  get trackedPeers(): number {
    return this.#buckets.size;
  }
}

/** The address part of grpc-js's `getPeer()` (`ipv4:127.0.0.1:5000`, `127.0.0.1:5000`, `[::1]:5000`). */
export function peerAddress(peer: string): string {
  let p = peer.replace(/^ipv[46]:/, '');
  if (p.startsWith('[')) return p.slice(1, p.indexOf(']'));
  const colon = p.lastIndexOf(':');
  if (colon > 0 && p.indexOf(':') === colon) p = p.slice(0, colon);
  return p;
}
