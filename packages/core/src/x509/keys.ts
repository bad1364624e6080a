/**
 * `@certloop/core` keys: generate key pairs, and import private keys in the forms Vault and openssl emit
 * (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`), normalised to PKCS#8.
 *
 * Errors never carry key material: a bad key is `CERTLOOP_INVALID_KEY` with no details of its content.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { CertloopError } from '../errors.js';
import { type CryptoEngine, type ExternalPrivateKey, isExternalPrivateKey, nodeCryptoEngine } from './crypto-engine.js';
import { optionalEngine, requireObject } from './options.js';
import { PEM_LIMITS, pemEncode, pemSplit } from './pem.js';
import { describePublicKey } from './spki.js';
import { KEY_ALGORITHMS, type KeyAlgorithm, type KeyPair, type PublicKeyInfo } from './types.js';

export interface GenerateKeyPairRequest {
  readonly algorithm: KeyAlgorithm;
  readonly engine?: CryptoEngine | undefined;
}

/** A fresh key pair: PKCS#8 and SPKI PEM. */
export async function generateKeyPair(request: GenerateKeyPairRequest): Promise<KeyPair> {
  requireObject(request, 'generateKeyPair request');
  optionalEngine(request.engine);
  if (!KEY_ALGORITHMS.includes(request.algorithm)) {
    throw new CertloopError(
      'CERTLOOP_UNSUPPORTED_ALGORITHM',
      `unsupported key algorithm ${String(request.algorithm)}`,
      {
        details: { algorithm: request.algorithm },
      },
    );
  }
  const engine = request.engine ?? nodeCryptoEngine;
  const { pkcs8Der, spkiDer } = await engine.generateKeyPair(request.algorithm);
  return {
    algorithm: request.algorithm,
    privateKeyPem: pemEncode('PRIVATE KEY', pkcs8Der),
    publicKeyPem: pemEncode('PUBLIC KEY', spkiDer),
  };
}

export interface ImportedPrivateKey {
  /** Normalised PKCS#8 PEM. */
  readonly privateKeyPem: string;
  /** SPKI PEM of the matching public key. */
  readonly publicKeyPem: string;
  /** Set when the key is one certloop generates (RSA of another size has none). */
  readonly algorithm?: KeyAlgorithm;
  readonly publicKey: PublicKeyInfo;
}

/** The DER forms behind {@link ImportedPrivateKey} (internal: what signing code imports into an engine). */
export interface LoadedPrivateKey {
  readonly pkcs8Der: Uint8Array;
  readonly spkiDer: Uint8Array;
  readonly info: PublicKeyInfo;
  /** The public half as a node KeyObject, for key-match checks. */
  readonly publicKeyObject: KeyObject;
}

const KEY_FORMATS: Readonly<Record<string, 'pkcs8' | 'pkcs1' | 'sec1'>> = {
  'PRIVATE KEY': 'pkcs8',
  'RSA PRIVATE KEY': 'pkcs1',
  'EC PRIVATE KEY': 'sec1',
};

function invalidKey(message: string, cause?: unknown): CertloopError {
  return new CertloopError('CERTLOOP_INVALID_KEY', message, cause === undefined ? {} : { cause });
}

/**
 * Reads a private key PEM into DER forms. `EC PARAMETERS` blocks (from `openssl ecparam -genkey`) are skipped;
 * encrypted keys are refused (`CERTLOOP_INVALID_KEY`), as are keys on curves certloop does not sign with
 * (`CERTLOOP_UNSUPPORTED_ALGORITHM`).
 */
export function loadPrivateKey(pem: string): LoadedPrivateKey {
  if (typeof pem === 'string' && /Proc-Type:\s*4,ENCRYPTED/.test(pem)) {
    throw invalidKey('encrypted private keys are not supported: decrypt the key first');
  }
  const blocks = pemSplit(pem, { maxBytes: Math.min(PEM_LIMITS.maxBytes, 64 * 1024), maxBlocks: 4 });
  if (blocks.some((b) => b.label === 'ENCRYPTED PRIVATE KEY')) {
    throw invalidKey('encrypted private keys are not supported: decrypt the key first');
  }
  const keyBlocks = blocks.filter((b) => KEY_FORMATS[b.label] !== undefined);
  if (keyBlocks.length !== 1) {
    throw new CertloopError('CERTLOOP_INVALID_PEM', 'expected exactly one PRIVATE KEY block', {
      details: { labels: blocks.map((b) => b.label) },
    });
  }
  const block = keyBlocks[0]!;
  let privateKey: KeyObject;
  try {
    const type = KEY_FORMATS[block.label]!;
    privateKey = createPrivateKey({ key: Buffer.from(block.der), format: 'der', type });
  } catch (err) {
    throw invalidKey(`the ${block.label} block does not hold a valid key`, err);
  }
  // OpenSSL may accept a key at import and fail only when deriving or exporting (an EC scalar longer than the
  // curve's order gives ERR_OSSL_EC_BUFFER_TOO_SMALL): every step is inside the typed error.
  let publicKeyObject: KeyObject;
  let spkiDer: Uint8Array;
  let pkcs8Der: Uint8Array;
  try {
    publicKeyObject = createPublicKey(privateKey);
    spkiDer = new Uint8Array(publicKeyObject.export({ type: 'spki', format: 'der' }));
    pkcs8Der = new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' }));
  } catch (err) {
    throw invalidKey(`the ${block.label} block does not hold a usable key`, err);
  }
  const info = describePublicKey(spkiDer, { checkPoint: false }); // exported by OpenSSL from a loaded key
  return { pkcs8Der, spkiDer, info, publicKeyObject };
}

/**
 * True when two public keys are the same key. Keys of different types or curves are told apart before
 * `KeyObject.equals` is asked: OpenSSL answers those with an error it leaves queued, which then fails the next,
 * unrelated key import in the process.
 */
export function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  if (a.asymmetricKeyType !== b.asymmetricKeyType) return false;
  if (a.asymmetricKeyDetails?.namedCurve !== b.asymmetricKeyDetails?.namedCurve) return false;
  return a.equals(b);
}

/** Imports a private key PEM (PKCS#8, PKCS#1 or SEC1) and normalises it to PKCS#8. */
export function importPrivateKey(pem: string): ImportedPrivateKey {
  const loaded = loadPrivateKey(pem);
  return {
    privateKeyPem: pemEncode('PRIVATE KEY', loaded.pkcs8Der),
    publicKeyPem: pemEncode('PUBLIC KEY', loaded.spkiDer),
    ...(loaded.info.algorithm ? { algorithm: loaded.info.algorithm } : {}),
    publicKey: loaded.info,
  };
}

/** Internal: a signing key given as PEM or held elsewhere, in the form the issuance code prepares an issuer with. */
export interface SigningKeyParts {
  readonly spkiDer: Uint8Array;
  readonly info: PublicKeyInfo;
  readonly issuerKey: { readonly pkcs8Der: Uint8Array } | { readonly externalKey: ExternalPrivateKey };
}

/** Reads a PEM key (as {@link loadPrivateKey}) or takes an external key's public half. */
export function signingKey(key: string | ExternalPrivateKey): SigningKeyParts {
  if (isExternalPrivateKey(key)) {
    return { spkiDer: key.spkiDer, info: key.info, issuerKey: { externalKey: key } };
  }
  const loaded = loadPrivateKey(key);
  return { spkiDer: loaded.spkiDer, info: loaded.info, issuerKey: { pkcs8Der: loaded.pkcs8Der } };
}
