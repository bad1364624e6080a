/**
 * `@certloop/core` CryptoEngine: the seam between the X.509 engine and whatever does the cryptography.
 *
 * {@link nodeCryptoEngine} (the default) works on `node:crypto` KeyObjects, synchronously under a promise, which
 * is the fastest path in Node. {@link createWebCryptoEngine} adapts any WebCrypto implementation (Node's
 * `globalThis.crypto`, `@peculiar/webcrypto`, a browser's). Keys cross the seam as DER (PKCS#8 and SPKI);
 * signatures cross it in their X.509 form (ECDSA as a DER `Ecdsa-Sig-Value`, whatever the provider speaks).
 */
import * as nodeCrypto from 'node:crypto';
import { promisify } from 'node:util';
import { CertloopError } from '../errors.js';
import { ecdsaDerToRaw, ecdsaRawToDer } from './ecdsa-signature.js';
import { ALTERNATIVE, type ImportPath, ImportPathChooser, SPKI, TIMED_SPKI } from './import-path.js';
import { readSpki } from './spki.js';
import type { KeyAlgorithm, PublicKeyInfo } from './types.js';

export type HashName = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

/** An imported key: opaque to callers apart from what kind of key it is. */
export interface EngineKey {
  readonly kind: 'private' | 'public';
  readonly info: PublicKeyInfo;
}

export interface EngineKeyPair {
  /** PKCS#8 PrivateKeyInfo, DER. */
  readonly pkcs8Der: Uint8Array;
  /** SubjectPublicKeyInfo, DER. */
  readonly spkiDer: Uint8Array;
}

export interface EngineSignRequest {
  readonly key: EngineKey;
  /** The digest; absent for Ed25519 (which hashes internally). */
  readonly hash?: HashName;
  readonly data: Uint8Array;
}

export interface EngineVerifyRequest extends EngineSignRequest {
  /** As X.509 carries it: DER `Ecdsa-Sig-Value` for ECDSA, raw for RSA and Ed25519. */
  readonly signature: Uint8Array;
}

/**
 * Contract: every method is safe for concurrent use; keys returned by one engine are only ever given back to
 * the same engine; `verify` resolves `false` (never throws) for a signature that does not verify, including a
 * malformed one; `importPrivateKey`/`importPublicKey` reject with `CERTLOOP_INVALID_KEY` when the DER does not
 * hold the key `info` describes; `generateKeyPair` supports every {@link KeyAlgorithm}.
 */
export interface CryptoEngine {
  readonly name: string;
  generateKeyPair(algorithm: KeyAlgorithm): Promise<EngineKeyPair>;
  importPrivateKey(pkcs8Der: Uint8Array, info: PublicKeyInfo): Promise<EngineKey>;
  importPublicKey(spkiDer: Uint8Array, info: PublicKeyInfo): Promise<EngineKey>;
  sign(request: EngineSignRequest): Promise<Uint8Array>;
  verify(request: EngineVerifyRequest): Promise<boolean>;
}

/**
 * A private key held outside this process (a PKCS#11 token, a KMS): its public half and a way to sign with it. The
 * key itself never crosses the seam, so code given one (a CA, a self-signed root, a CSR) signs through it instead of
 * importing a PKCS#8 key into an engine.
 *
 * Contract: `sign` is safe for concurrent use; it hashes `data` with `hash` (Ed25519 has none) and gives the
 * signature in its X.509 form (DER `Ecdsa-Sig-Value` for ECDSA, raw for RSA PKCS#1 v1.5 and Ed25519); it fails with
 * a `CertloopError` that carries no key material and no secret (a PIN). `spkiDer` is the key's SubjectPublicKeyInfo
 * and `info` describes it.
 */
export interface ExternalPrivateKey {
  /** Where the key lives, for messages and events (e.g. a `pkcs11:` URI without its PIN). */
  readonly description: string;
  readonly spkiDer: Uint8Array;
  readonly info: PublicKeyInfo;
  sign(request: { readonly hash?: HashName; readonly data: Uint8Array }): Promise<Uint8Array>;
}

/** Whether `value` is an {@link ExternalPrivateKey} (a PEM string is not). */
export function isExternalPrivateKey(value: unknown): value is ExternalPrivateKey {
  const key = value as Partial<ExternalPrivateKey> | null;
  return (
    typeof key === 'object' &&
    key !== null &&
    typeof key.sign === 'function' &&
    key.spkiDer instanceof Uint8Array &&
    typeof key.info === 'object'
  );
}

/**
 * An engine that signs with `external` (given back as the returned `key`) and does all else with `base`. What the
 * issuance code prepares an issuer with when the issuer's key is an {@link ExternalPrivateKey}.
 */
