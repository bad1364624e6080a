/**
 * `@certloop/pkcs11` Pkcs11Token: one token in a PKCS#11 module, reached by an RFC 7512 URI, with a pool of
 * logged-in sessions; it makes and finds CA keys there and hands them out as core `ExternalPrivateKey`s.
 *
 * Keys certloop makes are token objects, private, sensitive and never extractable (CKA_SENSITIVE true,
 * CKA_EXTRACTABLE false), for signing only. A key found by label or id is checked the same way before it is used:
 * an extractable or non-sensitive key, one that may not sign, or one certloop does not sign CAs with (RSA under
 * 2048 bits, curves other than P-256 and P-384) is refused with `CERTLOOP_PKCS11_KEY_REJECTED`.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  CertloopError,
  type ExternalPrivateKey,
  ecdsaRawToDer,
  type HashName,
  type KeyAlgorithm,
  type PublicKeyInfo,
  parseCertificate,
  pemDecode,
  pemEncode,
  throwIfAborted,
} from '@certloop/core';
import { pkcs11Error } from './errors.js';
import {
  checkTokenKey,
  ecSpki,
  generationTemplates,
  isTokenKeyAlgorithm,
  mechanismInput,
  rsaSpki,
  signatureSize,
  TOKEN_KEY_ALGORITHMS,
} from './key-material.js';
import { findSlot, type Handle, type LoadedModule, loadModule, resolveModulePath } from './module.js';
import { type PoolStats, SessionPool } from './session-pool.js';
import { formatPkcs11Uri, type Pkcs11Uri, parsePkcs11Uri } from './uri.js';

export interface OpenPkcs11TokenOptions {
  /** The token (and, for {@link openPkcs11Key}, the key): `pkcs11:token=...?module-path=...&pin-source=...`. */
  readonly uri: string | Pkcs11Uri;
  /** The user PIN, instead of the URI's `pin-value` or `pin-source` (say from an environment variable). */
  readonly pin?: string | undefined;
  /** The module when the URI names none. */
  readonly modulePath?: string | undefined;
  /** Most sessions open at once (default 8): concurrent signatures up to this many run side by side. */
  readonly maxSessions?: number | undefined;
  /** Most callers waiting for a session before `CERTLOOP_PKCS11_SESSION_LIMIT` (default 1024). */
  readonly maxWaiting?: number | undefined;
}

/** Which key: by label (CKA_LABEL), by id (CKA_ID), or both. */
export interface KeySelector {
  readonly label?: string | undefined;
  readonly id?: Uint8Array | undefined;
}

export interface GenerateKeyRequest {
  readonly label: string;
  /** CKA_ID; default 16 random bytes. */
  readonly id?: Uint8Array | undefined;
  /** Default ECDSA-P256. */
  readonly algorithm?: KeyAlgorithm | undefined;
}

export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
}

/** The attributes that say what a token key can be used for and whether it can leave the token. */
export interface TokenKeyAttributes {
  readonly token: boolean;
  readonly private: boolean;
  readonly sensitive: boolean;
  readonly extractable: boolean;
  readonly alwaysSensitive: boolean;
  readonly neverExtractable: boolean;
  readonly sign: boolean;
}

/** A private key on a token; signs through the token's session pool. Its private half never leaves the token. */
export interface Pkcs11PrivateKey extends ExternalPrivateKey {
  readonly label: string;
  readonly id: Uint8Array;
  /** `pkcs11:token=...;object=...;id=...;type=private` (no module, no PIN). */
  readonly uri: string;
}

const textOf = (value: Buffer | undefined) => (value ? value.toString('utf8') : '');
const flag = (value: Buffer | undefined) => value !== undefined && value.length > 0 && value[0] !== 0;

