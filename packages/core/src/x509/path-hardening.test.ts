import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { code } from '../ca/test-support.js';
import { ManualClock } from '../clock/manual-clock.js';
import type { CertloopError } from '../errors.js';
import { type ValidateChainOptions, validateChain } from './chain.js';
import { type CryptoEngine, nodeCryptoEngine } from './crypto-engine.js';
import { issuerKeyCacheSize } from './issuer-key-cache.js';
import { OID } from './oids.js';
import {
  CA_USAGE,
  type FixtureCertificate,
  type FixtureKey,
  type FixtureScope,
  fixtureScope,
  issue,
  KU,
  LEAF_USAGE,
  OPENSSL,
  opensslVerifies,
  peculiar,
  run,
  SERVER_AUTH,
} from './test-certificates.js';

let scope: FixtureScope;
let dir: string;
let key: () => FixtureKey;
let root: FixtureCertificate;

beforeAll(async () => {
  scope = await fixtureScope({ prefix: 'certloop-hardening-', keys: 30, rootSubject: 'CN=hardening root' });
  ({ dir, key, root } = scope);
});

afterAll(() => scope.remove());

const validate = (leaf: FixtureCertificate, extra: Partial<ValidateChainOptions> = {}) =>
  validateChain({ leafPem: leaf.pem, trustBundlePem: root.pem, ...extra });

const LEAF_EXT = `[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:leaf.example
`;

/** A leaf with a key openssl makes (`genArgs` writes it to the path after them), signed by the fixture root. */
async function opensslLeaf(name: string, genArgs: readonly string[]): Promise<FixtureCertificate> {
  const f = (n: string) => join(dir, `${name}.${n}`);
  await writeFile(f('root.pem'), root.pem);
  await writeFile(f('root.key'), root.key.privateKeyPem);
  await writeFile(f('ext.cnf'), LEAF_EXT);
  await run(OPENSSL, [...genArgs, f('key')]);
  await run(OPENSSL, ['req', '-new', '-key', f('key'), '-subj', `/CN=${name}`, '-out', f('csr')]);
  await run(OPENSSL, [
    ...['x509', '-req', '-in', f('csr'), '-CA', f('root.pem'), '-CAkey', f('root.key'), '-days', '30'],
    ...['-extfile', f('ext.cnf'), '-extensions', 'leaf', '-out', f('pem')],
  ]);
  const pem = await readFile(f('pem'), 'utf8');
  return { pem, der: new Uint8Array(), subject: `CN=${name}`, key: root.key };
}