export function externalKeyEngine(
  external: ExternalPrivateKey,
  base: CryptoEngine = nodeCryptoEngine,
): { engine: CryptoEngine; key: EngineKey } {
  const key: EngineKey = Object.freeze({ kind: 'private' as const, info: external.info });
  const engine: CryptoEngine = {
    name: `${base.name}+external`,
    generateKeyPair: (algorithm) => base.generateKeyPair(algorithm),
    importPrivateKey: (der, info) => base.importPrivateKey(der, info),
    importPublicKey: (der, info) => base.importPublicKey(der, info),
    sign: (request) =>
      request.key === key
        ? external.sign({ ...(request.hash ? { hash: request.hash } : {}), data: request.data })
        : base.sign(request),
    verify: (request) => base.verify(request),
  };
  return { engine, key };
}

function invalidKey(cause: unknown): CertloopError {
  return new CertloopError('CERTLOOP_INVALID_KEY', 'the key could not be imported', { cause });
}

function unsupportedAlgorithm(algorithm: string): CertloopError {
  return new CertloopError('CERTLOOP_UNSUPPORTED_ALGORITHM', `unsupported key algorithm ${algorithm}`, {
    details: { algorithm },
  });
}

const buffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

// ------------------------------------------------------------------ node:crypto

interface NodeKey extends EngineKey {
  readonly keyObject: nodeCrypto.KeyObject;
}

const NODE_HASH: Readonly<Record<HashName, string>> = {
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
};

const generateKeyPairAsync = promisify(nodeCrypto.generateKeyPair);

function nodeKeyGenParams(algorithm: KeyAlgorithm): ['ec' | 'rsa' | 'ed25519', object] {
  switch (algorithm) {
    case 'ECDSA-P256':
      return ['ec', { namedCurve: 'P-256' }];
    case 'ECDSA-P384':
      return ['ec', { namedCurve: 'P-384' }];
    case 'RSA-2048':
    case 'RSA-3072':
    case 'RSA-4096':
      return ['rsa', { modulusLength: Number(algorithm.slice(4)), publicExponent: 0x10001 }];
    case 'Ed25519':
      return ['ed25519', {}];
    default:
      throw unsupportedAlgorithm(String(algorithm));
  }
}

const base64url = (bytes: Uint8Array): string => buffer(bytes).toString('base64url');

/**
 * The same public key in another form than SPKI, when there is one Node imports faster on some OpenSSL: PKCS#1
 * for RSA, JWK for P-256 and Ed25519. Undefined for anything else (the SPKI path then reports any error).
 * `bits` is the subjectPublicKey the caller already read from `spkiDer`, if it has.
 */
function alternativeImport(
  spkiDer: Uint8Array,
  info: PublicKeyInfo,
  bits?: Uint8Array,
): (() => nodeCrypto.KeyObject) | undefined {
  try {
    const key = bits ?? readSpki(spkiDer).publicKeyBytes;
    if (info.type === 'RSA') {
      return () => nodeCrypto.createPublicKey({ key: buffer(key), format: 'der', type: 'pkcs1' });
    }
    if (info.type === 'Ed25519' && key.length === 32) {
      const jwk = { kty: 'OKP', crv: 'Ed25519', x: base64url(key) };
      return () => nodeCrypto.createPublicKey({ key: jwk, format: 'jwk' });
    }
    if (info.curve === 'P-256' && key.length === 65 && key[0] === 4) {
      const jwk = { kty: 'EC', crv: 'P-256', x: base64url(key.subarray(1, 33)), y: base64url(key.subarray(33)) };
      return () => nodeCrypto.createPublicKey({ key: jwk, format: 'jwk' });
    }
  } catch {
    // the generic path reports the error
  }
  return undefined;
}

/** The import form chosen per kind of key (see import-path.ts). */
const calibrations = new Map<string, ImportPathChooser>();

/** Internal: the path chosen for a kind of key (`undefined` while it is still being measured), for tests. */
export function publicKeyImportPath(info: PublicKeyInfo): ImportPath | undefined {
  return calibrations.get(importKind(info))?.path;
}

/** The kind of key, as a constant string (no string built per import): the curve for EC, else the type. */
const importKind = (info: PublicKeyInfo): string => (info.type === 'ECDSA' ? (info.curve ?? 'ECDSA') : info.type);

function spkiImport(spkiDer: Uint8Array): nodeCrypto.KeyObject {
  // Node reads the DER from any ArrayBufferView: no Buffer wrapper to make.
  return nodeCrypto.createPublicKey({ key: spkiDer as Buffer, format: 'der', type: 'spki' });
}

