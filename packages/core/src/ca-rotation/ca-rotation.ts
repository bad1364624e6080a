/**
 * `@certloop/core` CaRotation: the steps of one CA's rotation (what `certloop ca ...` runs, and what the
 * {@link CaRotator} drives on its own).
 *
 * Contract:
 * - Every step reads the record, checks the phase, writes its intent, does idempotent steps, writes the outcome;
 *   all record writes are compare-and-swap on the record secret, so two processes never both move a rotation.
 * - Every step is idempotent (asking for the phase the record is already in, or past, resolves the record as it
 *   is) and resumes an interrupted intent: after a crash, calling the same step (or {@link CaRotation.resume})
 *   finishes it. Nothing is issued twice: each new CA is created once per slot of the rotation id.
 * - Leader-only: with a `leader`, a step that writes refuses with `CERTLOOP_NOT_LEADER` unless it leads, and stops
 *   (`CERTLOOP_ABORTED`) when the term ends; `status` reads only and needs no leadership.
 * - Every step honours `signal`. Refusals are `CERTLOOP_CA_ROTATION_REFUSED` with `details.refusal`
 *   ({@link CaRotationRefusal}) and `details.hint`.
 */
import { randomBytes } from 'node:crypto';
import { type Clock, systemClock } from '../clock/clock.js';
import { CertloopError, isCertloopError, throwIfAborted } from '../errors.js';
import { Emitter } from '../lib/emitter.js';
import { DEFAULT_RELAY_SECRET_NAMES, type RelaySecretNames } from '../relay/layout.js';
import type { SecretStore } from '../store/types.js';
import { trustBundleDigest } from './bundle-digest.js';
import { convergenceFigures } from './convergence.js';
import { type CaRotationOptions, DEFAULT_CA_ROTATION_SECRET } from './options.js';
import { certificateInfo, type RecordsSnapshot, readRecords, writeRecord } from './record.js';
import {
  afterBundle,
  commonNameOf,
  dropKeyRef,
  duringBundle,
  FINAL,
  handleOf,
  inferAlgorithm,
  isUnderWay,
  newSigningKeyId,
  oldSigningKeyId,
  slots,
  unionBundle,
} from './record-model.js';
import { refuse } from './refusal.js';
import { reissueServer } from './server-reissue.js';
import { StoreCaKeyBackend } from './store-backend.js';
import { StoreTrustBundlePublisher } from './store-publisher.js';
import { holdsTrustBundle } from './trust-bundle-backend.js';
import type {
  CaKeyBackend,
  CaKind,
  CaRotationEvent,
  CaRotationPhase,
  CaRotationRecord,
  CaRotationStatus,
  CaStepOptions,
  ConvergenceFigures,
  DrainFigures,
  ForcedStep,
  ForceOptions,
  PrepareOptions,
  TrustBundlePublisher,
} from './types.js';

const YEAR = 365 * 86_400;
const MAX_ATTEMPTS = 6;

export class CaRotation {
  readonly ca: CaKind;
  readonly #o: CaRotationOptions;
  readonly #store: SecretStore;
  readonly #recordName: string;
  readonly #names: RelaySecretNames;
  readonly #backend: CaKeyBackend;
  readonly #publisher: TrustBundlePublisher;
  readonly #clock: Clock;
  readonly #events = new Emitter<CaRotationEvent>();

