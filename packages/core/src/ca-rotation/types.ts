/**
 * `@certloop/core` CA rotation: the public types and contracts.
 *
 * A CA (the relay's root or its intermediate) is replaced by a persisted, phased process, never by one overwrite:
 *
 *   prepare ─▶ converge ─▶ activate ─▶ drain ─▶ retire ─▶ retired
 *      └──────────┴────────────┴──────────┴──▶ abort ─▶ aborted
 *
 * The state of a rotation is one versioned {@link CaRotationRecord} per CA, kept in the store (by default in the
 * secret `relay-ca-rotation`, one data key per CA) and written only with compare-and-swap. Every transition first
 * writes its intent (the phase it is in), then does idempotent steps (each checks the store before it writes), then
 * writes the next phase; so a process killed between any two writes is resumed from the record by the next leader,
 * with nothing lost and nothing issued twice (a new CA key and certificate is created once per rotation id and
 * kept, by reference, in the record before anything else uses it).
 */
import type { ExternalPrivateKey } from '../x509/crypto-engine.js';
import type { KeyAlgorithm } from '../x509/types.js';
import type { BundleConsumerKind } from './consumers.js';

/** Which CA a rotation replaces. A root rotation also issues a new intermediate under the new root. */
export type CaKind = 'root' | 'intermediate';

/**
 * Where a rotation stands. The in-progress phases (`prepare`, `activate`, `retire`, `abort`) are intents: a process
 * that finds one resumes it. `converge` and `drain` are waits. `retired` and `aborted` are final.
 * - `prepare`: B (key and certificate) is being created and every published bundle becomes {A, B}; A signs.
 * - `converge`: bundles hold {A, B}; waiting until every consumer has observed them; A signs.
 * - `activate`: B is being switched in as the signer (for a root: the intermediate under B).
 * - `drain`: B signs; leaves under A are being renewed early; bundles still hold {A, B}.
 * - `retire`: bundles are becoming {B}; A's key is being destroyed (its certificate stays in the record).
 * - `abort`: returning to A (A signs, bundles back to what they were, B's key destroyed). Not possible after retire.
 */
export type CaRotationPhase =
  | 'prepare'
  | 'converge'
  | 'activate'
  | 'drain'
  | 'retire'
  | 'retired'
  | 'abort'
  | 'aborted';

/** The phases a rotation can still be moved out of (neither `retired` nor `aborted`). */
export const ACTIVE_ROTATION_PHASES: readonly CaRotationPhase[] = [
  'prepare',
  'converge',
  'activate',
  'drain',
  'retire',
  'abort',
];

/** A CA certificate as the record keeps it (for audit and for the bundles): never its key. */
export interface CaCertificateInfo {
  /** The certificate, one PEM block. */
  readonly certificatePem: string;
  /** Lower-case hex subjectKeyIdentifier: the `activeIssuerKeyId` leaves are compared with. */
  readonly keyId: string;
  readonly serialNumber: string;
  readonly subject: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** SHA-256 of the DER, lower-case hex. */
  readonly fingerprintSha256: string;
  /**
   * Where the key lives, as the {@link CaKeyBackend} names it (a secret name for the store backend, a Vault issuer
   * id, a `pkcs11:` URI). Absent once the key is destroyed, and for a certificate certloop holds no key of.
   */
  readonly keyRef?: string;
}

/** One consumer not yet converged, for progress lines. */
export interface WaitingConsumer {
  readonly consumer: string;
  readonly kind: BundleConsumerKind;
  /** ISO time of its last report, absent when it never reported. */
  readonly lastSeen?: string;
  /** The digest it last reported (absent when it never reported). */
  readonly bundleDigest?: string;
}

