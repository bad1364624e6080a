/**
 * Internal (`@certloop/core` ca-rotation): the typed refusal every step raises.
 */
import { CertloopError } from '../errors.js';
import type { CaRotationRefusal } from './types.js';

export function refusal(kind: CaRotationRefusal, message: string, hint: string, details: Record<string, unknown> = {}) {
  return new CertloopError('CERTLOOP_CA_ROTATION_REFUSED', message, { details: { ...details, refusal: kind, hint } });
}

export function refuse(
  kind: CaRotationRefusal,
  message: string,
  hint: string,
  details?: Record<string, unknown>,
): never {
  throw refusal(kind, message, hint, details);
}
