/**
 * Internal (`@certloop/core` x509): which form the node engine imports a kind of public key in, SPKI DER or the
 * other form Node has for it (PKCS#1 for RSA, JWK for P-256 and Ed25519), chosen by timing real imports.
 *
 * OpenSSL 3.0 (Node 20) decodes SPKI DER through a generic decoder chain that costs more than a signature check, so
 * PKCS#1 and JWK are two to twenty times faster there; OpenSSL 3.5 (Node 24) decodes SPKI about half again as fast
 * as JWK. The import runs once per CSR, so the choice is measured rather than guessed from a version number. Both
 * forms give the same key.
 *
 * The measuring costs next to nothing: the first {@link CALIBRATION_IMPORTS} imports of a kind alternate between
 * the forms and are timed (the first few of each not counted: the JIT and OpenSSL's decoder caches are cold then),
 * and the fastest of each decides (a busy machine slows calls, not the order of the two forms), with a margin for
 * SPKI. After that one import in {@link RECHECK_EVERY} is timed, the two forms in turn, and every
 * {@link RECHECK_SAMPLES} such imports decide again: a choice made wrong by a disturbed start (it happened on
 * Node 24 about once in twenty process starts, and cost 3–4 µs per issuance) is mended within a few thousand
 * imports.
 */

/** The form of one import, and whether it is timed: see {@link ImportPathChooser.next}. */
export const SPKI = 0;
export const ALTERNATIVE = 1;
export const TIMED_SPKI = 2;
export const TIMED_ALTERNATIVE = 3;
export type ImportStep = typeof SPKI | typeof ALTERNATIVE | typeof TIMED_SPKI | typeof TIMED_ALTERNATIVE;

export type ImportPath = 'spki' | 'alternative';

export const CALIBRATION_IMPORTS = 32;
const CALIBRATION_WARMUP = 6;
export const RECHECK_EVERY = 128;
export const RECHECK_SAMPLES = 16;
/** How much faster the alternative must be: OpenSSL 3.0 gives 0.1–0.65 of SPKI's time, OpenSSL 3.5 about 1.5. */
const ALTERNATIVE_MARGIN = 0.85;

/** The choice for one kind of key. Not shared between threads; each call is synchronous. */
export class ImportPathChooser {
  /** The form chosen, undefined during the first {@link CALIBRATION_IMPORTS} imports. */
  path: ImportPath | undefined;
  #imports = 0;
  #timed = 0;
  #bestSpki = Number.POSITIVE_INFINITY;
  #bestAlternative = Number.POSITIVE_INFINITY;

  /**
   * The step for the next import. The very first is SPKI, untimed (a key that does not import is reported by the
   * SPKI path before anything is measured).
   */
  next(): ImportStep {
    const n = this.#imports++;
    if (this.path === undefined) {
      if (n === 0) return SPKI;
      return n % 2 === 1 ? TIMED_SPKI : TIMED_ALTERNATIVE;
    }
    // Once chosen, the count runs round (two forms, RECHECK_EVERY imports apart).
    if (this.#imports === 2 * RECHECK_EVERY) this.#imports = 0;
    if (n === 0) return TIMED_SPKI;
    if (n === RECHECK_EVERY) return TIMED_ALTERNATIVE;
    return this.path === 'spki' ? SPKI : ALTERNATIVE;
  }

  /** The time a timed step took (any unit, the same for both forms); a step whose import failed is not recorded. */
  record(step: typeof TIMED_SPKI | typeof TIMED_ALTERNATIVE, elapsed: number): void {
    const calibrating = this.path === undefined;
    // While calibrating, the first imports of each form warm up and are not counted.
    if (!calibrating || this.#imports > CALIBRATION_WARMUP + 1) {
      if (step === TIMED_SPKI) this.#bestSpki = Math.min(this.#bestSpki, elapsed);
      else this.#bestAlternative = Math.min(this.#bestAlternative, elapsed);
    }
    this.#timed++;
    const decide = calibrating ? this.#imports >= CALIBRATION_IMPORTS : this.#timed >= RECHECK_SAMPLES;
    if (!decide) return;
    // SPKI is the one form every key has: the other is taken only when clearly faster (a near tie stays SPKI).
    this.path = this.#bestAlternative < this.#bestSpki * ALTERNATIVE_MARGIN ? 'alternative' : 'spki';
    this.#timed = 0;
    this.#bestSpki = Number.POSITIVE_INFINITY;
    this.#bestAlternative = Number.POSITIVE_INFINITY;
  }
}