/** The last convergence check, as written in the record. */
export interface ConvergenceFigures {
  readonly checkedAt: string;
  /** `trustBundleDigest` every consumer must hold ({A, B}). */
  readonly targetDigest: string;
  readonly total: number;
  readonly converged: number;
  /** Consumers not holding the target bundle, at most 20 of them (the count is `total - converged`). */
  readonly waiting: readonly WaitingConsumer[];
  /** Bring-your-own consumers counted as converged by confirmation (`confirm`) or by the configured timeout. */
  readonly confirmed: readonly string[];
  /** True when every consumer has converged (or was confirmed). */
  readonly complete: boolean;
  /** The progress line: `41/43 consumers hold {A,B}; waiting for cluster-7 (last seen 3 m ago)`. */
  readonly summary: string;
}

/** The last count of live leaves issued under A (drain), as written in the record. */
export interface DrainFigures {
  readonly checkedAt: string;
  /**
   * Leaves under A still live (not expired, not superseded by a renewal). Counted by the {@link IssuanceLedger}
   * (`counting: 'ledger'`); without one (`counting: 'expiry'`) it is 1 until `liveUntil` (activation plus the
   * longest leaf lifetime), then 0.
   */
  readonly liveUnderOld: number;
  readonly counting: 'ledger' | 'expiry';
  readonly liveUntil?: string;
  /** Key id leaves should now be issued by (the new signing CA's). */
  readonly activeIssuerKeyId: string;
  /** Renewal requests sent (sum of `RenewalRequester` answers) in this phase. */
  readonly notified: number;
}

/** An override of a refusal, written in the record for audit. */
export interface ForcedStep {
  readonly at: string;
  readonly phase: CaRotationPhase;
  readonly refusal: CaRotationRefusal;
  readonly reason?: string;
}

/**
 * The persisted state of one CA's rotation (JSON in the record secret). Versioned twice: `schema` (the format, 1)
 * and `revision` (incremented by every write, for humans and logs; the store's version is the compare-and-swap).
 * It never holds a private key: keys stay where the {@link CaKeyBackend} keeps them and the record names them.
 */
export interface CaRotationRecord {
  readonly schema: 1;
  readonly ca: CaKind;
  /** Random id of this rotation (lower-case hex): names the new key's slot, so a resumed prepare reuses it. */
  readonly id: string;
  readonly revision: number;
  readonly phase: CaRotationPhase;
  /** Who started it. */
  readonly mode: 'manual' | 'automatic';
  readonly reason?: string;
  /** The CA being replaced (A). */
  readonly old: CaCertificateInfo;
  /** The CA replacing it (B); set once prepare has created it. */
  readonly new?: CaCertificateInfo;
  /** Root rotation: the intermediates involved (the one under A being replaced, the one under B replacing it). */
  readonly oldIntermediate?: CaCertificateInfo;
  readonly newIntermediate?: CaCertificateInfo;
  /** Root rotation with `crossSign`: the new intermediate's key certified by the old root (PEM), served in chains. */
  readonly crossSignedPem?: string;
  /** `trustBundleDigest`s: of the bundle before (A's), during ({A, B}) and after ({B}). */
  readonly bundles: { readonly before: string; readonly during?: string; readonly after?: string };
  /** The bundle published before the rotation (PEM), so abort can restore it exactly. */
  readonly bundleBeforePem: string;
  readonly timestamps: {
    readonly startedAt: string;
    readonly updatedAt: string;
    /** When the record entered its current phase (for dwell times and `stuck`). */
    readonly phaseSince: string;
    readonly preparedAt?: string;
    readonly activatedAt?: string;
    readonly drainedAt?: string;
    readonly retiredAt?: string;
    readonly abortedAt?: string;
  };
  readonly convergence?: ConvergenceFigures;
  /** Bring-your-own consumers confirmed by hand (`confirm`). */
  readonly confirmations?: readonly string[];
  readonly drain?: DrainFigures;
  readonly forced?: readonly ForcedStep[];
  /** The phase an abort started from (kept for audit and to know what to undo). */
  readonly abortedFrom?: CaRotationPhase;
  /** The settings the rotation was started with (so every replica resumes it the same way). */
  readonly settings: CaRotationSettings;
}

