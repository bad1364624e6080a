/**
 * `@certloop/core` Rotator: owns one certloop-managed credential in a store and renews it on time.
 *
 * It computes the renewal time with the grace-ratio math; when due, and only while leader, it makes a new key and
 * CSR, asks the CertificateAuthority, checks the answer and writes it with compare-and-swap. Failures back off with
 * jitter and never touch the stored credential; a conflicting write by someone else that stored a newer
 * certificate wins. Bring-your-own secrets (no certloop annotation, or cert-manager's) are never written.
 * Validity is judged on the wall clock; waits are durations capped at `recheckIntervalMs`, so a step of the wall
 * clock is noticed within that interval: a stored certificate it made not yet valid is reported and reissued.
 */
import type { CertificateAuthority, CertificateProfile, Identity } from '../ca/types.js';
import { type Clock, sleep, systemClock } from '../clock/clock.js';
import { CertloopError, isCertloopError } from '../errors.js';
import type { LeaderElector } from '../leader/types.js';
import { Emitter } from '../lib/emitter.js';
import {
  isManagedSecret,
  managedAnnotations,
  readTlsMaterial,
  type SecretRole,
  tlsSecretData,
} from '../secret/tls-layout.js';
import type { Secret, SecretStore } from '../store/types.js';
import type { CryptoEngine } from '../x509/crypto-engine.js';
import { inspectCertificate } from '../x509/inspect.js';
import { joinPemBundle } from '../x509/pem.js';
import type { DistinguishedName, KeyAlgorithm } from '../x509/types.js';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import type { ExpectedIdentity } from './issued-check.js';
import { assertGraceRatio, assertJitter, renewalTime } from './renewal-time.js';
import { requestCertificate } from './request-certificate.js';
import type { RotatorEvent } from './rotator-events.js';

export type { RotatorEvent } from './rotator-events.js';

export interface RotatorOptions {
  readonly store: SecretStore;
  /** The secret this rotator owns. */
  readonly name: string;
  readonly ca: CertificateAuthority;
  /** Share of the lifetime left when rotation starts, in (0, 1). */
  readonly ratio: number;
  /** Share of the grace period by which renewal may start earlier, in [0, 1) (default 0.1). */
  readonly jitter?: number;
  readonly lifetimeSeconds: number;
  readonly profile?: CertificateProfile;
  readonly subject: DistinguishedName & { readonly commonName: string };
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly uris?: readonly string[];
  /** The identity passed to the CA (default: the subject CN and SANs above). */
  readonly identity?: Identity;
  readonly keyAlgorithm?: KeyAlgorithm;
  /** Only the leader rotates; without an elector this rotator always acts. */
  readonly leader?: LeaderElector;
  /** Issue a first certificate when the secret is missing (default true). */
  readonly createIfMissing?: boolean;
  /** The role written in certloop's annotations (default `client`). */
  readonly role?: SecretRole;
  /** How often an idle rotator re-reads the secret to notice changes made elsewhere (default 60 s). */
  readonly recheckIntervalMs?: number;
  readonly backoff?: BackoffOptions;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly engine?: CryptoEngine;
  /**
   * The subject key identifier (lower-case hex) of the CA that signs now, when known: from the trust bundle or the
   * signing chain, or from the server's renewal request during a CA rotation's drain. A stored certificate whose
   * authorityKeyIdentifier differs is renewed at once (once per certificate: if the CA still answers with the old
   * issuer, the rotator waits for the normal renewal time instead of looping). Undefined: no opinion.
   */
  readonly activeIssuerKeyId?: () => string | undefined | Promise<string | undefined>;
}

type Plan =
  | { kind: 'wait'; until: Date }
  | { kind: 'rotate'; secret: Secret | undefined; issuerChange?: boolean }
  | { kind: 'idle' };

export class Rotator {
  readonly name: string;
  readonly #o: RotatorOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #events = new Emitter<RotatorEvent>();
  readonly #renewAtBySerial = new Map<string, Date>();
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** Consecutive failed passes; drives the backoff. */
  #failures = 0;
  #lastNotice = '';
  /** A renewal asked for by `renewNow()`, pending until one succeeds. */
  #forced = false;
  #unsubscribeLeader: (() => void) | undefined;
  /** Serials this rotator renewed because of an issuer change, and the serial it got back. */
  readonly #issuerRenewals = new Set<string>();

