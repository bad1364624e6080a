/**
 * `@certloop/pkcs11` URIs: a strict parser for RFC 7512 `pkcs11:` URIs, with the query attributes step-ca
 * accepts (`module-path`, `module-name`, `pin-source`, `pin-value`).
 *
 * `pkcs11:token=certloop;object=relay-signing;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/pin`
 *
 * Strict: an attribute named twice, a standard attribute certloop does not know (vendor `x-` attributes are kept),
 * a character outside the RFC's sets, a bad percent-escape or invalid UTF-8 all fail with
 * `CERTLOOP_PKCS11_URI_INVALID`. Errors name the attribute, never its value (a `pin-value` is a secret).
 */
import { CertloopError } from '@certloop/core';

/** Object classes a URI can name (`type=`). */
export type Pkcs11ObjectType = 'private' | 'public' | 'cert' | 'data' | 'secret-key';

export interface Pkcs11Uri {
  // token and slot (which token)
  readonly token?: string;
  readonly manufacturer?: string;
  readonly model?: string;
  readonly serial?: string;
  readonly slotId?: number;
  readonly slotDescription?: string;
  readonly slotManufacturer?: string;
  readonly libraryManufacturer?: string;
  readonly libraryDescription?: string;
  readonly libraryVersion?: string;
  // object (which key)
  readonly object?: string;
  /** CKA_ID, bytes. */
  readonly id?: Uint8Array;
  readonly type?: Pkcs11ObjectType;
  // query (how to reach it)
  readonly modulePath?: string;
  readonly moduleName?: string;
  /** Where the PIN is read: a file path or a `file:` URI. */
  readonly pinSource?: string;
  /** The PIN itself (a secret: never printed, see {@link formatPkcs11Uri}). */
  readonly pinValue?: string;
  /** Vendor attributes (`x-...`), path and query together. */
  readonly vendor: Readonly<Record<string, string>>;
}

/** Longest URI accepted, in characters. */
export const PKCS11_URI_MAX_LENGTH = 4096;

type TextField = Exclude<keyof Pkcs11Uri, 'id' | 'slotId' | 'type' | 'vendor'>;

const PATH_ATTRIBUTES: Readonly<Record<string, TextField | 'id' | 'slotId' | 'type'>> = {
  token: 'token',
  manufacturer: 'manufacturer',
  model: 'model',
  serial: 'serial',
  'slot-id': 'slotId',
  'slot-description': 'slotDescription',
  'slot-manufacturer': 'slotManufacturer',
  'library-manufacturer': 'libraryManufacturer',
  'library-description': 'libraryDescription',
  'library-version': 'libraryVersion',
  object: 'object',
  id: 'id',
  type: 'type',
};

const QUERY_ATTRIBUTES: Readonly<Record<string, TextField>> = {
  'module-path': 'modulePath',
  'module-name': 'moduleName',
  'pin-source': 'pinSource',
  'pin-value': 'pinValue',
};

const TYPES: readonly Pkcs11ObjectType[] = ['private', 'public', 'cert', 'data', 'secret-key'];

// RFC 7512 section 2.3: pk11-path-res-avail and pk11-query-res-avail, plus unreserved; '%' starts an escape.
const PATH_CHARS = /^[A-Za-z0-9\-._~:[\]@!$'()*+,=&%]*$/;
const QUERY_CHARS = /^[A-Za-z0-9\-._~:[\]@!$'()*+,=/?|;%]*$/;
const NAME = /^[a-z][a-z0-9-]*$/;

function invalid(message: string, details?: Record<string, unknown>): CertloopError {
  return new CertloopError('CERTLOOP_PKCS11_URI_INVALID', message, details ? { details } : {});
}

function percentDecode(value: string, attribute: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const ch = value.charCodeAt(i);
    if (ch !== 0x25) {
      out.push(ch); // the character sets above are ASCII only
      continue;
    }
    const hex = value.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw invalid('a bad percent-escape in a pkcs11: URI', { attribute });
    out.push(Number.parseInt(hex, 16));
    i += 2;
  }
  return new Uint8Array(out);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeText(value: string, attribute: string): string {
  try {
    return utf8.decode(percentDecode(value, attribute));
  } catch (err) {
    if (err instanceof CertloopError) throw err;
    throw invalid('an attribute of the pkcs11: URI is not UTF-8', { attribute });
  }
}

function split(part: string, separator: string, chars: RegExp, where: 'path' | 'query'): [string, string][] {
  if (part === '') return [];
  if (!chars.test(part.replaceAll(separator, '')))
    throw invalid(`a character not allowed in the ${where} of a pkcs11: URI`);
  return part.split(separator).map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (eq < 0 || !NAME.test(name)) throw invalid(`a ${where} attribute of the pkcs11: URI is not name=value`);
    return [name, pair.slice(eq + 1)];
  });
}