/** Settings fixed when a rotation starts (copied into the record). */
export interface CaRotationSettings {
  readonly keyAlgorithm: KeyAlgorithm;
  /** Lifetime of the new CA, seconds (default: the old CA's lifetime). */
  readonly lifetimeSeconds: number;
  /** Root rotation: lifetime of the new intermediate, seconds. */
  readonly intermediateLifetimeSeconds?: number;
  readonly commonName: string;
  readonly intermediateCommonName?: string;
  /** Root rotation: also certify the new intermediate's key under the old root (for peers that trust only A). */
  readonly crossSign: boolean;
}

/**
 * Why a step was refused. Each is raised as a `CertloopError` with code `CERTLOOP_CA_ROTATION_REFUSED` and
 * `details.refusal` set to one of these, plus `details.hint` saying what to do.
 * - `not-converged`: activate before every consumer holds {A, B} (pass `force` to override; it is logged).
 * - `leaves-live`: retire while leaves under A are live (drain further, or `force`).
 * - `dwell`: the automatic rotator's minimum dwell time in this phase has not passed (manual steps ignore it).
 * - `wrong-phase`: the step does not follow from the record's phase (e.g. activate during drain).
 * - `already-retired`: abort after retire (start a new rotation instead).
 * - `no-rotation`: no rotation under way.
 * - `rotation-under-way`: prepare while another rotation (of this CA, or the root's while rotating the intermediate)
 *   has not finished.
 * - `bring-your-own`: the CA secret is not certloop's (certloop never writes it; a renewed bring-your-own root is followed with an overlap instead).
 * - `no-key`: the CA has no key certloop can use.
 */
export type CaRotationRefusal =
  | 'not-converged'
  | 'leaves-live'
  | 'dwell'
  | 'wrong-phase'
  | 'already-retired'
  | 'no-rotation'
  | 'rotation-under-way'
  | 'bring-your-own'
  | 'no-key';

/** What `status` reports for one CA. */
export interface CaRotationStatus {
  readonly ca: CaKind;
  /** The CA in force now (what signs, for the intermediate; what anchors, for the root). */
  readonly current: CaCertificateInfo | undefined;
  /** The record of the latest rotation, finished or not. */
  readonly record: CaRotationRecord | undefined;
  /** True when a rotation is under way (phase not final). */
  readonly underWay: boolean;
  /** The time the CA enters its renewal window (grace ratio of its lifetime). */
  readonly renewAt: Date | undefined;
  /** True when the CA is past `renewAt` and no rotation is under way: alert. */
  readonly due: boolean;
  /** True when a rotation has been in its phase longer than the stuck bound: alert. */
  readonly stuck: boolean;
  /** One human line. */
  readonly summary: string;
}

/** Options common to every step of {@link CaRotation}. */
export interface CaStepOptions {
  readonly signal?: AbortSignal;
  /** Why (written in the record and in events). */
  readonly reason?: string;
}

export interface PrepareOptions extends CaStepOptions {
  readonly keyAlgorithm?: KeyAlgorithm;
  readonly lifetimeSeconds?: number;
  readonly intermediateLifetimeSeconds?: number;
  readonly commonName?: string;
  readonly intermediateCommonName?: string;
  readonly crossSign?: boolean;
  /** `automatic` when the {@link CaRotator} starts it. Default `manual`. */
  readonly mode?: 'manual' | 'automatic';
}

export interface ForceOptions extends CaStepOptions {
  /** Override the refusal (`not-converged`, `leaves-live`); the override is written into the record. */
  readonly force?: boolean;
}

/** Events a rotation emits (one per write of the record, plus checks). */
export type CaRotationEvent =
  | { readonly type: 'phase'; readonly ca: CaKind; readonly phase: CaRotationPhase; readonly record: CaRotationRecord }
  | { readonly type: 'bundle-published'; readonly ca: CaKind; readonly secret: string; readonly digest: string }
  | { readonly type: 'convergence'; readonly ca: CaKind; readonly figures: ConvergenceFigures }
  | { readonly type: 'drain'; readonly ca: CaKind; readonly figures: DrainFigures }
  | { readonly type: 'forced'; readonly ca: CaKind; readonly step: ForcedStep }
  | { readonly type: 'key-destroyed'; readonly ca: CaKind; readonly slotId: string }
  | {
      readonly type: 'server-reissued';
      readonly ca: CaKind;
      readonly serialNumber: string;
      readonly issuerKeyId: string;
    };