  constructor(options: CaRotationOptions) {
    if (options.ca !== 'root' && options.ca !== 'intermediate') {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'ca must be root or intermediate');
    }
    const ratio = options.ratio ?? 0.5;
    if (!(ratio > 0 && ratio < 1)) throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'ratio must be in (0, 1)');
    this.ca = options.ca;
    this.#o = options;
    this.#store = options.store;
    this.#recordName = options.recordSecretName ?? DEFAULT_CA_ROTATION_SECRET;
    this.#names = { ...DEFAULT_RELAY_SECRET_NAMES, ...options.names };
    this.#clock = options.clock ?? systemClock;
    this.#backend =
      options.backend ??
      new StoreCaKeyBackend({
        store: options.store,
        names: this.#names,
        slotPrefix: this.#recordName,
        clock: this.#clock,
        engine: options.engine,
        ...(options.keys ? { keys: options.keys } : {}),
      });
    this.#publisher =
      options.publisher ??
      new StoreTrustBundlePublisher({ store: options.store, names: this.#names, extra: options.extraBundleSecrets });
  }

  subscribe(listener: (event: CaRotationEvent) => void): () => void {
    return this.#events.subscribe(listener);
  }

  /** The latest record of this CA (finished or not), or undefined when it was never rotated. Reads only. */
  async record(options: { readonly signal?: AbortSignal } = {}): Promise<CaRotationRecord | undefined> {
    return (await readRecords(this.#store, this.#recordName, options.signal)).records[this.ca];
  }

  /** The CA in force, the latest record, whether it is due or stuck. Reads only. */
  async status(options: { readonly signal?: AbortSignal } = {}): Promise<CaRotationStatus> {
    const record = await this.record(options);
    let current: CaRotationStatus['current'];
    try {
      const handle = await this.#backend.current(this.#slot(), options);
      current = handle ? certificateInfo(handle.certificatePem) : undefined;
    } catch (err) {
      if (!isCertloopError(err)) throw err;
      current = undefined;
    }
    const now = this.#clock.now().getTime();
    const underWay = isUnderWay(record);
    let renewAt: Date | undefined;
    if (current) {
      const nb = Date.parse(current.notBefore);
      const na = Date.parse(current.notAfter);
      renewAt = new Date(na - (this.#o.ratio ?? 0.5) * (na - nb));
    }
    const due = !underWay && renewAt !== undefined && now >= renewAt.getTime();
    const stuckMs = (this.#o.stuckAfterSeconds ?? 30 * 86_400) * 1000;
    const stuck = underWay && now - Date.parse(record.timestamps.phaseSince) > stuckMs;
    let summary: string;
    if (underWay) {
      summary = `${this.ca} rotation ${record.id}: ${record.phase} since ${record.timestamps.phaseSince}`;
      if (record.phase === 'converge' && record.convergence) summary += `; ${record.convergence.summary}`;
      if (record.phase === 'drain' && record.drain) summary += `; ${record.drain.liveUnderOld} leaves live under A`;
      if (stuck) summary += ' (stuck)';
    } else if (!current) {
      summary = `${this.ca}: no CA certloop can rotate`;
    } else {
      summary = `${this.ca} ${current.subject} valid until ${current.notAfter}; ${due ? 'DUE for rotation' : `rotation due at ${renewAt?.toISOString()}`}`;
    }
    return { ca: this.ca, current, record, underWay, renewAt, due, stuck, summary };
  }

  /**
   * Starts a rotation (or resumes an interrupted prepare): creates B (for a root: a new root and a new intermediate
   * under it, optionally cross-signed by A), publishes {A, B} in every bundle, A still signing. Resolves the record
   * in `converge` (or as it is, when the rotation is already past prepare). Refuses `rotation-under-way` while the
   * other CA is being rotated, `bring-your-own`, `no-key`.
   */
  async prepare(options: PrepareOptions = {}): Promise<CaRotationRecord> {
    return this.#retrying(options, async (signal) => {
      let snap = await this.#read(signal);
      let rec = snap.records[this.ca];
      if (isUnderWay(rec) && rec.phase !== 'prepare') return rec;
      if (!isUnderWay(rec)) {
        const other = snap.records[this.ca === 'root' ? 'intermediate' : 'root'];
        if (isUnderWay(other)) {
          refuse(
            'rotation-under-way',
            `the ${other.ca} is being rotated (${other.phase})`,
            `finish or abort the ${other.ca} rotation first`,
          );
        }
        rec = await this.#start(options, signal);
        snap = await this.#write(snap, rec, signal);
      }
      return this.#finishPrepare(snap, rec, signal);
    });
  }

  async #start(options: PrepareOptions, signal: AbortSignal): Promise<CaRotationRecord> {
    const current = await this.#backend.current(this.#slot(), { signal });
    if (!current) throw new CertloopError('CERTLOOP_NOT_FOUND', `no ${this.ca} CA to rotate`);
    const old = certificateInfo(current.certificatePem);
    let oldIntermediate: CaRotationRecord['oldIntermediate'];
    if (this.ca === 'root') {
      const signing = await this.#backend.current('signing', { signal });
      if (signing) oldIntermediate = certificateInfo(signing.certificatePem);
    }
    const bundleBeforePem = await this.#readBundle(current.certificatePem, signal);
    const lifetime = Math.round((Date.parse(old.notAfter) - Date.parse(old.notBefore)) / 1000);
    const now = this.#now();
    const intLifetime =
      oldIntermediate !== undefined
        ? Math.round((Date.parse(oldIntermediate.notAfter) - Date.parse(oldIntermediate.notBefore)) / 1000)
        : undefined;
    const algorithm = options.keyAlgorithm ?? inferAlgorithm(current.certificatePem);
    return {
      schema: 1,
      ca: this.ca,
      id: randomBytes(6).toString('hex'),
      revision: 0,
      phase: 'prepare',
      mode: options.mode ?? 'manual',
      ...(options.reason ? { reason: options.reason } : {}),
      old,
      ...(oldIntermediate ? { oldIntermediate } : {}),
      bundles: { before: trustBundleDigest(bundleBeforePem) },
      bundleBeforePem,
      timestamps: { startedAt: now, updatedAt: now, phaseSince: now },
      settings: {
        keyAlgorithm: algorithm,
        lifetimeSeconds: options.lifetimeSeconds ?? lifetime,
        ...(this.ca === 'root'
          ? {
              intermediateLifetimeSeconds:
                options.intermediateLifetimeSeconds ?? intLifetime ?? Math.floor(lifetime / 2),
            }
          : {}),
        commonName: options.commonName ?? commonNameOf(current.certificatePem),
        ...(this.ca === 'root' && oldIntermediate
          ? { intermediateCommonName: options.intermediateCommonName ?? commonNameOf(oldIntermediate.certificatePem) }
          : {}),
        crossSign: this.ca === 'root' && (options.crossSign ?? false),
      },
    };
  }

  async #finishPrepare(snap: RecordsSnapshot, rec: CaRotationRecord, signal: AbortSignal): Promise<CaRotationRecord> {
    const s = slots(rec.id);
    const b = this.#backend;
    const opts = { signal };
    let next: CaRotationRecord;
    let during: string;
    if (this.ca === 'root') {
      const oldRoot = await b.snapshot('root', s.oldRoot, opts);
      const oldInt = rec.oldIntermediate ? await b.snapshot('signing', s.oldInt, opts) : undefined;
      const root = await b.create(
        {
          slotId: s.root,
          commonName: rec.settings.commonName,
          lifetimeSeconds: rec.settings.lifetimeSeconds,
          keyAlgorithm: rec.settings.keyAlgorithm,
          pathLength: 1,
        },
        opts,
      );
      const int = await b.create(
        {
          slotId: s.int,
          commonName: rec.settings.intermediateCommonName ?? `${rec.settings.commonName} signing`,
          lifetimeSeconds: rec.settings.intermediateLifetimeSeconds ?? Math.floor(rec.settings.lifetimeSeconds / 2),
          keyAlgorithm: rec.settings.keyAlgorithm,
          parent: root,
          pathLength: 0,
        },
        opts,
      );
      let crossSignedPem: string | undefined;
      if (rec.settings.crossSign) {
        const left = Math.floor((Date.parse(rec.old.notAfter) - this.#clock.now().getTime()) / 1000);
        if (left > 60) {
          crossSignedPem = await b.crossSign(
            { slotId: s.cross, subject: int, issuer: oldRoot, lifetimeSeconds: left, pathLength: 0 },
            opts,
          );
        }
      }
      const bundle = unionBundle(rec.bundleBeforePem, [root.certificatePem]);
      during = trustBundleDigest(bundle);
      next = {
        ...rec,
        old: { ...rec.old, keyRef: oldRoot.keyRef },
        ...(rec.oldIntermediate && oldInt
          ? { oldIntermediate: { ...rec.oldIntermediate, keyRef: oldInt.keyRef } }
          : {}),
        new: certificateInfo(root.certificatePem, root.keyRef),
        newIntermediate: certificateInfo(int.certificatePem, int.keyRef),
        ...(crossSignedPem ? { crossSignedPem } : {}),
        bundles: { ...rec.bundles, during },
      };
    } else {
      const oldInt = await b.snapshot('signing', s.oldInt, opts);
      const root = await b.current('root', opts);
      if (!root)
        refuse('no-key', 'there is no root certloop holds a key of', 'rotate the intermediate where it is issued');
      const int = await b.create(
        {
          slotId: s.int,
          commonName: rec.settings.commonName,
          lifetimeSeconds: rec.settings.lifetimeSeconds,
          keyAlgorithm: rec.settings.keyAlgorithm,
          parent: root,
          pathLength: 0,
        },
        opts,
      );
      during = rec.bundles.before;
      next = {
        ...rec,
        old: { ...rec.old, keyRef: oldInt.keyRef },
        new: certificateInfo(int.certificatePem, int.keyRef),
        bundles: { ...rec.bundles, during },
      };
    }
    if (!rec.new) snap = await this.#write(snap, next, signal);
    else next = rec;
    await this.#publish(this.#duringBundle(next), signal);
    const done = this.#phase(next, 'converge', { preparedAt: this.#now() });
    return (await this.#write(snap, done, signal)).records[this.ca]!;
  }

  /** Checks which consumers hold {A, B}; writes the figures into the record (phase `converge`). */
  async checkConvergence(options: CaStepOptions = {}): Promise<ConvergenceFigures> {
    return this.#retrying(options, async (signal) => {
      const snap = await this.#read(signal);
      const rec = this.#expect(snap, ['converge']);
      const figures = await this.#convergence(rec, signal);
      await this.#write(snap, { ...rec, convergence: figures }, signal);
      this.#events.emit({ type: 'convergence', ca: this.ca, figures });
      return figures;
    });
  }

  /** Confirms bring-your-own consumers by hand (they count as converged). */
  async confirm(consumers: readonly string[], options: CaStepOptions = {}): Promise<ConvergenceFigures> {
    return this.#retrying(options, async (signal) => {
      const snap = await this.#read(signal);
      const rec = this.#expect(snap, ['converge']);
      const confirmations = [...new Set([...(rec.confirmations ?? []), ...consumers])].sort();
      const withConfirmations = { ...rec, confirmations };
      const figures = await this.#convergence(withConfirmations, signal);
      await this.#write(snap, { ...withConfirmations, convergence: figures }, signal);
      return figures;
    });
  }

  async #convergence(rec: CaRotationRecord, signal: AbortSignal): Promise<ConvergenceFigures> {
    const observations = (
      await Promise.all((this.#o.convergence ?? []).map((source) => source.observations({ signal })))
    ).flat();
    return convergenceFigures({
      targetDigest: rec.bundles.during ?? rec.bundles.before,
      observations,
      expected: this.#o.expectedConsumers,
      bringYourOwn: this.#o.bringYourOwnConsumers,
      confirmed: rec.confirmations,
      publishedAt: rec.timestamps.preparedAt ? new Date(rec.timestamps.preparedAt) : undefined,
      bringYourOwnTimeoutSeconds: this.#o.bringYourOwnTimeoutSeconds,
      now: this.#clock.now(),
    });
  }

  /**
   * B starts signing (for a root: the intermediate under B, and the root secret holds B) and the managed server
   * certificate is re-issued under it. Refuses `not-converged` unless `force` (written in the record). Resolves the
   * record in `drain`.
   */
  async activate(options: ForceOptions = {}): Promise<CaRotationRecord> {
    return this.#retrying(options, async (signal) => {
      let snap = await this.#read(signal);
      let rec = this.#expect(snap, ['converge', 'activate', 'drain', 'retire', 'retired']);
      if (rec.phase === 'drain' || rec.phase === 'retire' || rec.phase === 'retired') return rec;
      if (rec.phase === 'converge') {
        const figures = await this.#convergence(rec, signal);
        let forced: ForcedStep | undefined;
        if (!figures.complete) {
          if (!options.force) {
            refuse(
              'not-converged',
              `not every consumer holds {A,B}: ${figures.summary}`,
              'wait, confirm bring-your-own consumers, or force',
              {
                figures,
              },
            );
          }
          forced = {
            at: this.#now(),
            phase: 'converge',
            refusal: 'not-converged',
            ...(options.reason ? { reason: options.reason } : {}),
          };
          this.#events.emit({ type: 'forced', ca: this.ca, step: forced });
        }
        rec = this.#phase(
          { ...rec, convergence: figures, ...(forced ? { forced: [...(rec.forced ?? []), forced] } : {}) },
          'activate',
        );
        snap = await this.#write(snap, rec, signal);
      }
      const bundle = this.#duringBundle(rec);
      if (this.ca === 'root') {
        await this.#backend.install({ slot: 'root', ca: handleOf(rec.new!), trustBundlePem: bundle }, { signal });
        await this.#backend.install(
          {
            slot: 'signing',
            ca: handleOf(rec.newIntermediate!),
            ...(rec.crossSignedPem ? { extraChainPem: rec.crossSignedPem } : {}),
            trustBundlePem: bundle,
          },
          { signal },
        );
      } else {
        await this.#backend.install({ slot: 'signing', ca: handleOf(rec.new!), trustBundlePem: bundle }, { signal });
      }
      await this.#reissueServer(signal);
      const done = this.#phase(rec, 'drain', { activatedAt: this.#now() });
      return (await this.#write(snap, done, signal)).records[this.ca]!;
    });
  }

  /** Asks consumers to renew under B and counts the leaves still live under A (phase `drain`). */
  async drain(options: CaStepOptions = {}): Promise<DrainFigures> {
    return this.#retrying(options, async (signal) => {
      const snap = await this.#read(signal);
      const rec = this.#expect(snap, ['drain']);
      const activeIssuerKeyId = newSigningKeyId(rec)!;
      let notified = rec.drain?.notified ?? 0;
      for (const requester of this.#o.renewalRequesters ?? []) {
        const answer = await requester.requestRenewal(
          { reason: `${this.ca} rotation ${rec.id}: drain`, activeIssuerKeyId },
          { signal },
        );
        notified += answer.notified;
      }
      const figures = await this.#count(rec, activeIssuerKeyId, notified, signal);
      await this.#write(snap, { ...rec, drain: figures }, signal);
      this.#events.emit({ type: 'drain', ca: this.ca, figures });
      return figures;
    });
  }

  async #count(
    rec: CaRotationRecord,
    activeIssuerKeyId: string,
    notified: number,
    signal: AbortSignal,
  ): Promise<DrainFigures> {
    const now = this.#clock.now();
    if (this.#o.ledger) {
      const live = await this.#o.ledger.live({ issuerKeyId: oldSigningKeyId(rec), at: now }, { signal });
      return { checkedAt: now.toISOString(), liveUnderOld: live, counting: 'ledger', notified, activeIssuerKeyId };
    }
    const activatedAt = Date.parse(rec.timestamps.activatedAt ?? rec.timestamps.phaseSince);
    const liveUntil = new Date(activatedAt + (this.#o.maxLeafLifetimeSeconds ?? YEAR) * 1000);
    return {
      checkedAt: now.toISOString(),
      liveUnderOld: now.getTime() < liveUntil.getTime() ? 1 : 0,
      counting: 'expiry',
      liveUntil: liveUntil.toISOString(),
      notified,
      activeIssuerKeyId,
    };
  }

  /**
   * Bundles become {B} and A's key is destroyed (its certificate stays in the record). Refuses `leaves-live` while
   * leaves under A are live, unless `force`. Resolves the record in `retired`.
   */
  async retire(options: ForceOptions = {}): Promise<CaRotationRecord> {
    return this.#retrying(options, async (signal) => {
      let snap = await this.#read(signal);
      let rec = this.#expect(snap, ['drain', 'retire', 'retired']);
      if (rec.phase === 'retired') return rec;
      if (rec.phase === 'drain') {
        const figures = await this.#count(rec, newSigningKeyId(rec)!, rec.drain?.notified ?? 0, signal);
        let forced: ForcedStep | undefined;
        if (figures.liveUnderOld > 0) {
          if (!options.force) {
            refuse(
              'leaves-live',
              `${figures.liveUnderOld} leaves issued under A are still live`,
              'drain further, wait for them to expire, or force',
              {
                figures,
              },
            );
          }
          forced = {
            at: this.#now(),
            phase: 'drain',
            refusal: 'leaves-live',
            ...(options.reason ? { reason: options.reason } : {}),
          };
          this.#events.emit({ type: 'forced', ca: this.ca, step: forced });
        }
        rec = this.#phase(
          { ...rec, drain: figures, ...(forced ? { forced: [...(rec.forced ?? []), forced] } : {}) },
          'retire',
          { drainedAt: this.#now() },
        );
        snap = await this.#write(snap, rec, signal);
      }
      const after = this.#afterBundle(rec);
      if (this.ca === 'root') {
        // the cross-signed certificate chains to A, which is no longer trusted: stop serving it
        await this.#backend.install({ slot: 'root', ca: handleOf(rec.new!), trustBundlePem: after }, { signal });
        await this.#backend.install(
          { slot: 'signing', ca: handleOf(rec.newIntermediate!), trustBundlePem: after },
          { signal },
        );
      }
      await this.#publish(after, signal);
      const s = slots(rec.id);
      const all = this.ca === 'root' ? [s.oldRoot, s.oldInt, s.cross, s.root, s.int] : [s.oldInt, s.int];
      for (const slotId of all) {
        if (await this.#backend.destroy(slotId, { signal })) {
          this.#events.emit({ type: 'key-destroyed', ca: this.ca, slotId });
        }
      }
      const { keyRef: _old, ...old } = rec.old;
      const done = this.#phase(
        {
          ...rec,
          old,
          ...(rec.oldIntermediate ? { oldIntermediate: dropKeyRef(rec.oldIntermediate) } : {}),
          ...(rec.new ? { new: dropKeyRef(rec.new) } : {}),
          ...(rec.newIntermediate ? { newIntermediate: dropKeyRef(rec.newIntermediate) } : {}),
          bundles: { ...rec.bundles, after: trustBundleDigest(after) },
        },
        'retired',
        { retiredAt: this.#now() },
      );
      return (await this.#write(snap, done, signal)).records[this.ca]!;
    });
  }

  /** Returns to A from any phase before retire. Refuses `already-retired` after it. Resolves the record `aborted`. */
  async abort(options: CaStepOptions = {}): Promise<CaRotationRecord> {
    return this.#retrying(options, async (signal) => {
      let snap = await this.#read(signal);
      const found = snap.records[this.ca];
      if (!found) refuse('no-rotation', `no ${this.ca} rotation to abort`, 'nothing to do');
      if (found.phase === 'aborted') return found;
      if (found.phase === 'retire' || found.phase === 'retired') {
        refuse('already-retired', `the ${this.ca} rotation ${found.id} has retired A`, 'start a new rotation instead');
      }
      let rec = found;
      if (rec.phase !== 'abort') {
        rec = this.#phase({ ...rec, abortedFrom: rec.phase }, 'abort');
        snap = await this.#write(snap, rec, signal);
      }
      const s = slots(rec.id);
      const before = rec.bundleBeforePem;
      const from = rec.abortedFrom;
      if (from === 'activate' || from === 'drain') {
        if (this.ca === 'root') {
          await this.#backend.install({ slot: 'root', ca: handleOf(rec.old), trustBundlePem: before }, { signal });
          if (rec.oldIntermediate) {
            await this.#backend.install(
              { slot: 'signing', ca: handleOf(rec.oldIntermediate), trustBundlePem: before },
              { signal },
            );
          }
        } else {
          await this.#backend.install({ slot: 'signing', ca: handleOf(rec.old), trustBundlePem: before }, { signal });
        }
        await this.#reissueServer(signal);
      }
      await this.#publish(before, signal);
      const all = this.ca === 'root' ? [s.cross, s.int, s.root, s.oldInt, s.oldRoot] : [s.int, s.oldInt];
      for (const slotId of all) {
        if (await this.#backend.destroy(slotId, { signal })) {
          this.#events.emit({ type: 'key-destroyed', ca: this.ca, slotId });
        }
      }
      const done = this.#phase(
        {
          ...rec,
          old: dropKeyRef(rec.old),
          ...(rec.oldIntermediate ? { oldIntermediate: dropKeyRef(rec.oldIntermediate) } : {}),
          ...(rec.new ? { new: dropKeyRef(rec.new) } : {}),
          ...(rec.newIntermediate ? { newIntermediate: dropKeyRef(rec.newIntermediate) } : {}),
        },
        'aborted',
        { abortedAt: this.#now() },
      );
      return (await this.#write(snap, done, signal)).records[this.ca]!;
    });
  }

  /** Finishes an interrupted intent (prepare, activate, retire, abort) found in the record; a no-op otherwise. */
  async resume(options: CaStepOptions = {}): Promise<CaRotationRecord | undefined> {
    const rec = await this.record(options);
    switch (rec?.phase) {
      case 'prepare':
        return this.prepare(options);
      case 'activate':
        return this.activate(options);
      case 'retire':
        return this.retire(options);
      case 'abort':
        return this.abort(options);
      default:
        return rec;
    }
  }

  // ─── internals ─────────────────────────────────────────────────────────────────────────────────────────────────

  #slot() {
    return this.ca === 'root' ? ('root' as const) : ('signing' as const);
  }

  #now(): string {
    return this.#clock.now().toISOString();
  }

  #duringBundle(rec: CaRotationRecord): string {
    return duringBundle(rec);
  }

  #afterBundle(rec: CaRotationRecord): string {
    return afterBundle(rec);
  }

  async #publish(bundle: string, signal: AbortSignal): Promise<void> {
    const { written } = await this.#publisher.publish(bundle, { signal });
    const digest = trustBundleDigest(bundle);
    for (const secret of written) this.#events.emit({ type: 'bundle-published', ca: this.ca, secret, digest });
    if (holdsTrustBundle(this.#backend)) {
      await this.#backend.publishTrustBundle(bundle, { signal });
      this.#events.emit({
        type: 'bundle-published',
        ca: this.ca,
        secret: `${this.#backend.kind}:trust-bundle`,
        digest,
      });
    }
  }

  /**
   * The bundle in force before the rotation: the publisher's; when the store holds no CA secret (the CAs live in the
   * backend), the backend's own copy, else the root in force alone.
   */
  async #readBundle(currentPem: string, signal: AbortSignal): Promise<string> {
    try {
      return await this.#publisher.read({ signal });
    } catch (err) {
      if (!isCertloopError(err, 'CERTLOOP_NOT_FOUND')) throw err;
    }
    const held = holdsTrustBundle(this.#backend) ? await this.#backend.readTrustBundle({ signal }) : undefined;
    if (held) return held;
    const root = this.ca === 'root' ? currentPem : (await this.#backend.current('root', { signal }))?.certificatePem;
    if (!root) throw new CertloopError('CERTLOOP_NOT_FOUND', 'no trust bundle is published and no root is in force');
    return root;
  }

  async #reissueServer(signal: AbortSignal): Promise<void> {
    const issued = await reissueServer({
      backend: this.#backend,
      store: this.#store,
      name: this.#names.server,
      ledger: this.#o.ledger,
      clock: this.#clock,
      signer: this.#o.serverSigner,
      engine: this.#o.engine,
      signal,
    });
    if (issued) this.#events.emit({ type: 'server-reissued', ca: this.ca, ...issued });
  }

  #phase(
    rec: CaRotationRecord,
    phase: CaRotationPhase,
    stamps: Partial<CaRotationRecord['timestamps']> = {},
  ): CaRotationRecord {
    const now = this.#now();
    return { ...rec, phase, timestamps: { ...rec.timestamps, ...stamps, phaseSince: now } };
  }

  #expect(snap: RecordsSnapshot, phases: readonly CaRotationPhase[]): CaRotationRecord {
    const rec = snap.records[this.ca];
    if (!rec || (FINAL.includes(rec.phase) && !phases.includes(rec.phase))) {
      refuse('no-rotation', `no ${this.ca} rotation is under way`, `start one with prepare`);
    }
    if (!phases.includes(rec.phase)) {
      refuse(
        'wrong-phase',
        `the ${this.ca} rotation is in ${rec.phase}`,
        rec.phase === 'prepare' || rec.phase === 'activate' || rec.phase === 'abort' || rec.phase === 'retire'
          ? 'resume the interrupted step first'
          : `this step needs ${phases.join(' or ')}`,
        { phase: rec.phase },
      );
    }
    return rec;
  }

  async #read(signal: AbortSignal): Promise<RecordsSnapshot> {
    return readRecords(this.#store, this.#recordName, signal);
  }

  async #write(snap: RecordsSnapshot, rec: CaRotationRecord, signal: AbortSignal): Promise<RecordsSnapshot> {
    throwIfAborted(signal);
    const stored = snap.records[this.ca];
    const revision = (stored?.id === rec.id ? stored.revision : (stored?.revision ?? 0)) + 1;
    const next = { ...rec, revision, timestamps: { ...rec.timestamps, updatedAt: this.#now() } };
    const written = await writeRecord(this.#store, this.#recordName, snap, next, signal);
    if (stored?.phase !== next.phase)
      this.#events.emit({ type: 'phase', ca: this.ca, phase: next.phase, record: next });
    return written;
  }

  /** Runs a step as leader, re-running it from a fresh read when a record write conflicts. */
  async #retrying<T>(options: CaStepOptions, step: (signal: AbortSignal) => Promise<T>): Promise<T> {
    throwIfAborted(options.signal);
    const leader = this.#o.leader;
    let term: AbortSignal | undefined;
    if (leader) {
      term = leader.leadershipSignal();
      if (!leader.isLeader() || !term) {
        throw new CertloopError('CERTLOOP_NOT_LEADER', `only the leader moves the ${this.ca} rotation`);
      }
    }
    const signals = [options.signal, term].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length ? AbortSignal.any(signals) : new AbortController().signal;
    for (let attempt = 1; ; attempt++) {
      try {
        return await step(signal);
      } catch (err) {
        if (!isCertloopError(err, 'CERTLOOP_CONFLICT') || attempt >= MAX_ATTEMPTS) throw err;
      }
    }
  }
}
