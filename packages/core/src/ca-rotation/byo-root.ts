/**
 * `@certloop/core` ByoRootFollower: a bring-your-own root renewed by someone else (cert-manager, a person), followed
 * with an overlap, like trust-manager's "previous anchor".
 *
 * certloop never writes the bring-your-own root secret. When the root it holds changes, the previous root stays in
 * every bundle certloop publishes (the managed targets of its {@link TrustBundlePublisher}) for `overlapSeconds`,
 * so consumers that still present chains under the previous root keep validating while they renew. The roots seen
 * and when each was replaced are kept in the record secret (`byo-roots.json`), written with compare-and-swap, so
 * every replica publishes the same bundle and a restart loses no overlap.
 *
 * Contract: `sync` is idempotent and safe to run on every replica and on every change of the root secret (from a
 * watcher) or on a timer; it resolves the bundle it published. A missing root secret publishes nothing.
 */
import { type Clock, systemClock } from '../clock/clock.js';
import { CertloopError, isCertloopError, throwIfAborted } from '../errors.js';
import { ANNOTATIONS, MANAGED_BY_VALUE, readTlsMaterial } from '../secret/tls-layout.js';
import type { SecretStore } from '../store/types.js';
import { inspectCertificate } from '../x509/inspect.js';
import { joinPemBundle, splitPemBundle } from '../x509/pem.js';
import { DEFAULT_CA_ROTATION_SECRET } from './options.js';
import type { TrustBundlePublisher } from './types.js';

const KEY = 'byo-roots.json';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface ByoRootFollowerOptions {
  readonly store: SecretStore;
  /** The bring-your-own secret holding the root (`ca.crt`, else the self-signed certificates of `tls.crt`). */
  readonly rootSecretName: string;
  readonly publisher: TrustBundlePublisher;
  /** How long a replaced root stays in the published bundles, seconds. */
  readonly overlapSeconds: number;
  readonly recordSecretName?: string;
  readonly clock?: Clock;
}

interface SeenRoot {
  readonly pem: string;
  readonly fingerprint: string;
  readonly firstSeen: string;
  readonly replacedAt?: string;
}

export interface ByoRootSync {
  readonly bundlePem: string;
  /** Roots kept past their replacement, and until when. */
  readonly overlapping: readonly { readonly fingerprint: string; readonly until: string }[];
  readonly written: readonly string[];
}

export class ByoRootFollower {
  readonly #o: ByoRootFollowerOptions;
  readonly #clock: Clock;
  readonly #record: string;

  constructor(options: ByoRootFollowerOptions) {
    if (!Number.isFinite(options.overlapSeconds) || options.overlapSeconds < 0) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'overlapSeconds must be a non-negative number');
    }
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#record = options.recordSecretName ?? DEFAULT_CA_ROTATION_SECRET;
  }

  async sync(options: { readonly signal?: AbortSignal } = {}): Promise<ByoRootSync | undefined> {
    const { store } = this.#o;
    const signal = options.signal;
    const rootSecret = await store.get(this.#o.rootSecretName, { signal });
    if (!rootSecret) return undefined;
    const m = readTlsMaterial(rootSecret);
    const current = (m.trustBundlePem ? splitPemBundle(m.trustBundlePem) : splitPemBundle(m.certificatePem ?? ''))
      .map((pem) => inspectCertificate(pem))
      .filter((c) => m.trustBundlePem !== undefined || c.selfSigned);
    if (current.length === 0) return undefined;
    const now = this.#clock.now();
    let seen: SeenRoot[] = [];
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal);
      const record = await store.get(this.#record, { signal });
      const raw = record?.data[KEY];
      seen = raw?.length ? (JSON.parse(decoder.decode(raw)) as SeenRoot[]) : [];
      const currentFps = new Set(current.map((c) => c.fingerprintSha256));
      const next: SeenRoot[] = [];
      for (const root of seen) {
        if (!currentFps.has(root.fingerprint) && !root.replacedAt)
          next.push({ ...root, replacedAt: now.toISOString() });
        else if (currentFps.has(root.fingerprint) && root.replacedAt)
          next.push({ pem: root.pem, fingerprint: root.fingerprint, firstSeen: root.firstSeen });
        else next.push(root);
      }
      for (const c of current) {
        if (!next.some((r) => r.fingerprint === c.fingerprintSha256)) {
          next.push({ pem: c.certificatePem, fingerprint: c.fingerprintSha256, firstSeen: now.toISOString() });
        }
      }
      const overlapMs = this.#o.overlapSeconds * 1000;
      const kept = next.filter((r) => !r.replacedAt || Date.parse(r.replacedAt) + overlapMs > now.getTime());
      if (JSON.stringify(kept) === JSON.stringify(seen)) break;
      try {
        await store.put(
          this.#record,
          {
            type: 'Opaque',
            data: { ...(record?.data ?? {}), [KEY]: encoder.encode(JSON.stringify(kept)) },
            labels: record?.labels ?? {},
            annotations: {
              ...(record?.annotations ?? {}),
              [ANNOTATIONS.managedBy]: MANAGED_BY_VALUE,
              [ANNOTATIONS.role]: 'ca-rotation',
            },
          },
          { expectedVersion: record?.version ?? null, signal },
        );
        seen = kept;
        break;
      } catch (err) {
        if (!isCertloopError(err, 'CERTLOOP_CONFLICT') || attempt >= 8) throw err;
      }
    }
    const bundlePem = joinPemBundle(seen.map((r) => r.pem));
    const { written } = await this.#o.publisher.publish(bundlePem, { signal });
    const overlapping = seen
      .filter((r) => r.replacedAt)
      .map((r) => ({
        fingerprint: r.fingerprint,
        until: new Date(Date.parse(r.replacedAt!) + this.#o.overlapSeconds * 1000).toISOString(),
      }));
    return { bundlePem, overlapping, written };
  }
}