// ─── where the CA key lives ──────────────────────────────────────────────────────────────────────────────────────

/** Which of the relay's CA slots a backend call is about: the root, or the signing intermediate. */
export type CaSlot = 'root' | 'signing';

/** A CA as a backend holds it: its certificate (and chain above it) and where its key is. */
export interface CaHandle {
  /** Backend-specific name of the key (secret name, Vault issuer id, `pkcs11:` URI). Stable for the key's life. */
  readonly keyRef: string;
  /** The CA certificate, one PEM block. */
  readonly certificatePem: string;
  /** Certificates above it, issuer first, PEM (empty for a root). */
  readonly chainPem: string;
}

export interface CreateCaRequest {
  /**
   * Idempotence key (`<rotation id>-<purpose>`, lower-case alphanumerics and dashes): one slot id gives one CA,
   * however often called. Also the name under which `destroy` finds it.
   */
  readonly slotId: string;
  readonly commonName: string;
  readonly lifetimeSeconds: number;
  readonly keyAlgorithm: KeyAlgorithm;
  /** For an intermediate: the CA that signs it. Absent: a new self-signed root. */
  readonly parent?: CaHandle;
  /** pathLenConstraint (root default 1, intermediate default 0). */
  readonly pathLength?: number;
}

export interface CrossSignRequest {
  readonly slotId: string;
  /** The CA whose key is certified (B's intermediate). */
  readonly subject: CaHandle;
  /** The CA that certifies it (the old root A). */
  readonly issuer: CaHandle;
  readonly lifetimeSeconds: number;
  readonly pathLength?: number;
}

export interface InstallRequest {
  /** Which slot now signs (`signing`) or anchors (`root`) with this CA. */
  readonly slot: CaSlot;
  readonly ca: CaHandle;
  /** Extra certificates served after the CA's own chain (the cross-signed certificate). */
  readonly extraChainPem?: string;
  /** The trust bundle written beside it. */
  readonly trustBundlePem: string;
}

export interface BackendCallOptions {
  readonly signal?: AbortSignal;
}

/**
 * Where a CA key lives and how it is used: store-backed local keys ({@link StoreCaKeyBackend}), Vault issuers and
 * PKCS#11 keys (other packages).
 *
 * Contract:
 * - Safe for concurrent use; every call honours `signal` (rejects `CERTLOOP_ABORTED`, writes nothing after it).
 * - `current(slot)` resolves what signs/anchors in that slot now, or `undefined` when the slot is empty; it throws
 *   `CERTLOOP_CA_ROTATION_REFUSED` (`bring-your-own`) for a slot certloop must never write, and (`no-key`) for one
 *   whose key it cannot use.
 * - `snapshot(slot, slotId)` keeps the CA in force under a reference of its own, so it survives `install` of
 *   another CA (the store backend copies it to a secret of its own; Vault and PKCS#11 just name the key). Idempotent.
 * - `create` makes a new key and certificate, where the backend keeps keys; idempotent per `slotId` (a second call
 *   resolves the CA the first one made, so a resumed prepare never issues twice). The key never leaves the backend.
 * - `crossSign` certifies `subject`'s key under `issuer`; idempotent per `slotId`.
 * - `install` makes `ca` the one in force for `slot` (for the relay: the content of `relay-root-tls-secret` or
 *   `relay-tls-signing-secret`, which `RelayServer` and `LocalCertificateAuthority` follow). Idempotent: installing
 *   what is already in force changes nothing.
 * - `destroy(slotId)` destroys what `create`, `crossSign` or `snapshot` made under that slot id, except a key that
 *   is in force (a backend that keeps copies, as the store backend does, removes only its copy); resolves `false`
 *   when there was nothing to remove. Idempotent.
 */
