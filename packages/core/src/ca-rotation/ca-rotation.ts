/**
 * `@certloop/core` CaRotation: the manual steps of one CA's rotation (what `certloop ca ...` runs).
 *
 * Contract:
 * - Every step reads the record, checks the phase, writes its intent, does idempotent steps, writes the outcome;
 *   all record writes are compare-and-swap on the record secret, so two processes never both move a rotation.
 * - Every step is idempotent (asking for the phase the record is already in, or past, resolves the record as it
 *   is) and resumes an interrupted intent: after a crash, calling the same step (or {@link CaRotation.resume})
 *   finishes it. Nothing is issued twice: the new CA is created once per rotation id.
 * - Leader-only: with a `leader`, a step refuses with `CERTLOOP_NOT_LEADER` unless it leads, and stops
 *   (`CERTLOOP_LEADERSHIP_LOST` / `CERTLOOP_ABORTED`) when the term ends; `status` reads only and needs no leadership.
 * - Every step honours `signal`. Refusals are `CERTLOOP_CA_ROTATION_REFUSED` with `details.refusal`
 *   ({@link CaRotationRefusal}) and `details.hint`.
 */
import { CertloopError } from '../errors.js';
import type { CaRotationOptions } from './options.js';
import type {
  CaRotationEvent,
  CaRotationRecord,
  CaRotationStatus,
  CaStepOptions,
  ConvergenceFigures,
  DrainFigures,
  ForceOptions,
  PrepareOptions,
} from './types.js';

export class CaRotation {
  readonly #o: CaRotationOptions;

  constructor(options: CaRotationOptions) {
    this.#o = options;
  }

  get ca() {
    return this.#o.ca;
  }

  /** The CA in force, the latest record, whether it is due or stuck. Reads only. */
  async status(_options: { readonly signal?: AbortSignal } = {}): Promise<CaRotationStatus> {
    throw notYet();
  }

  /**
   * Starts a rotation (or resumes an interrupted prepare): creates B (for a root: a new root and a new intermediate
   * under it, optionally cross-signed by A), publishes {A, B} in every bundle, A still signing. Resolves the record
   * in `converge`. Refuses `rotation-under-way` when another rotation is past prepare, `bring-your-own`, `no-key`.
   */
  async prepare(_options: PrepareOptions = {}): Promise<CaRotationRecord> {
    throw notYet();
  }

  /** Checks which consumers hold {A, B}; writes the figures into the record (phase `converge` or later). */
  async checkConvergence(_options: CaStepOptions = {}): Promise<ConvergenceFigures> {
    throw notYet();
  }

  /** Confirms bring-your-own consumers by hand (they count as converged). */
  async confirm(_consumers: readonly string[], _options: CaStepOptions = {}): Promise<ConvergenceFigures> {
    throw notYet();
  }

  /**
   * B starts signing (the intermediate under B for a root). Refuses `not-converged` unless `force` (logged in the
   * record). Resolves the record in `drain`.
   */
  async activate(_options: ForceOptions = {}): Promise<CaRotationRecord> {
    throw notYet();
  }

  /** Asks consumers to renew under B and counts the leaves still live under A (phase `drain`). */
  async drain(_options: CaStepOptions = {}): Promise<DrainFigures> {
    throw notYet();
  }

  /**
   * Bundles become {B} and A's key is destroyed (its certificate stays in the record). Refuses `leaves-live` while
   * leaves under A are live, unless `force`. Resolves the record in `retired`.
   */
  async retire(_options: ForceOptions = {}): Promise<CaRotationRecord> {
    throw notYet();
  }

  /** Returns to A from any phase before retire. Refuses `already-retired` after it. Resolves the record `aborted`. */
  async abort(_options: CaStepOptions = {}): Promise<CaRotationRecord> {
    throw notYet();
  }

  /** Finishes an interrupted intent (prepare, activate, retire, abort) found in the record; a no-op otherwise. */
  async resume(_options: CaStepOptions = {}): Promise<CaRotationRecord | undefined> {
    throw notYet();
  }

  subscribe(_listener: (event: CaRotationEvent) => void): () => void {
    throw notYet();
  }
}

function notYet(): CertloopError {
  return new CertloopError('CERTLOOP_NOT_IMPLEMENTED', 'CaRotation is being implemented');
}
