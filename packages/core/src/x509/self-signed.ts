/**
 * `@certloop/core` self-signed CA: a root certificate for an existing key.
 */
import { type Clock, systemClock } from '../clock/index.js';
import { CertloopError } from '../errors.js';
import {
  buildCertificate,
  prepareIssuer,
  profileExtensions,
  randomSerialNumber,
  serialHex,
  wholeSeconds,
} from './certificate-builder.js';
import type { CryptoEngine, ExternalPrivateKey } from './crypto-engine.js';
import { keyIdentifier } from './extensions-writer.js';
import { signingKey } from './keys.js';
import { encodeName } from './name.js';
import { optionalClock, optionalEngine, optionalObject, requireObject } from './options.js';
import type { DistinguishedName } from './types.js';

/** How far notBefore is set back by default, for peers whose clocks run behind. */
export const DEFAULT_BACKDATE_SECONDS = 60;

export interface CreateSelfSignedCaRequest {
  /** PKCS#8, PKCS#1 or SEC1 PEM; or the key where it is held (a token), which then signs the certificate. */
  readonly privateKeyPem: string | ExternalPrivateKey;
  /** Must name the CA: a commonName is required. */
  readonly subject: DistinguishedName;
  /** Validity from now; notAfter = now + lifetimeSeconds. */
  readonly lifetimeSeconds: number;
  /** pathLenConstraint; unconstrained when absent. */
  readonly pathLength?: number | undefined;
  /** Defaults to now minus {@link DEFAULT_BACKDATE_SECONDS}. */
  readonly notBefore?: Date | undefined;
  readonly clock?: Clock | undefined;
  readonly engine?: CryptoEngine | undefined;
}

export interface SelfSignedCa {
  readonly certificatePem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Lower-case hex. */
  readonly serialNumber: string;
}

/**
 * Creates a self-signed CA certificate: critical basicConstraints CA:TRUE (with pathLen when given), critical
 * keyUsage keyCertSign, cRLSign and digitalSignature, SKI and a matching AKI.
 */
export async function createSelfSignedCa(request: CreateSelfSignedCaRequest): Promise<SelfSignedCa> {
  requireObject(request, 'createSelfSignedCa request');
  optionalObject(request.subject, 'subject');
  optionalClock(request.clock);
  optionalEngine(request.engine);
  if (!request.subject?.commonName) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'a CA subject needs a commonName');
  }
  if (!Number.isFinite(request.lifetimeSeconds) || request.lifetimeSeconds <= 0) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'lifetimeSeconds must be positive', {
      details: { lifetimeSeconds: request.lifetimeSeconds },
    });
  }
  if (request.pathLength !== undefined && (!Number.isSafeInteger(request.pathLength) || request.pathLength < 0)) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'pathLength must be a non-negative integer');
  }
  const key = signingKey(request.privateKeyPem);
  const now = wholeSeconds((request.clock ?? systemClock).now());
  const notBefore = wholeSeconds(request.notBefore ?? new Date(now.getTime() - DEFAULT_BACKDATE_SECONDS * 1000));
  const notAfter = new Date(now.getTime() + Math.floor(request.lifetimeSeconds) * 1000);
  const nameDer = encodeName(request.subject);
  const keyId = keyIdentifier(key.spkiDer);
  const issuer = await prepareIssuer({
    nameDer,
    keyIdentifier: keyId,
    ...key.issuerKey,
    info: key.info,
    engine: request.engine,
  });
  const serialNumber = randomSerialNumber();
  const { pem } = await buildCertificate(issuer, {
    serialNumber,
    notBefore,
    notAfter,
    subjectDer: nameDer,
    spkiDer: key.spkiDer,
    extensions: profileExtensions({
      profile: 'ca',
      subjectKey: key.info,
      subjectKeyIdentifier: keyId,
      authorityKeyIdentifier: keyId,
      subjectEmpty: false,
      pathLength: request.pathLength,
    }),
  });
  return { certificatePem: pem, notBefore, notAfter, serialNumber: serialHex(serialNumber) };
}