/** The key in the form that imports fastest on this Node, as measured (see import-path.ts). */
function fastPublicKey(spkiDer: Uint8Array, info: PublicKeyInfo, bits?: Uint8Array): nodeCrypto.KeyObject {
  const kind = importKind(info);
  let chooser = calibrations.get(kind);
  if (!chooser) {
    chooser = new ImportPathChooser();
    calibrations.set(kind, chooser);
  }
  const step = chooser.next();
  if (step === SPKI) return spkiImport(spkiDer);
  const alternative = alternativeImport(spkiDer, info, bits);
  if (!alternative) return spkiImport(spkiDer);
  if (step === ALTERNATIVE) {
    try {
      return alternative();
    } catch {
      return spkiImport(spkiDer);
    }
  }
  const started = performance.now();
  let key: nodeCrypto.KeyObject;
  try {
    key = step === TIMED_SPKI ? spkiImport(spkiDer) : alternative();
  } catch {
    // a key only the SPKI path can judge: it reports the error (or imports it), and nothing is counted
    return spkiImport(spkiDer);
  }
  chooser.record(step, performance.now() - started);
  return key;
}

function asNodeKey(key: EngineKey): NodeKey {
  const keyObject = (key as Partial<NodeKey>).keyObject;
  if (!keyObject) throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'key was not imported by nodeCryptoEngine');
  return key as NodeKey;
}

const nodeHash = (key: EngineKey, hash: HashName | undefined): string | null =>
  key.info.type === 'Ed25519' ? null : NODE_HASH[hash ?? 'SHA-256'];

/**
 * Internal: {@link nodeCryptoEngine}'s work, synchronously, for the issuance hot path (which calls these directly
 * when its engine is the node engine, instead of going through a promise per step). Same results and errors as
 * the engine's methods; `sign` gives Node's Buffer as it is (ECDSA signatures are DER, Node's default encoding).
 */
export const nodeSync = {
  /** `bits`: the subjectPublicKey of `spkiDer`, when the caller has already read it. */
  importPublicKey(spkiDer: Uint8Array, info: PublicKeyInfo, bits?: Uint8Array): EngineKey {
    try {
      const key: NodeKey = { kind: 'public', info, keyObject: fastPublicKey(spkiDer, info, bits) };
      return key;
    } catch (err) {
      throw invalidKey(err);
    }
  },
  sign({ key, hash, data }: EngineSignRequest): Uint8Array {
    return nodeCrypto.sign(nodeHash(key, hash), data, asNodeKey(key).keyObject);
  },
  verify({ key, hash, data, signature }: EngineVerifyRequest): boolean {
    const keyObject = asNodeKey(key).keyObject;
    try {
      return nodeCrypto.verify(nodeHash(key, hash), data, keyObject, signature);
    } catch {
      return false;
    }
  },
};

/** The default engine: `node:crypto` KeyObjects; signing and verifying run synchronously (fastest in Node). */
export const nodeCryptoEngine: CryptoEngine = {
  name: 'node:crypto',
  async generateKeyPair(algorithm) {
    const [type, options] = nodeKeyGenParams(algorithm);
    // RSA generation takes long enough to deserve the thread pool; EC and Ed25519 are quicker inline.
    const pair =
      type === 'rsa'
        ? await generateKeyPairAsync('rsa', options as nodeCrypto.RSAKeyPairKeyObjectOptions)
        : nodeCrypto.generateKeyPairSync(type as 'ec', options as nodeCrypto.ECKeyPairKeyObjectOptions);
    return {
      pkcs8Der: new Uint8Array(pair.privateKey.export({ type: 'pkcs8', format: 'der' })),
      spkiDer: new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' })),
    };
  },
  async importPrivateKey(pkcs8Der, info) {
    try {
      const keyObject = nodeCrypto.createPrivateKey({ key: buffer(pkcs8Der), format: 'der', type: 'pkcs8' });
      return { kind: 'private', info, keyObject } satisfies NodeKey;
    } catch (err) {
      throw invalidKey(err);
    }
  },
  importPublicKey: async (spkiDer, info) => nodeSync.importPublicKey(spkiDer, info),
  sign: async (request) => new Uint8Array(nodeSync.sign(request)),
  verify: async (request) => nodeSync.verify(request),
};

// ------------------------------------------------------------------ WebCrypto

/** The part of WebCrypto's `Crypto` the engine uses (structural, so any implementation fits). */
export interface WebCryptoLike {
  readonly subtle: nodeCrypto.webcrypto.SubtleCrypto;
}

type WebKey = nodeCrypto.webcrypto.CryptoKey;

