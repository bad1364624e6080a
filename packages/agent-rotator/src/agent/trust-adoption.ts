/**
 * `@certloop/agent-rotator` trust-bundle adoption: what an agent checks before it takes the roots its relay server
 * sent (a CA rotation's prepare publishes {A, B}, its retire {B}).
 *
 * - The bundle must parse, strictly and within bounds, with core's PEM and X.509 parsers, as CA certificates only.
 * - The server certificate of the agent's current, authenticated connection must still validate against it (core's
 *   `validateChain`, `serverAuth`), so that adopting it can never cut the agent off from the server it trusts now.
 * Every refusal is a `CERTLOOP_TRUST_BUNDLE_REFUSED` whose `details.refusal` says why.
 */
import {
  CertloopError,
  type Clock,
  inspectCertificate,
  joinPemBundle,
  pemEncode,
  pemSplit,
  trustBundleDigest,
  validateChain,
} from '@certloop/core';
import type { ServerChain } from './channel.js';

export type TrustBundleRefusal = 'unreadable' | 'not-a-ca' | 'locks-out' | 'no-server-certificate' | 'bring-your-own';

/** Bounds of a bundle an agent accepts from its server. */
export const TRUST_BUNDLE_LIMITS = { maxBytes: 64 * 1024, maxCertificates: 16 } as const;

export function trustBundleRefused(
  refusal: TrustBundleRefusal,
  message: string,
  options: { cause?: unknown; digest?: string } = {},
): CertloopError {
  return new CertloopError('CERTLOOP_TRUST_BUNDLE_REFUSED', message, {
    ...(options.cause === undefined ? {} : { cause: options.cause }),
    details: { refusal, ...(options.digest ? { digest: options.digest } : {}) },
  });
}

/** An offered bundle, read: its canonical PEM (one block per certificate) and its digest. */
export interface OfferedBundle {
  readonly pem: string;
  readonly digest: string;
}

/** Reads what the server sent; throws `CERTLOOP_TRUST_BUNDLE_REFUSED` (`unreadable`, `not-a-ca`). */
export function readOfferedBundle(text: string): OfferedBundle {
  let pems: string[];
  try {
    if (typeof text !== 'string') throw new CertloopError('CERTLOOP_INVALID_PEM', 'the bundle is not text');
    const blocks = pemSplit(text, {
      maxBytes: TRUST_BUNDLE_LIMITS.maxBytes,
      maxBlocks: TRUST_BUNDLE_LIMITS.maxCertificates,
    });
    pems = blocks.map((block) => {
      if (block.label !== 'CERTIFICATE') {
        throw new CertloopError('CERTLOOP_INVALID_PEM', `expected CERTIFICATE blocks, got ${block.label}`);
      }
      return pemEncode('CERTIFICATE', block.der);
    });
  } catch (err) {
    throw trustBundleRefused('unreadable', 'the trust bundle the server sent is not a bundle of certificates', {
      cause: err,
    });
  }
  for (const pem of pems) {
    let isCA: boolean;
    try {
      isCA = inspectCertificate(pem).isCA;
    } catch (err) {
      throw trustBundleRefused('unreadable', 'the trust bundle the server sent holds an unreadable certificate', {
        cause: err,
      });
    }
    if (!isCA)
      throw trustBundleRefused('not-a-ca', 'the trust bundle the server sent holds a certificate that is not a CA');
  }
  const pem = joinPemBundle(pems);
  return { pem, digest: trustBundleDigest(pem) };
}

/**
 * Checks that the server certificate of the current connection validates against `bundle`; throws
 * `CERTLOOP_TRUST_BUNDLE_REFUSED` (`no-server-certificate`, `locks-out`).
 */
export async function assertKeepsServer(bundle: OfferedBundle, chain: ServerChain | undefined, clock: Clock) {
  if (!chain) {
    throw trustBundleRefused('no-server-certificate', 'no authenticated connection to check the trust bundle with', {
      digest: bundle.digest,
    });
  }
  try {
    await validateChain({
      leafPem: chain.leafPem,
      ...(chain.intermediatesPem ? { intermediatesPem: chain.intermediatesPem } : {}),
      trustBundlePem: bundle.pem,
      usage: 'serverAuth',
      clock,
    });
  } catch (err) {
    throw trustBundleRefused(
      'locks-out',
      'the server certificate of the current connection does not validate against the offered trust bundle',
      { cause: err, digest: bundle.digest },
    );
  }
}