describe('key-size floors', () => {
  it('RSA below 2048 bits, EC off the three NIST curves and explicit curve parameters are refused; P-521 passes', async () => {
    const rsa1024 = await opensslLeaf('rsa1024', [
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:1024',
      '-out',
    ]);
    const k256 = await opensslLeaf('k256', [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:secp256k1',
      '-out',
    ]);
    const explicit = await opensslLeaf('explicit', [
      ...['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      ...['-pkeyopt', 'ec_param_enc:explicit', '-out'],
    ]);
    const p521 = await opensslLeaf('p521', [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-521',
      '-out',
    ]);
    const rsa2048 = await opensslLeaf('rsa2048', [
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:2048',
      '-out',
    ]);

    for (const [leaf, reason] of [
      [rsa1024, 'rsa-size'],
      [k256, 'curve'],
      [explicit, 'explicit-curve-parameters'],
    ] as const) {
      const err = await validate(leaf).catch((e: CertloopError) => e);
      expect((err as CertloopError).code).toBe('CERTLOOP_CHAIN_WEAK_KEY');
      expect((err as CertloopError).details).toMatchObject({ index: 0, reason });
    }
    expect((await validate(p521, { usage: 'serverAuth' })).chain).toHaveLength(2);
    expect(await code(validate(rsa2048))).toBeUndefined();
    // the floor goes up, never down
    expect(await code(validate(rsa2048, { minRsaBits: 3072 }))).toBe('CERTLOOP_CHAIN_WEAK_KEY');
    expect(await code(validate(rsa2048, { minRsaBits: 1024 }))).toBe('CERTLOOP_INVALID_ARGUMENT');
  });
});

describe('key usage without CA:TRUE', () => {
  // openssl -x509_strict refuses keyCertSign without CA:TRUE; it lets cRLSign pass (a delegated CRL signer),
  // which certloop, issuing no delegated CRL signers, refuses too.
  for (const [name, usage, opensslAccepts] of [
    ['keyCertSign', KU.digitalSignature | KU.keyCertSign, false],
    ['cRLSign', KU.digitalSignature | KU.cRLSign, true],
  ] as const) {
    it(`a leaf asserting ${name} without CA:TRUE is refused`, async () => {
      const leaf = await issue({ subject: 'CN=sneaky', key: key(), issuer: root, ca: false, keyUsage: usage });
      expect(await code(validate(leaf))).toBe('CERTLOOP_CHAIN_KEY_USAGE');
      expect(await opensslVerifies(dir, { leaf: leaf.pem, roots: root.pem })).toBe(opensslAccepts);
    });
  }
});

describe('critical key identifiers', () => {
  it('a critical AKI or SKI is refused (OpenSSL treats them as unhandled critical extensions)', async () => {
    const x509 = await peculiar();
    const leafKey = key();
    type PeculiarKey = Parameters<typeof x509.SubjectKeyIdentifierExtension.create>[0];
    const aki = await x509.AuthorityKeyIdentifierExtension.create(root.key.pair.publicKey as PeculiarKey, true);
    const ski = await x509.SubjectKeyIdentifierExtension.create(leafKey.pair.publicKey as PeculiarKey, true);
    for (const extension of [aki, ski]) {
      const leaf = await issue({
        subject: 'CN=critical ids',
        key: leafKey,
        issuer: root,
        ca: false,
        keyUsage: LEAF_USAGE,
        noKeyIds: true,
        extraExtensions: [extension],
      });
      const err = await validate(leaf).catch((e: CertloopError) => e);
      expect((err as CertloopError).code).toBe('CERTLOOP_CHAIN_UNKNOWN_CRITICAL_EXTENSION');
      expect(await opensslVerifies(dir, { leaf: leaf.pem, roots: root.pem })).toBe(false);
    }
    expect([aki.type, ski.type]).toEqual([OID.authorityKeyIdentifier, OID.subjectKeyIdentifier]);
  });
});

describe('time at whole-second resolution', () => {
  it('a certificate is valid through the whole second of its notAfter and from the start of its notBefore', async () => {
    const notBefore = new Date('2030-01-01T00:00:00Z');
    const notAfter = new Date('2030-06-01T12:00:00Z');
    const leaf = await issue({
      subject: 'CN=t',
      key: key(),
      issuer: root,
      ca: false,
      keyUsage: LEAF_USAGE,
      notBefore,
      notAfter,
    });
    const anchorValidity = { notBefore: new Date('2029-01-01T00:00:00Z'), notAfter: new Date('2031-01-01T00:00:00Z') };
    const anchor = await issue({
      subject: 'CN=hardening root',
      key: root.key,
      ca: true,
      keyUsage: CA_USAGE,
      ...anchorValidity,
    });
    const at = (ms: number) => validateChain({ leafPem: leaf.pem, trustBundlePem: anchor.pem, at: new Date(ms) });
    expect(await code(at(notAfter.getTime() + 999))).toBeUndefined();
    expect(await code(at(notAfter.getTime() + 1000))).toBe('CERTLOOP_CHAIN_EXPIRED');
    expect(await code(at(notBefore.getTime()))).toBeUndefined();
    expect(await code(at(notBefore.getTime() - 1))).toBe('CERTLOOP_CHAIN_NOT_YET_VALID');
    // the injected clock is read the same way
    const clock = new ManualClock(new Date(notAfter.getTime() + 500));
    expect((await validateChain({ leafPem: leaf.pem, trustBundlePem: anchor.pem, clock })).chain).toHaveLength(2);
  });
});

describe('chain length and self-issued certificates (RFC 5280 6.1.4 (l))', () => {
  it('self-issued intermediates (key rollover) do not count towards maxChainLength', async () => {
    const int = await issue({ subject: 'CN=roll int', key: key(), issuer: root, ca: true, keyUsage: CA_USAGE });
    const rolled = await issue({ subject: 'CN=roll int', key: key(), issuer: int, ca: true, keyUsage: CA_USAGE });
    const leaf = await issue({
      subject: 'CN=leaf',
      key: key(),
      issuer: rolled,
      ca: false,
      keyUsage: LEAF_USAGE,
      extKeyUsage: [SERVER_AUTH],
    });
    const options = { leafPem: leaf.pem, intermediatesPem: int.pem + rolled.pem, trustBundlePem: root.pem };
    expect((await validateChain({ ...options, maxChainLength: 3 })).chain).toHaveLength(4);
    expect(await code(validateChain({ ...options, maxChainLength: 2 }))).toBe('CERTLOOP_CHAIN_TOO_LONG');
    // an ordinary second intermediate does count
    const other = await issue({ subject: 'CN=other int', key: key(), issuer: int, ca: true, keyUsage: CA_USAGE });
    const leaf2 = await issue({ subject: 'CN=leaf2', key: key(), issuer: other, ca: false, keyUsage: LEAF_USAGE });
    const options2 = { leafPem: leaf2.pem, intermediatesPem: int.pem + other.pem, trustBundlePem: root.pem };
    expect(await code(validateChain({ ...options2, maxChainLength: 3 }))).toBe('CERTLOOP_CHAIN_TOO_LONG');
    expect((await validateChain({ ...options2, maxChainLength: 4 })).chain).toHaveLength(4);
  });
});

describe('issuer-key cache', () => {
  it('imports each issuer key once across calls that share issuers', async () => {
    let imports = 0;
    const engine: CryptoEngine = {
      ...nodeCryptoEngine,
      name: 'counting',
      async importPublicKey(spki, info) {
        imports++;
        return nodeCryptoEngine.importPublicKey(spki, info);
      },
    };
    const int = await issue({ subject: 'CN=cache int', key: key(), issuer: root, ca: true, keyUsage: CA_USAGE });
    const leaves = await Promise.all(
      [1, 2, 3].map((n) => issue({ subject: `CN=l${n}`, key: key(), issuer: int, ca: false, keyUsage: LEAF_USAGE })),
    );
    for (let round = 0; round < 3; round++) {
      for (const leaf of leaves) {
        await validateChain({ leafPem: leaf.pem, intermediatesPem: int.pem, trustBundlePem: root.pem, engine });
      }
    }
    expect(imports).toBe(2);
    expect(issuerKeyCacheSize(engine)).toBe(2);
  });

  it('bad input keeps its input codes: validateChain(null) is an invalid argument', async () => {
    expect(await code(validateChain(null as unknown as ValidateChainOptions))).toBe('CERTLOOP_INVALID_ARGUMENT');
  });
});
