/**
 * `@certloop/core` rotator events: what a {@link Rotator} reports, in order, for one credential.
 */
import type { CertloopError } from '../errors.js';

export type RotatorEvent =
  | { readonly type: 'scheduled'; readonly name: string; readonly renewAt: Date; readonly serialNumber?: string }
  | { readonly type: 'started'; readonly name: string; readonly attempt: number }
  /**
   * The stored certificate is not valid yet on this host's wall clock (typically after the clock stepped back
   * before its notBefore): it cannot serve, so it is rotated at once rather than waited for.
   */
  | {
      readonly type: 'not-yet-valid';
      readonly name: string;
      readonly serialNumber: string;
      readonly notBefore: Date;
      /** The wall time it was found not yet valid at. */
      readonly checkedAt: Date;
    }
  | {
      readonly type: 'succeeded';
      readonly name: string;
      readonly serialNumber: string;
      readonly notBefore: Date;
      readonly notAfter: Date;
      readonly version: string;
    }
  | {
      readonly type: 'failed';
      readonly name: string;
      readonly attempt: number;
      readonly error: CertloopError;
      readonly retryAt: Date;
    }
  /**
   * The stored certificate was issued by another CA than the one now active (a CA rotation's drain): it is renewed
   * now, whatever its renewal time. Reported once per certificate.
   */
  | {
      readonly type: 'issuer-changed';
      readonly name: string;
      readonly serialNumber: string;
      /** The stored certificate's authorityKeyIdentifier (lower-case hex), when it has one. */
      readonly issuerKeyId: string | undefined;
      readonly activeIssuerKeyId: string;
    }
  | { readonly type: 'skipped-not-leader'; readonly name: string }
  | { readonly type: 'skipped-bring-your-own'; readonly name: string }
  /** Someone else stored a newer certificate first; ours was discarded. */
  | { readonly type: 'superseded'; readonly name: string; readonly serialNumber: string };