function notFound(what: string, selector: KeySelector, token: string): CertloopError {
  return new CertloopError('CERTLOOP_PKCS11_OBJECT_NOT_FOUND', `no ${what} on token ${token} matches`, {
    details: {
      token,
      ...(selector.label !== undefined ? { label: selector.label } : {}),
      ...(selector.id ? { id: Buffer.from(selector.id).toString('hex') } : {}),
    },
  });
}

export class Pkcs11Token {
  readonly #module: LoadedModule;
  readonly #pool: SessionPool;
  readonly #creating = new Map<string, Promise<Pkcs11PrivateKey>>();
  /** The token's label. */
  readonly label: string;
  /** `pkcs11:token=...` for people: no module path, no PIN. */
  readonly description: string;

  private constructor(
    module: LoadedModule,
    slot: Handle,
    label: string,
    pin: () => Promise<string>,
    o: OpenPkcs11TokenOptions,
  ) {
    this.#module = module;
    this.label = label;
    this.description = formatPkcs11Uri({ token: label, vendor: {} });
    this.#pool = new SessionPool({
      module,
      slot,
      pin,
      ...(o.maxSessions !== undefined ? { maxSessions: o.maxSessions } : {}),
      ...(o.maxWaiting !== undefined ? { maxWaiting: o.maxWaiting } : {}),
    });
  }

  /**
   * Loads the module, finds the token and logs in (so a wrong PIN, a locked PIN or a missing token fails here, not
   * at the first signature). The module stays loaded until every token opened on it is closed. PKCS#11 keeps the
   * login per process and token: while another `Pkcs11Token` of this process is logged in to the same token, the
   * token answers CKR_USER_ALREADY_LOGGED_IN and the PIN given here is not checked again.
   */
  static async open(options: OpenPkcs11TokenOptions, callOptions: CallOptions = {}): Promise<Pkcs11Token> {
    throwIfAborted(callOptions.signal);
    const uri = typeof options.uri === 'string' ? parsePkcs11Uri(options.uri) : options.uri;
    const pin = pinReader(uri, options.pin);
    const module = loadModule(resolveModulePath(uri, options.modulePath));
    try {
      const { slot, label } = findSlot(module, uri);
      const token = new Pkcs11Token(module, slot, label, pin, options);
      await token.#pool.use(() => undefined, callOptions.signal);
      return token;
    } catch (err) {
      module.release();
      throw err;
    }
  }

  /** Sessions open, idle and waited for. */
  get sessions(): PoolStats {
    return this.#pool.stats;
  }

  /** Makes a key pair on the token; `CERTLOOP_CONFLICT` when a key with that label is already there. */
  async generateKey(request: GenerateKeyRequest, options: CallOptions = {}): Promise<Pkcs11PrivateKey> {
    throwIfAborted(options.signal);
    const algorithm = request.algorithm ?? 'ECDSA-P256';
    if (!isTokenKeyAlgorithm(algorithm)) {
      throw new CertloopError(
        'CERTLOOP_UNSUPPORTED_ALGORITHM',
        `certloop makes ${TOKEN_KEY_ALGORITHMS.join(', ')} on tokens`,
        {
          details: { algorithm },
        },
      );
    }
    if (typeof request.label !== 'string' || request.label === '' || request.label.length > 128) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'a token key needs a label of 1 to 128 characters');
    }
    const pending = this.#creating.get(request.label);
    if (pending) await pending.catch(() => undefined);
    if (await this.findKey({ label: request.label }, options)) {
      throw new CertloopError(
        'CERTLOOP_CONFLICT',
        `token ${this.label} already holds a key labelled ${request.label}`,
        {
          details: { token: this.label, label: request.label },
        },
      );
    }
    const id = Buffer.from(request.id ?? randomBytes(16));
    const made = this.#pool
      .use(async (session) => {
        const p11 = this.#module.api;
        const { mechanism, publicTemplate, privateTemplate } = generationTemplates(p11, algorithm, request.label, id);
        try {
          await this.#module.lib.C_GenerateKeyPairAsync(
            session,
            { mechanism },
            publicTemplate as never,
            privateTemplate as never,
          );
        } catch (err) {
          throw pkcs11Error(err, 'C_GenerateKeyPair', { token: this.label, label: request.label, algorithm });
        }
      }, options.signal)
      .then(async () => {
        const key = await this.findKey({ label: request.label, id }, options);
        if (!key) throw notFound('key', { label: request.label, id }, this.label);
        return key;
      });
    this.#creating.set(request.label, made);
    try {
      return await made;
    } finally {
      if (this.#creating.get(request.label) === made) this.#creating.delete(request.label);
    }
  }

  /** The key with `label` (made with `algorithm` when missing); an existing key is kept whatever its algorithm. */
  async ensureKey(request: GenerateKeyRequest, options: CallOptions = {}): Promise<Pkcs11PrivateKey> {
    const pending = this.#creating.get(request.label);
    if (pending) return pending;
    const found = await this.findKey({ label: request.label }, options);
    if (found) return found;
    try {
      return await this.generateKey(request, options);
    } catch (err) {
      // another caller made it meanwhile
      if (err instanceof CertloopError && err.code === 'CERTLOOP_CONFLICT') {
        const raced = await this.findKey({ label: request.label }, options);
        if (raced) return raced;
      }
      throw err;
    }
  }

  /** The private key matching `selector`, checked for use as a CA key; undefined when there is none. */
  async findKey(selector: KeySelector, options: CallOptions = {}): Promise<Pkcs11PrivateKey | undefined> {
    throwIfAborted(options.signal);
    return this.#pool.use((session) => this.#findKey(session, selector), options.signal);
  }

  /** As {@link findKey}, but a missing key is `CERTLOOP_PKCS11_OBJECT_NOT_FOUND`. */
  async key(selector: KeySelector, options: CallOptions = {}): Promise<Pkcs11PrivateKey> {
    const key = await this.findKey(selector, options);
    if (!key) throw notFound('private key', selector, this.label);
    return key;
  }

  /**
   * The private key whose public half is `spkiDer` (a CA certificate's key), or undefined when the token holds none.
   * Keys certloop would refuse (extractable, weak) are passed over, never returned.
   */
  async keyForPublicKey(spkiDer: Uint8Array, options: CallOptions = {}): Promise<Pkcs11PrivateKey | undefined> {
    throwIfAborted(options.signal);
    const wanted = Buffer.from(spkiDer);
    return this.#pool.use((session) => {
      const p11 = this.#module.api;
      for (const handle of this.#findAll(session, p11.CKO_PRIVATE_KEY, {}, 1024)) {
        const [labelValue, idValue] = this.#get(session, handle, [p11.CKA_LABEL, p11.CKA_ID]);
        const selector = idValue?.length ? { id: new Uint8Array(idValue) } : { label: textOf(labelValue) };
        let key: Pkcs11PrivateKey | undefined;
        try {
          key = this.#findKey(session, selector);
        } catch {
          continue; // a key certloop would not sign with, or one it cannot name alone
        }
        if (key && wanted.equals(Buffer.from(key.spkiDer))) return key;
      }
      return undefined;
    }, options.signal);
  }

  /** What the token says about the key: whether it is sensitive, extractable, for signing. */
  async keyAttributes(key: KeySelector, options: CallOptions = {}): Promise<TokenKeyAttributes> {
    return this.#pool.use((session) => {
      const handle = this.#findOne(session, this.#module.api.CKO_PRIVATE_KEY, key);
      if (!handle) throw notFound('private key', key, this.label);
      return this.#attributes(session, handle);
    }, options.signal);
  }

  /** Destroys the key pair (private and public objects) matching `selector`; false when there was none. */
  async destroyKey(selector: KeySelector, options: CallOptions = {}): Promise<boolean> {
    if (selector.label === undefined && !selector.id) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'name the key to destroy by label or id');
    }
    return this.#pool.use((session) => {
      const p11 = this.#module.api;
      let destroyed = false;
      for (const cls of [p11.CKO_PRIVATE_KEY, p11.CKO_PUBLIC_KEY]) {
        for (const handle of this.#findAll(session, cls, selector)) {
          try {
            this.#module.lib.C_DestroyObject(session, handle);
            destroyed = true;
          } catch (err) {
            throw pkcs11Error(err, 'C_DestroyObject', { token: this.label });
          }
        }
      }
      return destroyed;
    }, options.signal);
  }

  /** Stores a certificate on the token beside its key (same label and id), replacing one stored before. */
  async writeCertificate(
    request: { readonly label: string; readonly id?: Uint8Array | undefined; readonly certificatePem: string },
    options: CallOptions = {},
  ): Promise<void> {
    const [first] = request.certificatePem.split(/(?<=-----END CERTIFICATE-----)/);
    const der = pemDecode(first ?? '', ['CERTIFICATE']).der;
    const certificate = parseCertificate(der);
    await this.#pool.use((session) => {
      const p11 = this.#module.api;
      const lib = this.#module.lib;
      const selector = { label: request.label, ...(request.id ? { id: request.id } : {}) };
      try {
        for (const old of this.#findAll(session, p11.CKO_CERTIFICATE, selector)) lib.C_DestroyObject(session, old);
        lib.C_CreateObject(session, [
          { type: p11.CKA_CLASS, value: p11.CKO_CERTIFICATE },
          { type: p11.CKA_CERTIFICATE_TYPE, value: p11.CKC_X_509 },
          { type: p11.CKA_TOKEN, value: true },
          { type: p11.CKA_PRIVATE, value: false },
          { type: p11.CKA_LABEL, value: request.label },
          ...(request.id ? [{ type: p11.CKA_ID, value: Buffer.from(request.id) }] : []),
          { type: p11.CKA_SUBJECT, value: Buffer.from(certificate.subjectDer) },
          { type: p11.CKA_ISSUER, value: Buffer.from(certificate.issuerDer) },
          { type: p11.CKA_VALUE, value: Buffer.from(der) },
        ]);
      } catch (err) {
        throw pkcs11Error(err, 'C_CreateObject', { token: this.label, label: request.label });
      }
    }, options.signal);
  }

  /** The certificate stored on the token under `selector`, PEM; undefined when there is none. */
  async readCertificate(selector: KeySelector, options: CallOptions = {}): Promise<string | undefined> {
    return this.#pool.use((session) => {
      const p11 = this.#module.api;
      const handle = this.#findOne(session, p11.CKO_CERTIFICATE, selector);
      if (!handle) return undefined;
      const [value] = this.#get(session, handle, [p11.CKA_VALUE]);
      return value ? pemEncode('CERTIFICATE', new Uint8Array(value)) : undefined;
    }, options.signal);
  }

  /** Closes the sessions; the module is finalised when the last token on it closes. Idempotent. */
  close(): void {
    this.#pool.close();
    this.#module.release();
  }

  // ---------------------------------------------------------------- internals (run on a pooled session)

  #findAll(session: Handle, cls: number, selector: KeySelector, max = 16): Handle[] {
    const p11 = this.#module.api;
    const lib = this.#module.lib;
    const template = [
      { type: p11.CKA_CLASS, value: cls },
      ...(selector.label !== undefined ? [{ type: p11.CKA_LABEL, value: selector.label }] : []),
      ...(selector.id ? [{ type: p11.CKA_ID, value: Buffer.from(selector.id) }] : []),
    ];
    try {
      lib.C_FindObjectsInit(session, template);
      try {
        return lib.C_FindObjects(session, max);
      } finally {
        lib.C_FindObjectsFinal(session);
      }
    } catch (err) {
      throw pkcs11Error(err, 'C_FindObjects', { token: this.label });
    }
  }

  #findOne(session: Handle, cls: number, selector: KeySelector): Handle | undefined {
    if (selector.label === undefined && !selector.id) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'name the object by label or id');
    }
    const found = this.#findAll(session, cls, selector);
    if (found.length > 1) {
      throw new CertloopError('CERTLOOP_PKCS11_OBJECT_NOT_FOUND', 'several objects match: name one by id', {
        details: { token: this.label, ...(selector.label !== undefined ? { label: selector.label } : {}) },
      });
    }
    return found[0];
  }

  #get(session: Handle, handle: Handle, types: number[]): (Buffer | undefined)[] {
    try {
      const result = this.#module.lib.C_GetAttributeValue(
        session,
        handle,
        types.map((type) => ({ type })),
      );
      return types.map((type) => result.find((a) => a.type === type)?.value);
    } catch (err) {
      throw pkcs11Error(err, 'C_GetAttributeValue', { token: this.label });
    }
  }

  #attributes(session: Handle, handle: Handle): TokenKeyAttributes {
    const p11 = this.#module.api;
    const [token, priv, sensitive, extractable, alwaysSensitive, neverExtractable, sign] = this.#get(session, handle, [
      p11.CKA_TOKEN,
      p11.CKA_PRIVATE,
      p11.CKA_SENSITIVE,
      p11.CKA_EXTRACTABLE,
      p11.CKA_ALWAYS_SENSITIVE,
      p11.CKA_NEVER_EXTRACTABLE,
      p11.CKA_SIGN,
    ]);
    return {
      token: flag(token),
      private: flag(priv),
      sensitive: flag(sensitive),
      extractable: flag(extractable),
      alwaysSensitive: flag(alwaysSensitive),
      neverExtractable: flag(neverExtractable),
      sign: flag(sign),
    };
  }

  #findKey(session: Handle, selector: KeySelector): Pkcs11PrivateKey | undefined {
    const p11 = this.#module.api;
    const handle = this.#findOne(session, p11.CKO_PRIVATE_KEY, selector);
    if (!handle) return undefined;
    const attributes = this.#attributes(session, handle);
    const [labelValue, idValue, keyType] = this.#get(session, handle, [p11.CKA_LABEL, p11.CKA_ID, p11.CKA_KEY_TYPE]);
    const label = textOf(labelValue);
    const id = new Uint8Array(idValue ?? []);
    const where = { token: this.label, label };
    if (!attributes.sign || !attributes.sensitive || attributes.extractable) {
      throw new CertloopError(
        'CERTLOOP_PKCS11_KEY_REJECTED',
        'the token key must be sensitive, not extractable, and allowed to sign',
        {
          details: {
            ...where,
            sensitive: attributes.sensitive,
            extractable: attributes.extractable,
            sign: attributes.sign,
          },
        },
      );
    }
    const type = keyType?.readUIntLE(0, Math.min(keyType.length, 6));
    let publicKey: { spkiDer: Uint8Array; info: PublicKeyInfo };
    if (type === p11.CKK_RSA) {
      const [modulus, exponent] = this.#get(session, handle, [p11.CKA_MODULUS, p11.CKA_PUBLIC_EXPONENT]);
      if (!modulus || !exponent) throw notFound('RSA public half', selector, this.label);
      publicKey = rsaSpki(modulus, exponent);
    } else if (type === p11.CKK_EC) {
      // the point is on the public key object (a private key carries only the curve)
      const publicHandle = this.#findOne(session, p11.CKO_PUBLIC_KEY, { ...(id.length ? { id } : { label }) });
      if (!publicHandle) throw notFound('public key (the EC point)', selector, this.label);
      const [params, point] = this.#get(session, publicHandle, [p11.CKA_EC_PARAMS, p11.CKA_EC_POINT]);
      if (!params || !point) throw notFound('EC point', selector, this.label);
      publicKey = ecSpki(params, point);
    } else {
      throw new CertloopError('CERTLOOP_PKCS11_KEY_REJECTED', 'the token key is neither RSA nor EC', {
        details: where,
      });
    }
    checkTokenKey(publicKey.info);
    return this.#privateKey(handle, label, id, publicKey);
  }

  #privateKey(
    handle: Handle,
    label: string,
    id: Uint8Array,
    publicKey: { spkiDer: Uint8Array; info: PublicKeyInfo },
  ): Pkcs11PrivateKey {
    const p11 = this.#module.api;
    const lib = this.#module.lib;
    const info = publicKey.info;
    const mechanism = { mechanism: info.type === 'RSA' ? p11.CKM_RSA_PKCS : p11.CKM_ECDSA };
    const size = signatureSize(info);
    const uri = formatPkcs11Uri({ token: this.label, object: label, id, type: 'private', vendor: {} });
    const tokenLabel = this.label;
    return Object.freeze({
      description: uri,
      uri,
      label,
      id,
      spkiDer: publicKey.spkiDer,
      info,
      sign: async (request: { readonly hash?: HashName; readonly data: Uint8Array }) => {
        const input = mechanismInput(info, request.hash, request.data);
        const raw = await this.#pool.use(async (session) => {
          try {
            lib.C_SignInit(session, mechanism, handle);
            return await lib.C_SignAsync(session, input, Buffer.alloc(size));
          } catch (err) {
            throw pkcs11Error(err, 'C_Sign', { token: tokenLabel, label });
          }
        });
        return info.type === 'ECDSA' ? ecdsaRawToDer(new Uint8Array(raw)) : new Uint8Array(raw);
      },
    });
  }
}

