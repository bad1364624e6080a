/**
 * Internal test support (`@certloop/core` x509, never exported): certificates for the reading side's tests,
 * made by tools other than certloop's own builder, so the parser and validator are checked against outside
 * encoders: @peculiar/x509 (any dates, any extensions) and the openssl command line.
 */
import { execFile } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type * as X509 from '@peculiar/x509';
import { pemEncode } from './pem.js';

export const OPENSSL = '/usr/bin/openssl';
export const run = promisify(execFile);

export type FixtureKeyType = 'ECDSA-P256' | 'ECDSA-P384' | 'RSA-2048' | 'Ed25519';

export interface FixtureKey {
  readonly type: FixtureKeyType;
  readonly pair: webcrypto.CryptoKeyPair;
  readonly signingAlgorithm: X509.X509CertificateCreateParamsBase['signingAlgorithm'];
  readonly privateKeyPem: string;
}

const GENERATE: Readonly<Record<FixtureKeyType, object>> = {
  'ECDSA-P256': { name: 'ECDSA', namedCurve: 'P-256' },
  'ECDSA-P384': { name: 'ECDSA', namedCurve: 'P-384' },
  'RSA-2048': {
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  },
  Ed25519: { name: 'Ed25519' },
};

const SIGNING: Readonly<Record<FixtureKeyType, object>> = {
  'ECDSA-P256': { name: 'ECDSA', hash: 'SHA-256' },
  'ECDSA-P384': { name: 'ECDSA', hash: 'SHA-384' },
  'RSA-2048': { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  Ed25519: { name: 'Ed25519' },
};

type MetadataReflect = typeof Reflect & Record<string, unknown>;

/**
 * @peculiar/x509 uses tsyringe, which wants the `reflect-metadata` polyfill (not installed here). The three calls
 * tsyringe makes are provided, only when missing, before the library is loaded (hence the dynamic import).
 */
function installReflectMetadata(): void {
  const r = Reflect as MetadataReflect;
  if (typeof r.getMetadata === 'function') return;
  const store = new WeakMap<object, Map<unknown, unknown>>();
  const own = (key: unknown, target: object) => store.get(target)?.get(key);
  r.getOwnMetadata = own;
  r.getMetadata = (key: unknown, target: object) => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t)) {
      const value = own(key, t);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  r.defineMetadata = (key: unknown, value: unknown, target: object) => {
    const map = store.get(target) ?? new Map<unknown, unknown>();
    store.set(target, map);
    map.set(key, value);
  };
}

/** The DOM types @peculiar/x509 speaks, without the DOM lib: Node's WebCrypto objects fit them at runtime. */
type PeculiarCrypto = Parameters<(typeof X509.cryptoProvider)['set']>[0];
type PeculiarKey = X509.X509CertificateCreateWithKeyParams['signingKey'];

let loaded: Promise<typeof X509> | undefined;
/** @peculiar/x509, loaded once with Node's WebCrypto as its provider. */
export function peculiar(): Promise<typeof X509> {
  loaded ??= (async () => {
    installReflectMetadata();
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(globalThis.crypto as unknown as PeculiarCrypto);
    return x509;
  })();
  return loaded;
}