interface WebEngineKey extends EngineKey {
  readonly der: Uint8Array;
  /** CryptoKeys by hash: WebCrypto binds RSA keys to one hash at import. */
  readonly imported: Map<string, Promise<WebKey>>;
}

const EC_SIZES: Readonly<Record<string, number>> = { 'P-256': 32, 'P-384': 48 };

function webImportAlgorithm(info: PublicKeyInfo, hash: HashName | undefined) {
  switch (info.type) {
    case 'RSA':
      return { name: 'RSASSA-PKCS1-v1_5', hash: hash ?? 'SHA-256' };
    case 'ECDSA':
      return { name: 'ECDSA', namedCurve: info.curve ?? 'P-256' };
    case 'Ed25519':
      return { name: 'Ed25519' };
  }
}

function webSignAlgorithm(info: PublicKeyInfo, hash: HashName | undefined) {
  return info.type === 'ECDSA' ? { name: 'ECDSA', hash: hash ?? 'SHA-256' } : webImportAlgorithm(info, hash);
}

function webKeyGenAlgorithm(algorithm: KeyAlgorithm) {
  switch (algorithm) {
    case 'ECDSA-P256':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'ECDSA-P384':
      return { name: 'ECDSA', namedCurve: 'P-384' };
    case 'RSA-2048':
    case 'RSA-3072':
    case 'RSA-4096':
      return {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: Number(algorithm.slice(4)),
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      };
    case 'Ed25519':
      return { name: 'Ed25519' };
    default:
      throw unsupportedAlgorithm(String(algorithm));
  }
}

/** An engine over any WebCrypto implementation. Ed25519 works where the provider supports it. */
export function createWebCryptoEngine(crypto: WebCryptoLike): CryptoEngine {
  if (typeof crypto !== 'object' || crypto === null || typeof crypto.subtle !== 'object' || crypto.subtle === null) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'createWebCryptoEngine needs a WebCrypto object with subtle');
  }
  const subtle = crypto.subtle;

  const cryptoKey = (key: EngineKey, hash: HashName | undefined): Promise<WebKey> => {
    const webKey = key as Partial<WebEngineKey>;
    if (!webKey.imported || !webKey.der) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'key was not imported by this WebCrypto engine');
    }
    const slot = key.info.type === 'RSA' ? (hash ?? 'SHA-256') : '';
    let pending = webKey.imported.get(slot);
    if (!pending) {
      const format = key.kind === 'private' ? 'pkcs8' : 'spki';
      const usages: nodeCrypto.webcrypto.KeyUsage[] = key.kind === 'private' ? ['sign'] : ['verify'];
      pending = subtle.importKey(format, webKey.der, webImportAlgorithm(key.info, hash), false, usages);
      webKey.imported.set(slot, pending);
    }
    return pending;
  };

  const importKey = async (kind: 'private' | 'public', der: Uint8Array, info: PublicKeyInfo) => {
    const key: WebEngineKey = { kind, info, der: new Uint8Array(der), imported: new Map() };
    try {
      await cryptoKey(key, undefined);
    } catch (err) {
      throw invalidKey(err);
    }
    return key as EngineKey;
  };

  return {
    name: 'webcrypto',
    async generateKeyPair(algorithm) {
      const usages: nodeCrypto.webcrypto.KeyUsage[] = ['sign', 'verify'];
      const pair = (await subtle.generateKey(
        webKeyGenAlgorithm(algorithm),
        true,
        usages,
      )) as nodeCrypto.webcrypto.CryptoKeyPair;
      const [pkcs8, spki] = await Promise.all([
        subtle.exportKey('pkcs8', pair.privateKey),
        subtle.exportKey('spki', pair.publicKey),
      ]);
      return { pkcs8Der: new Uint8Array(pkcs8), spkiDer: new Uint8Array(spki) };
    },
    importPrivateKey: (der, info) => importKey('private', der, info),
    importPublicKey: (der, info) => importKey('public', der, info),
    async sign({ key, hash, data }) {
      const signature = new Uint8Array(
        await subtle.sign(webSignAlgorithm(key.info, hash), await cryptoKey(key, hash), data),
      );
      return key.info.type === 'ECDSA' ? ecdsaRawToDer(signature) : signature;
    },
    async verify({ key, hash, data, signature }) {
      let raw = signature;
      if (key.info.type === 'ECDSA') {
        const size = EC_SIZES[key.info.curve ?? ''];
        const converted = size ? ecdsaDerToRaw(signature, size) : undefined;
        if (!converted) return false;
        raw = converted;
      }
      try {
        return await subtle.verify(webSignAlgorithm(key.info, hash), await cryptoKey(key, hash), raw, data);
      } catch {
        return false;
      }
    },
  };
}