export interface CaKeyBackend {
  readonly kind: string;
  current(slot: CaSlot, options?: BackendCallOptions): Promise<CaHandle | undefined>;
  snapshot(slot: CaSlot, slotId: string, options?: BackendCallOptions): Promise<CaHandle>;
  create(request: CreateCaRequest, options?: BackendCallOptions): Promise<CaHandle>;
  crossSign(request: CrossSignRequest, options?: BackendCallOptions): Promise<string>;
  install(request: InstallRequest, options?: BackendCallOptions): Promise<void>;
  destroy(slotId: string, options?: BackendCallOptions): Promise<boolean>;
}

/**
 * Where a {@link StoreCaKeyBackend} makes and keeps CA keys when they are not in the store (a PKCS#11 token, say):
 * the CA secrets then hold certificates only (no `tls.key`), and each key is found by the public key of its
 * certificate. Without one, the store backend keeps PEM keys in the secrets (the default).
 *
 * Contract:
 * - Safe for concurrent use; every call honours `signal`. No call ever puts a private key in this process.
 * - `create({ name, algorithm })` makes a key named after `name` (the slot's name,
 *   `relay-ca-rotation-<rotation id>-<purpose>`), or resolves the key made before under that name: idempotent, so
 *   a resumed prepare reuses the key an interrupted one made.
 * - `find(spkiDer)` resolves the key whose public half is `spkiDer` (a CA certificate's), or `undefined`.
 * - `destroy(spkiDer)` destroys that key; resolves `false` when there was none. Idempotent. The backend never asks it
 *   to destroy a key in force.
 */
export interface CaKeySource {
  /** Where the keys are, for people (no secret in it). */
  readonly description: string;
  create(
    request: { readonly name: string; readonly algorithm: KeyAlgorithm },
    options?: BackendCallOptions,
  ): Promise<ExternalPrivateKey>;
  find(spkiDer: Uint8Array, options?: BackendCallOptions): Promise<ExternalPrivateKey | undefined>;
  destroy(spkiDer: Uint8Array, options?: BackendCallOptions): Promise<boolean>;
}

// ─── where the bundles are published ─────────────────────────────────────────────────────────────────────────────

/**
 * Writes the trust bundle certloop publishes (`ca.crt` of the relay's managed secrets, and any other it is given).
 * Contract: `publish` makes every managed target hold exactly `bundlePem` (compare-and-swap, retried on conflict,
 * idempotent: a target already holding that bundle is not written); bring-your-own targets are never written and
 * reported in `skipped`; a missing target is skipped. `read` resolves the bundle in force (the root slot's).
 */
export interface TrustBundlePublisher {
  read(options?: BackendCallOptions): Promise<string>;
  publish(
    bundlePem: string,
    options?: BackendCallOptions,
  ): Promise<{ readonly written: readonly string[]; readonly skipped: readonly string[] }>;
}

// ─── how many leaves are still under A: the CA's issuance ledger (contract in ../ca/types.ts) ─────────────────

export type { IssuanceLedger, IssuedLeaf } from '../ca/types.js';

// ─── the automatic mode ──────────────────────────────────────────────────────────────────────────────────────────

/**
 * Minimum dwell times of the automatic rotator, as shares of the old CA's lifetime, in the spirit of SPIRE (which
 * prepares the next CA at 1/2 of the lifetime and activates it at 1/6 left): the {@link CaRotator} prepares when
 * `ratio` (default 1/2) of the lifetime is left, stays in converge at least `convergeShare` (default 1/6) and in drain
 * at least `drainShare` (default 0), and moves on only when convergence (and the drain) is complete as well.
 */
export interface DwellTimes {
  readonly convergeShare?: number;
  readonly drainShare?: number;
  /** Upper bound of each dwell, seconds (default none). */
  readonly maxDwellSeconds?: number;
}