  constructor(options: RotatorOptions) {
    assertGraceRatio(options.ratio);
    assertJitter(options.jitter ?? 0.1);
    if (!Number.isInteger(options.lifetimeSeconds) || options.lifetimeSeconds <= 0) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'lifetimeSeconds must be a positive whole number');
    }
    if (!options.subject.commonName)
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'subject.commonName is required');
    this.name = options.name;
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
  }

  subscribe(listener: (event: RotatorEvent) => void): () => void {
    return this.#events.subscribe(listener);
  }

  /** Starts the rotation loop (idempotent). */
  start(): void {
    if (this.#loop) return;
    this.#abort = new AbortController();
    this.#unsubscribeLeader = this.#o.leader?.subscribe((e) => {
      if (e.type === 'elected') this.#poke();
    });
    this.#loop = this.#run(this.#abort.signal);
  }

  /** Stops the loop; an in-flight rotation is abandoned before it writes. */
  async stop(): Promise<void> {
    this.#abort?.abort();
    this.#poke();
    this.#unsubscribeLeader?.();
    await this.#loop;
    this.#loop = undefined;
  }

  /** Re-reads the secret now (e.g. after a watcher saw it change). */
  poke(): void {
    this.#poke();
  }

  /**
   * Renews at the next pass whatever the renewal time says (e.g. the current certificate was revoked), still only
   * while leader and only for a managed secret; the request holds until a renewal succeeds.
   */
  renewNow(): void {
    this.#forced = true;
    this.#poke();
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #notice(event: RotatorEvent, key: string): void {
    if (this.#lastNotice === key) return;
    this.#lastNotice = key;
    this.#events.emit(event);
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let delay: number;
      try {
        delay = await this.#step(signal);
      } catch (err) {
        if (signal.aborted) return;
        delay = this.#failed(err);
      }
      if (signal.aborted) return;
      await this.#waitFor(delay, signal);
    }
  }

  /** One pass: read, decide, maybe rotate. Resolves how long to wait before the next pass. */
  async #step(signal: AbortSignal): Promise<number> {
    const plan = await this.#plan(signal);
    const now = this.#clock.now().getTime();
    if (plan.kind !== 'rotate') this.#failures = 0;
    if (plan.kind === 'idle') return this.#recheck();
    if (plan.kind === 'wait') return Math.min(plan.until.getTime() - now, this.#recheck());
    const leader = this.#o.leader;
    if (leader && !leader.isLeader()) {
      this.#notice({ type: 'skipped-not-leader', name: this.name }, `not-leader:${plan.secret?.version ?? ''}`);
      return this.#recheck();
    }
    const term = leader?.leadershipSignal();
    const rotationSignal = term ? AbortSignal.any([signal, term]) : signal;
    this.#events.emit({ type: 'started', name: this.name, attempt: this.#failures + 1 });
    const serial = await this.#rotate(plan.secret, rotationSignal);
    // the certificate we got back is not renewed again for an issuer change (a CA still on the old issuer)
    if (plan.issuerChange && serial) {
      if (this.#issuerRenewals.size > 64) this.#issuerRenewals.clear();
      this.#issuerRenewals.add(serial);
    }
    this.#failures = 0;
    this.#forced = false;
    return 0;
  }

  async #plan(signal: AbortSignal): Promise<Plan> {
    const secret = await this.#o.store.get(this.name, { signal });
    if (!secret) {
      return this.#o.createIfMissing === false ? { kind: 'idle' } : { kind: 'rotate', secret: undefined };
    }
    if (!isManagedSecret(secret)) {
      this.#notice({ type: 'skipped-bring-your-own', name: this.name }, `byo:${secret.version}`);
      return { kind: 'idle' };
    }
    if (this.#forced) return { kind: 'rotate', secret };
    const { certificatePem } = readTlsMaterial(secret);
    let leaf: ReturnType<typeof inspectCertificate>;
    try {
      leaf = inspectCertificate(certificatePem ?? '');
    } catch {
      return { kind: 'rotate', secret }; // unreadable managed credential: replace it
    }
    const now = this.#clock.now();
    if (now.getTime() < leaf.notBefore.getTime()) {
      // Judged on the wall clock, as certificates are: one that cannot serve now is replaced, not waited for.
      this.#notice(
        {
          type: 'not-yet-valid',
          name: this.name,
          serialNumber: leaf.serialNumber,
          notBefore: leaf.notBefore,
          checkedAt: now,
        },
        `not-yet-valid:${leaf.serialNumber}`,
      );
      return { kind: 'rotate', secret };
    }
    const renewAt = this.#renewAt(leaf.serialNumber, leaf.notBefore, leaf.notAfter);
    if (renewAt.getTime() <= now.getTime()) return { kind: 'rotate', secret };
    const active = await this.#o.activeIssuerKeyId?.();
    if (active && leaf.authorityKeyId !== active && !this.#issuerRenewals.has(leaf.serialNumber)) {
      this.#events.emit({
        type: 'issuer-changed',
        name: this.name,
        serialNumber: leaf.serialNumber,
        issuerKeyId: leaf.authorityKeyId,
        activeIssuerKeyId: active,
      });
      return { kind: 'rotate', secret, issuerChange: true };
    }
    this.#notice(
      { type: 'scheduled', name: this.name, renewAt, serialNumber: leaf.serialNumber },
      `scheduled:${leaf.serialNumber}`,
    );
    return { kind: 'wait', until: renewAt };
  }

  #renewAt(serial: string, notBefore: Date, notAfter: Date): Date {
    let at = this.#renewAtBySerial.get(serial);
    if (!at) {
      // jitter is drawn once per certificate, so the schedule does not drift on every re-read
      at = renewalTime({
        notBefore,
        notAfter,
        ratio: this.#o.ratio,
        jitter: this.#o.jitter ?? 0.1,
        random: this.#random,
      });
      if (this.#renewAtBySerial.size > 64) this.#renewAtBySerial.clear();
      this.#renewAtBySerial.set(serial, at);
    }
    return at;
  }

  #expected(): ExpectedIdentity {
    return {
      commonName: this.#o.subject.commonName,
      dnsNames: this.#o.dnsNames ?? [],
      ipAddresses: this.#o.ipAddresses ?? [],
      uris: this.#o.uris ?? [],
    };
  }

  async #rotate(current: Secret | undefined, signal: AbortSignal): Promise<string | undefined> {
    const o = this.#o;
    const issued = await requestCertificate({
      ca: o.ca,
      subject: o.subject,
      expected: this.#expected(),
      identity: o.identity,
      profile: o.profile ?? 'client',
      lifetimeSeconds: o.lifetimeSeconds,
      keyAlgorithm: o.keyAlgorithm ?? 'ECDSA-P256',
      engine: o.engine,
      now: () => this.#clock.now(),
      signal,
    });
    const { leaf } = issued;
    const now = this.#clock.now();
    const renewAt = this.#renewAt(leaf.serialNumber, leaf.notBefore, leaf.notAfter);
    if (renewAt.getTime() <= now.getTime()) {
      throw new CertloopError(
        'CERTLOOP_CA_RESPONSE_INVALID',
        'the issued certificate is already due for renewal: its lifetime is too short for the grace ratio',
        { details: { notBefore: leaf.notBefore.toISOString(), notAfter: leaf.notAfter.toISOString() } },
      );
    }
    if (signal.aborted) {
      throw new CertloopError('CERTLOOP_LEADERSHIP_LOST', 'leadership was lost before the write', {
        cause: signal.reason,
      });
    }
    const data = tlsSecretData({
      certificatePem: joinPemBundle([issued.certificatePem, issued.chainPem]),
      privateKeyPem: issued.privateKeyPem,
      trustBundlePem: issued.trustBundlePem,
    });
    const annotations = {
      ...(current?.annotations ?? {}),
      ...managedAnnotations({
        role: o.role ?? 'client',
        serialNumber: leaf.serialNumber,
        notAfter: leaf.notAfter,
        renewAt,
      }),
    };
    try {
      const stored = await o.store.put(
        this.name,
        { type: current?.type ?? 'kubernetes.io/tls', data, labels: current?.labels ?? {}, annotations },
        { expectedVersion: current?.version ?? null, signal },
      );
      this.#events.emit({
        type: 'succeeded',
        name: this.name,
        serialNumber: leaf.serialNumber,
        notBefore: leaf.notBefore,
        notAfter: leaf.notAfter,
        version: stored.version,
      });
      return leaf.serialNumber;
    } catch (err) {
      if (!isCertloopError(err, 'CERTLOOP_CONFLICT')) throw err;
      // Someone wrote first. If what is stored now is at least as new as ours, ours is not needed.
      const now2 = await o.store.get(this.name, { signal });
      const theirs = now2 ? readTlsMaterial(now2).certificatePem : undefined;
      const theirLeaf = theirs ? safeInspect(theirs) : undefined;
      if (theirLeaf && theirLeaf.notAfter.getTime() >= leaf.notAfter.getTime() - 1000) {
        this.#events.emit({ type: 'superseded', name: this.name, serialNumber: leaf.serialNumber });
        return undefined;
      }
      throw err;
    }
  }

  #failed(err: unknown): number {
    const error = isCertloopError(err)
      ? err
      : new CertloopError('CERTLOOP_CA_RESPONSE_INVALID', 'rotation failed', { cause: err });
    this.#failures += 1;
    const delay = backoffDelay(this.#failures, this.#o.backoff, this.#random);
    this.#events.emit({
      type: 'failed',
      name: this.name,
      attempt: this.#failures,
      error,
      retryAt: new Date(this.#clock.now().getTime() + delay),
    });
    return delay;
  }

  #recheck(): number {
    return this.#o.recheckIntervalMs ?? 60_000;
  }

  async #waitFor(delayMs: number, signal: AbortSignal): Promise<void> {
    if (delayMs <= 0) return;
    const wakeUp = new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
    const timer = new AbortController();
    const both = AbortSignal.any([signal, timer.signal]);
    await Promise.race([sleep(this.#clock, delayMs, both).catch(() => undefined), wakeUp]);
    timer.abort();
    this.#wake = undefined;
  }
}

function safeInspect(pem: string) {
  try {
    return inspectCertificate(pem);
  } catch {
    return undefined;
  }
}