/** Parses a `pkcs11:` URI (RFC 7512); throws `CERTLOOP_PKCS11_URI_INVALID`. */
export function parsePkcs11Uri(text: string): Pkcs11Uri {
  if (typeof text !== 'string') throw invalid('a pkcs11: URI must be a string');
  if (text.length > PKCS11_URI_MAX_LENGTH) {
    throw invalid('the pkcs11: URI is too long', { length: text.length, max: PKCS11_URI_MAX_LENGTH });
  }
  if (!/^pkcs11:/i.test(text)) throw invalid('a pkcs11: URI starts with "pkcs11:"');
  const rest = text.slice('pkcs11:'.length);
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? undefined : rest.slice(q + 1);
  if (path.includes('#') || query?.includes('#')) throw invalid('a pkcs11: URI has no fragment');

  const out: Record<string, unknown> = {};
  const vendor: Record<string, string> = {};
  const seen = new Set<string>();
  const once = (name: string) => {
    if (seen.has(name)) throw invalid('an attribute is named twice in the pkcs11: URI', { attribute: name });
    seen.add(name);
  };

  for (const [name, raw] of split(path, ';', PATH_CHARS, 'path')) {
    once(name);
    if (name.startsWith('x-')) {
      vendor[name] = decodeText(raw, name);
      continue;
    }
    const field = PATH_ATTRIBUTES[name];
    if (!field) throw invalid('an attribute certloop does not know in the pkcs11: URI path', { attribute: name });
    if (field === 'id') {
      const id = percentDecode(raw, name);
      if (id.length === 0) throw invalid('the id attribute of a pkcs11: URI is empty', { attribute: name });
      out.id = id;
    } else if (field === 'slotId') {
      if (!/^[0-9]{1,10}$/.test(raw)) throw invalid('slot-id is a decimal number', { attribute: name });
      out.slotId = Number(raw);
    } else if (field === 'type') {
      const type = decodeText(raw, name) as Pkcs11ObjectType;
      if (!TYPES.includes(type)) throw invalid('type is one of private, public, cert, data, secret-key');
      out.type = type;
    } else {
      const value = decodeText(raw, name);
      if (field === 'libraryVersion' && !/^[0-9]+(\.[0-9]+)?$/.test(value)) {
        throw invalid('library-version is M or M.N', { attribute: name });
      }
      out[field] = value;
    }
  }

  if (query !== undefined) {
    for (const [name, raw] of split(query, '&', QUERY_CHARS, 'query')) {
      once(name);
      if (name.startsWith('x-')) {
        vendor[name] = decodeText(raw, name);
        continue;
      }
      const field = QUERY_ATTRIBUTES[name];
      if (!field) throw invalid('an attribute certloop does not know in the pkcs11: URI query', { attribute: name });
      const value = decodeText(raw, name);
      if (value === '' && field !== 'pinValue') throw invalid('an empty query attribute', { attribute: name });
      out[field] = value;
    }
  }
  if (out.pinSource !== undefined && out.pinValue !== undefined) {
    throw invalid('a pkcs11: URI gives pin-source or pin-value, not both');
  }
  if (out.modulePath !== undefined && out.moduleName !== undefined) {
    throw invalid('a pkcs11: URI gives module-path or module-name, not both');
  }
  return { ...(out as Omit<Pkcs11Uri, 'vendor'>), vendor };
}

const PATH_ORDER: readonly (keyof typeof PATH_ATTRIBUTES)[] = Object.keys(PATH_ATTRIBUTES);

function encode(value: string | Uint8Array, safe: RegExp): string {
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
  let out = '';
  for (const byte of bytes) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && safe.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Writes `uri` back as text. The PIN is never written: a `pin-value` becomes `pin-value=REDACTED` unless
 * `includePin` is set (for handing the URI to another process, never for printing).
 */
export function formatPkcs11Uri(uri: Pkcs11Uri, options: { readonly includePin?: boolean } = {}): string {
  const path: string[] = [];
  for (const name of PATH_ORDER) {
    const field = PATH_ATTRIBUTES[name]!;
    const value = uri[field];
    if (value === undefined) continue;
    if (field === 'id') path.push(`id=${encode(value as Uint8Array, /^$/)}`);
    else path.push(`${name}=${encode(String(value), /[A-Za-z0-9\-._~:[\]@!$'()*+,]/)}`);
  }
  const query: string[] = [];
  for (const [name, field] of Object.entries(QUERY_ATTRIBUTES)) {
    const value = uri[field];
    if (value === undefined) continue;
    const shown = field === 'pinValue' && !options.includePin ? 'REDACTED' : value;
    query.push(`${name}=${encode(shown, /[A-Za-z0-9\-._~:[\]@!$'()*+,/?|]/)}`);
  }
  for (const [name, value] of Object.entries(uri.vendor)) path.push(`${name}=${encode(value, /[A-Za-z0-9\-._~]/)}`);
  return `pkcs11:${path.join(';')}${query.length ? `?${query.join('&')}` : ''}`;
}