export async function fixtureKey(type: FixtureKeyType): Promise<FixtureKey> {
  const pair = (await webcrypto.subtle.generateKey(GENERATE[type] as webcrypto.EcKeyGenParams, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', pair.privateKey));
  return {
    type,
    pair,
    signingAlgorithm: SIGNING[type] as FixtureKey['signingAlgorithm'],
    privateKeyPem: pemEncode('PRIVATE KEY', pkcs8),
  };
}

/** A temp dir, a pool of P-256 keys made up front and a self-signed root made with one of them. */
export interface FixtureScope {
  readonly dir: string;
  /** A fresh key from the pool (key generation kept out of each test); undefined once the pool is spent. */
  readonly key: () => FixtureKey;
  readonly root: FixtureCertificate;
  /** Removes the temp dir. */
  remove(): Promise<void>;
}

/** Makes a {@link FixtureScope}: a temp dir named from `prefix`, `keys` pooled P-256 keys, a root `rootSubject`. */
export async function fixtureScope(request: {
  readonly prefix: string;
  readonly keys: number;
  readonly rootSubject: string;
}): Promise<FixtureScope> {
  const dir = await mkdtemp(join(tmpdir(), request.prefix));
  const keys = await Promise.all(Array.from({ length: request.keys }, () => fixtureKey('ECDSA-P256')));
  const key = () => keys.pop()!;
  const root = await issue({ subject: request.rootSubject, key: key(), ca: true, keyUsage: CA_USAGE });
  return { dir, key, root, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface FixtureCertificate {
  readonly pem: string;
  readonly der: Uint8Array;
  readonly subject: string;
  readonly key: FixtureKey;
}

export interface IssueSpec {
  /** RFC 4514-ish text as @peculiar/x509 reads it: `CN=leaf, O=certloop`. */
  readonly subject: string;
  readonly key: FixtureKey;
  /** Absent: self-signed. */
  readonly issuer?: FixtureCertificate;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly serialNumber?: string;
  /** Adds basicConstraints (critical) when set. */
  readonly ca?: boolean;
  readonly pathLength?: number;
  /** KeyUsageFlags bits; absent: no keyUsage extension. */
  readonly keyUsage?: number;
  readonly extKeyUsage?: readonly string[];
  readonly sans?: X509.JsonGeneralNames;
  /** Leave out subject and authority key identifiers. */
  readonly noKeyIds?: boolean;
  readonly extraExtensions?: readonly X509.Extension[];
}

const DAY = 86_400_000;

/** Issues a certificate with exactly the extensions the spec names. */
export async function issue(spec: IssueSpec): Promise<FixtureCertificate> {
  const x509 = await peculiar();
  const signer = spec.issuer?.key ?? spec.key;
  const extensions: X509.Extension[] = [];
  if (spec.ca !== undefined) extensions.push(new x509.BasicConstraintsExtension(spec.ca, spec.pathLength, true));
  if (spec.keyUsage !== undefined) extensions.push(new x509.KeyUsagesExtension(spec.keyUsage, true));
  if (spec.extKeyUsage) extensions.push(new x509.ExtendedKeyUsageExtension([...spec.extKeyUsage], false));
  if (spec.sans) extensions.push(new x509.SubjectAlternativeNameExtension(spec.sans, false));
  if (!spec.noKeyIds) {
    extensions.push(await x509.SubjectKeyIdentifierExtension.create(spec.key.pair.publicKey as PeculiarKey));
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(signer.pair.publicKey as PeculiarKey));
  }
  extensions.push(...(spec.extraExtensions ?? []));
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber:
      spec.serialNumber ??
      Buffer.from(webcrypto.getRandomValues(new Uint8Array(12)))
        .toString('hex')
        .replace(/^[89a-f]/, '1'),
    subject: spec.subject,
    issuer: spec.issuer?.subject ?? spec.subject,
    notBefore: spec.notBefore ?? new Date(now - DAY),
    notAfter: spec.notAfter ?? new Date(now + 365 * DAY),
    signingAlgorithm: signer.signingAlgorithm,
    publicKey: spec.key.pair.publicKey as PeculiarKey,
    signingKey: signer.pair.privateKey as PeculiarKey,
    extensions,
  });
  const der = new Uint8Array(cert.rawData);
  return { pem: pemEncode('CERTIFICATE', der), der, subject: spec.subject, key: spec.key };
}

/** KeyUsageFlags of @peculiar/x509 (bit values of its enum). */
export const KU = { digitalSignature: 1, keyEncipherment: 4, keyCertSign: 32, cRLSign: 64 } as const;
export const CA_USAGE = KU.keyCertSign | KU.cRLSign;
export const LEAF_USAGE = KU.digitalSignature | KU.keyEncipherment;
export const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export interface FixtureChain {
  readonly root: FixtureCertificate;
  readonly intermediate: FixtureCertificate;
  readonly leaf: FixtureCertificate;
}

/** Root (CA, no pathLen), intermediate (CA, pathLen 0), server+client leaf with DNS and IP names. */
export async function threeLevelChain(type: FixtureKeyType, keys?: FixtureKey[]): Promise<FixtureChain> {
  const [rootKey, intKey, leafKey] =
    keys ?? (await Promise.all([fixtureKey(type), fixtureKey(type), fixtureKey(type)]));
  const root = await issue({ subject: `CN=root ${type}, O=certloop`, key: rootKey!, ca: true, keyUsage: CA_USAGE });
  const intermediate = await issue({
    subject: `CN=intermediate ${type}, O=certloop`,
    key: intKey!,
    issuer: root,
    ca: true,
    pathLength: 0,
    keyUsage: CA_USAGE,
  });
  const leaf = await issue({
    subject: `CN=leaf ${type}`,
    key: leafKey!,
    issuer: intermediate,
    ca: false,
    keyUsage: LEAF_USAGE,
    extKeyUsage: [SERVER_AUTH, CLIENT_AUTH],
    sans: [
      { type: 'dns', value: 'leaf.example' },
      { type: 'ip', value: '10.1.2.3' },
    ],
  });
  return { root, intermediate, leaf };
}

// ------------------------------------------------------------------ openssl

const OPENSSL_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
[v3_root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_int]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyAgreement
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:leaf.example,DNS:*.leaf.example,IP:10.0.0.7,IP:2001:db8::1,URI:spiffe://certloop/agent-1,email:ops@leaf.example
`;

const OPENSSL_KEYS = {
  rsa: ['-newkey', 'rsa:2048'],
  p256: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  ed25519: ['-newkey', 'ed25519'],
} as const;
export type OpensslKeyType = keyof typeof OPENSSL_KEYS;
export const OPENSSL_KEY_TYPES = Object.keys(OPENSSL_KEYS) as OpensslKeyType[];

export interface OpensslFile {
  readonly pem: string;
  readonly certPath: string;
  readonly keyPath: string;
}

/**
 * Root (self-signed, 10 years), intermediate (pathlen 0, serial 0x00ff00ff) and a server+client leaf with
 * DNS, IPv4, IPv6, URI and e-mail names (serial with the top bit set), made by the openssl CLI in `dir/type`.
 */
export async function opensslChain(
  dir: string,
  type: OpensslKeyType,
): Promise<{ root: OpensslFile; int: OpensslFile; leaf: OpensslFile }> {
  const d = join(dir, type);
  await mkdir(d, { recursive: true });
  const cfg = join(d, 'ca.cnf');
  await writeFile(cfg, OPENSSL_CONFIG);
  const key = OPENSSL_KEYS[type];
  const f = (n: string) => join(d, n);
  await run(OPENSSL, [
    ...['req', '-x509', '-config', cfg, '-extensions', 'v3_root', ...key, '-nodes'],
    ...[
      '-keyout',
      f('root.key'),
      '-out',
      f('root.pem'),
      '-subj',
      `/C=DE/O=certloop test/CN=root ${type}`,
      '-days',
      '3650',
    ],
  ]);
  for (const [role, issuer, ext, subj, serial, days] of [
    ['int', 'root', 'v3_int', `/O=certloop test/OU=ops/CN=intermediate ${type}`, '0x00ff00ff', '1825'],
    ['leaf', 'int', 'v3_leaf', `/CN=leaf ${type}`, '0x8a3c0000000000000000000000000001', '90'],
  ] as const) {
    await run(OPENSSL, [
      ...['req', '-new', '-config', cfg, ...key, '-nodes'],
      ...['-keyout', f(`${role}.key`), '-out', f(`${role}.csr`), '-subj', subj],
    ]);
    await run(OPENSSL, [
      ...['x509', '-req', '-in', f(`${role}.csr`), '-CA', f(`${issuer}.pem`), '-CAkey', f(`${issuer}.key`)],
      ...['-set_serial', serial, '-days', days, '-extfile', cfg, '-extensions', ext, '-out', f(`${role}.pem`)],
    ]);
  }
  const file = async (role: string): Promise<OpensslFile> => ({
    pem: await readFile(f(`${role}.pem`), 'utf8'),
    certPath: f(`${role}.pem`),
    keyPath: f(`${role}.key`),
  });
  return { root: await file('root'), int: await file('int'), leaf: await file('leaf') };
}

/** `openssl verify -x509_strict` of `leaf` against `roots`, with `untrusted` intermediates: true when OK. */
export async function opensslVerifies(
  dir: string,
  request: { leaf: string; roots: string; untrusted?: string; purpose?: 'sslserver' | 'sslclient' },
): Promise<boolean> {
  const name = Math.random().toString(36).slice(2);
  const path = (role: string) => join(dir, `${name}-${role}.pem`);
  await writeFile(path('leaf'), request.leaf);
  await writeFile(path('roots'), request.roots);
  const args = ['verify', '-x509_strict', '-CAfile', path('roots')];
  if (request.untrusted) {
    await writeFile(path('untrusted'), request.untrusted);
    args.push('-untrusted', path('untrusted'));
  }
  if (request.purpose) args.push('-purpose', request.purpose);
  try {
    const { stdout } = await run(OPENSSL, [...args, path('leaf')]);
    return stdout.trim().endsWith(': OK');
  } catch {
    return false;
  }
}