/** Reads the PIN: the explicit one, the URI's `pin-value`, or the file its `pin-source` names (read at login). */
function pinReader(uri: Pkcs11Uri, pin: string | undefined): () => Promise<string> {
  if (pin !== undefined) return async () => pin;
  if (uri.pinValue !== undefined) {
    const value = uri.pinValue;
    return async () => value;
  }
  const source = uri.pinSource;
  if (source === undefined) {
    throw new CertloopError(
      'CERTLOOP_INVALID_CONFIG',
      'no PIN for the token: add pin-source=/path/to/pin-file to the pkcs11: URI (or give the pin option)',
    );
  }
  let path: string;
  try {
    path = source.startsWith('file:') ? fileURLToPath(source) : source;
  } catch (err) {
    throw new CertloopError('CERTLOOP_PKCS11_URI_INVALID', 'pin-source is a file path or a file: URI', { cause: err });
  }
  return async () => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      // the error names the file, never what is in it
      throw new CertloopError('CERTLOOP_FILE_UNREADABLE', `the PIN file ${path} cannot be read`, {
        cause: err,
        details: { path },
      });
    }
    return text.replace(/\r?\n$/, '');
  };
}

/**
 * Opens the token a key URI names and finds the key (`object=` label and/or `id=`); `CERTLOOP_PKCS11_OBJECT_NOT_FOUND`
 * when it is not there. Close the token when done with the key.
 */
export async function openPkcs11Key(
  options: OpenPkcs11TokenOptions,
  callOptions: CallOptions = {},
): Promise<{ token: Pkcs11Token; key: Pkcs11PrivateKey }> {
  const uri = typeof options.uri === 'string' ? parsePkcs11Uri(options.uri) : options.uri;
  if (uri.type !== undefined && uri.type !== 'private') {
    throw new CertloopError('CERTLOOP_PKCS11_URI_INVALID', 'a signing key URI names type=private (or no type)');
  }
  if (uri.object === undefined && !uri.id) {
    throw new CertloopError('CERTLOOP_PKCS11_URI_INVALID', 'a key URI names the key: object=LABEL or id=%XX...');
  }
  const token = await Pkcs11Token.open({ ...options, uri }, callOptions);
  try {
    const key = await token.key({ label: uri.object, id: uri.id }, callOptions);
    return { token, key };
  } catch (err) {
    token.close();
    throw err;
  }
}
