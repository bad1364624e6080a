import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/manual-clock.js';
import { CertloopError } from '../errors.js';
import { type ValidateChainOptions, validateChain } from './chain.js';
import { children, parseDer } from './der.js';
import { pemEncode } from './pem.js';
import {
  CA_USAGE,
  CLIENT_AUTH,
  type FixtureCertificate,
  type FixtureChain,
  type FixtureKey,
  fixtureKey,
  issue,
  KU,
  LEAF_USAGE,
  OPENSSL_KEY_TYPES,
  opensslChain,
  opensslVerifies,
  peculiar,
  SERVER_AUTH,
  threeLevelChain,
} from './test-certificates.js';

const DAY = 86_400_000;
const KEY_TYPES = ['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'Ed25519'] as const;

let dir: string;
const chains = new Map<string, FixtureChain>();
let keys: FixtureKey[] = [];
/** A fresh P-256 key from a pre-made pool (key generation kept out of each test). */
const key = () => keys.pop()!;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certloop-chain-'));
  keys = await Promise.all(Array.from({ length: 80 }, () => fixtureKey('ECDSA-P256')));
  await Promise.all(KEY_TYPES.map(async (type) => chains.set(type, await threeLevelChain(type))));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pems = (certs: readonly FixtureCertificate[]) => certs.map((c) => c.pem).join('');

function validate(
  leaf: FixtureCertificate,
  intermediates: readonly FixtureCertificate[],
  roots: readonly FixtureCertificate[],
  extra: Partial<ValidateChainOptions> = {},
) {
  return validateChain({
    leafPem: leaf.pem,
    intermediatesPem: pems(intermediates),
    trustBundlePem: pems(roots),
    ...extra,
  });
}

async function failure(pending: Promise<unknown>): Promise<CertloopError> {
  try {
    await pending;
  } catch (err) {
    expect(err).toBeInstanceOf(CertloopError);
    return err as CertloopError;
  }
  throw new Error('expected validation to fail');
}

/** A P-256 root and intermediate (no pathLen) to hang test leaves from. */
async function ca(name = 'test') {
  const root = await issue({ subject: `CN=${name} root`, key: key(), ca: true, keyUsage: CA_USAGE });
  const intermediate = await issue({
    subject: `CN=${name} int`,
    key: key(),
    issuer: root,
    ca: true,
    keyUsage: CA_USAGE,
  });
  return { root, intermediate };
}

const serverLeaf = (issuer: FixtureCertificate, extra: Partial<Parameters<typeof issue>[0]> = {}) =>
  issue({
    subject: 'CN=server',
    key: key(),
    issuer,
    ca: false,
    keyUsage: LEAF_USAGE,
    extKeyUsage: [SERVER_AUTH],
    ...extra,
  });

describe('valid chains', () => {
  for (const type of KEY_TYPES) {
    it(`${type}: leaf → intermediate → root, for both usages, and openssl -x509_strict agrees`, async () => {
      const { root, intermediate, leaf } = chains.get(type)!;
      for (const usage of ['serverAuth', 'clientAuth'] as const) {
        const result = await validate(leaf, [intermediate], [root], { usage });
        expect(result.chain.map((c) => c.subject.commonName)).toEqual([
          `leaf ${type}`,
          `intermediate ${type}`,
          `root ${type}`,
        ]);
        expect(result.anchor.fingerprintSha256).toBe(
          new X509Certificate(root.pem).fingerprint256.replace(/:/g, '').toLowerCase(),
        );
      }
      const opensslOk = await opensslVerifies(dir, {
        leaf: leaf.pem,
        roots: root.pem,
        untrusted: intermediate.pem,
        purpose: 'sslserver',
      });
      expect(opensslOk).toBe(true);
    });
  }

  it('openssl-made chains of every key type validate', async () => {
    await Promise.all(
      OPENSSL_KEY_TYPES.map(async (type) => {
        const made = await opensslChain(dir, type);
        const result = await validateChain({
          leafPem: made.leaf.pem,
          intermediatesPem: made.int.pem,
          trustBundlePem: made.root.pem,
          usage: 'serverAuth',
        });
        expect(result.chain).toHaveLength(3);
        expect(result.anchor.subjectText).toBe(`CN=root ${type}, O=certloop test, C=DE`);
      }),
    );
  });

  it('takes intermediates from a tls.crt-style leaf bundle, in any order, among unrelated ones, with the root repeated', async () => {
    const { root, intermediate, leaf } = chains.get('ECDSA-P256')!;
    const other = chains.get('Ed25519')!;
    const tlsCrt = `${leaf.pem}${other.intermediate.pem}${intermediate.pem}${root.pem}`;
    const result = await validateChain({ leafPem: tlsCrt, intermediatesPem: other.root.pem, trustBundlePem: root.pem });
    expect(result.chain.map((c) => c.subject.commonName)).toEqual([
      'leaf ECDSA-P256',
      'intermediate ECDSA-P256',
      'root ECDSA-P256',
    ]);
  });

  it('a self-signed leaf trusted directly validates as a chain of one', async () => {
    const leaf = await issue({
      subject: 'CN=standalone',
      key: key(),
      ca: false,
      keyUsage: LEAF_USAGE,
      extKeyUsage: [SERVER_AUTH],
    });
    const result = await validate(leaf, [], [leaf], { usage: 'serverAuth' });
    expect(result.chain).toHaveLength(1);
    expect(result.anchor.subjectText).toBe('CN=standalone');
    expect(result.anchor.selfSigned).toBe(true);
  });

  it('an intermediate in the trust bundle is an anchor: the path stops there', async () => {
    const { root, intermediate, leaf } = chains.get('ECDSA-P256')!;
    const result = await validate(leaf, [], [intermediate]);
    expect(result.chain.map((c) => c.subject.commonName)).toEqual(['leaf ECDSA-P256', 'intermediate ECDSA-P256']);
    const both = await validate(leaf, [intermediate], [root, intermediate]);
    expect(both.chain).toHaveLength(2);
  });

  it('root rotation: several roots in the bundle, including two with the same name and different keys', async () => {
    const oldRoot = await issue({ subject: 'CN=rotating root', key: key(), ca: true, keyUsage: CA_USAGE });
    const newRoot = await issue({ subject: 'CN=rotating root', key: key(), ca: true, keyUsage: CA_USAGE });
    const other = chains.get('RSA-2048')!;
    const bundle = [oldRoot, other.root, newRoot];
    for (const noKeyIds of [false, true]) {
      // Without key identifiers the old root is tried first, fails its signature check, and the new one wins.
      const underNew = await issue({ subject: 'CN=int', key: key(), issuer: newRoot, ca: true, noKeyIds });
      const leaf = await serverLeaf(underNew, { noKeyIds });
      const result = await validate(leaf, [underNew], bundle);
      expect(result.anchor.fingerprintSha256).toBe(
        new X509Certificate(newRoot.pem).fingerprint256.replace(/:/g, '').toLowerCase(),
      );
    }
    const underOld = await serverLeaf(await issue({ subject: 'CN=int2', key: key(), issuer: oldRoot, ca: true }));
    await expect(validate(underOld, [], bundle)).rejects.toMatchObject({ code: 'CERTLOOP_CHAIN_UNTRUSTED' });
    expect((await validate(other.leaf, [other.intermediate], bundle)).chain).toHaveLength(3);
  });

  it('a self-issued CA certificate (key rollover) does not count against pathLenConstraint, as RFC 5280 says', async () => {
    const rootKey = key();
    const newKey = key();
    const root = await issue({
      subject: 'CN=rollover root',
      key: rootKey,
      ca: true,
      pathLength: 1,
      keyUsage: CA_USAGE,
    });
    // The new root key, certified by the old one under the same name: self-issued, not self-signed.
    const rolled = await issue({
      subject: 'CN=rollover root',
      key: newKey,
      issuer: root,
      ca: true,
      keyUsage: CA_USAGE,
    });
    const int = await issue({ subject: 'CN=rollover int', key: key(), issuer: rolled, ca: true, keyUsage: CA_USAGE });
    const leaf = await serverLeaf(int);
    const result = await validate(leaf, [int, rolled], [root]);
    expect(result.chain).toHaveLength(4);
    expect(await opensslVerifies(dir, { leaf: leaf.pem, roots: root.pem, untrusted: pems([int, rolled]) })).toBe(true);
  });

  it('anyExtendedKeyUsage in the leaf allows either usage; no usage requested skips EKU and leaf key usage', async () => {
    const { root, intermediate } = await ca();
    const any = await serverLeaf(intermediate, { extKeyUsage: ['2.5.29.37.0'] });
    await expect(validate(any, [intermediate], [root], { usage: 'clientAuth' })).resolves.toBeDefined();
    const signingOnly = await serverLeaf(intermediate, {
      keyUsage: KU.keyEncipherment,
      extKeyUsage: ['1.3.6.1.5.5.7.3.3'],
    });
    await expect(validate(signingOnly, [intermediate], [root])).resolves.toBeDefined();
  });

  it('validates at the given time, or at the injected clock’s time', async () => {
    const { root, intermediate, leaf } = chains.get('ECDSA-P256')!;
    const leafInfo = new X509Certificate(leaf.pem);
    const justBeforeExpiry = new Date(Date.parse(leafInfo.validTo) - 1000);
    await expect(validate(leaf, [intermediate], [root], { at: justBeforeExpiry })).resolves.toBeDefined();
    const clock = new ManualClock(new Date(Date.parse(leafInfo.validTo) + 1000));
    const err = await failure(validate(leaf, [intermediate], [root], { clock }));
    expect(err.code).toBe('CERTLOOP_CHAIN_EXPIRED');
  });
});

describe('each failure is named by its code, with the certificate that failed', () => {
  it('a foreign root → CERTLOOP_CHAIN_UNTRUSTED (openssl refuses too)', async () => {
    const { intermediate, leaf } = chains.get('ECDSA-P256')!;
    const foreign = chains.get('ECDSA-P384')!.root;
    const err = await failure(validate(leaf, [intermediate], [foreign]));
    expect(err.code).toBe('CERTLOOP_CHAIN_UNTRUSTED');
    expect(err.details).toMatchObject({ index: 0, subject: 'CN=leaf ECDSA-P256' });
    expect(await opensslVerifies(dir, { leaf: leaf.pem, roots: foreign.pem, untrusted: intermediate.pem })).toBe(false);
  });

  it('a missing intermediate → CERTLOOP_CHAIN_UNTRUSTED naming the missing issuer and what the bundle holds', async () => {
    const { root, leaf } = chains.get('ECDSA-P256')!;
    const err = await failure(validate(leaf, [], [root]));
    expect(err.code).toBe('CERTLOOP_CHAIN_UNTRUSTED');
    expect(err.details).toMatchObject({
      missingIssuer: 'O=certloop, CN=intermediate ECDSA-P256',
      of: 'CN=leaf ECDSA-P256',
      trustBundleSubjects: ['O=certloop, CN=root ECDSA-P256'],
    });
  });

  it('a foreign root: the missing piece is the root that issued the intermediate (the deepest dead end)', async () => {
    const { intermediate, leaf } = chains.get('ECDSA-P256')!;
    const foreign = chains.get('ECDSA-P384')!.root;
    const err = await failure(validate(leaf, [intermediate], [foreign]));
    expect(err.details).toMatchObject({
      missingIssuer: 'O=certloop, CN=root ECDSA-P256',
      of: 'O=certloop, CN=intermediate ECDSA-P256',
    });
  });

  it('an expired intermediate → CERTLOOP_CHAIN_EXPIRED at index 1', async () => {
    const root = await issue({ subject: 'CN=r', key: key(), ca: true });
    const now = Date.now();
    const int = await issue({
      subject: 'CN=expired int',
      key: key(),
      issuer: root,
      ca: true,
      notBefore: new Date(now - 30 * DAY),
      notAfter: new Date(now - DAY),
    });
    const leaf = await serverLeaf(int);
    const err = await failure(validate(leaf, [int], [root]));
    expect(err.code).toBe('CERTLOOP_CHAIN_EXPIRED');
    expect(err.details).toMatchObject({ index: 1, subject: 'CN=expired int' });
  });

  it('a not-yet-valid leaf → CERTLOOP_CHAIN_NOT_YET_VALID at index 0', async () => {
    const { root, intermediate } = await ca();
    const leaf = await serverLeaf(intermediate, { notBefore: new Date(Date.now() + DAY) });
    const err = await failure(validate(leaf, [intermediate], [root]));
    expect(err.code).toBe('CERTLOOP_CHAIN_NOT_YET_VALID');
    expect(err.details).toMatchObject({ index: 0, subject: 'CN=server' });
  });

  it('a leaf signed by a CA:false certificate, or by one without basicConstraints → CERTLOOP_CHAIN_ISSUER_NOT_CA (openssl refuses too)', async () => {
    const { root, intermediate } = await ca();
    for (const ca of [false, undefined]) {
      const notCa = await issue({
        subject: 'CN=not a ca',
        key: key(),
        issuer: intermediate,
        ...(ca === undefined ? {} : { ca }),
      });
      const leaf = await serverLeaf(notCa);
      const err = await failure(validate(leaf, [intermediate, notCa], [root]));
      expect(err.code).toBe('CERTLOOP_CHAIN_ISSUER_NOT_CA');
      expect(err.details).toMatchObject({ index: 1, subject: 'CN=not a ca' });
      expect(
        await opensslVerifies(dir, { leaf: leaf.pem, roots: root.pem, untrusted: pems([intermediate, notCa]) }),
      ).toBe(false);
    }
  });

  it('an intermediate with pathLength 0 above another intermediate → CERTLOOP_CHAIN_PATH_LENGTH_EXCEEDED (openssl refuses too)', async () => {
    const root = await issue({ subject: 'CN=plen root', key: key(), ca: true, keyUsage: CA_USAGE });
    const constrained = await issue({
      subject: 'CN=plen 0',
      key: key(),
      issuer: root,
      ca: true,
      pathLength: 0,
      keyUsage: CA_USAGE,
    });
    const below = await issue({ subject: 'CN=below', key: key(), issuer: constrained, ca: true, keyUsage: CA_USAGE });
    const leaf = await serverLeaf(below);
    const err = await failure(validate(leaf, [below, constrained], [root]));
    expect(err.code).toBe('CERTLOOP_CHAIN_PATH_LENGTH_EXCEEDED');
    expect(err.details).toMatchObject({ index: 2, subject: 'CN=plen 0' });
    expect(await opensslVerifies(dir, { leaf: leaf.pem, roots: root.pem, untrusted: pems([below, constrained]) })).toBe(
      false,
    );
    // One level up is fine: the pathLength 0 CA may issue leaves. A root with pathLength 0 may not have intermediates.
    await expect(validate(await serverLeaf(constrained), [constrained], [root])).resolves.toBeDefined();
    const strictRoot = await issue({ subject: 'CN=strict root', key: key(), ca: true, pathLength: 0 });
    await expect(validate(await serverLeaf(strictRoot), [], [strictRoot])).resolves.toBeDefined();
    const int = await issue({ subject: 'CN=int', key: key(), issuer: strictRoot, ca: true });
    const err2 = await failure(validate(await serverLeaf(int), [int], [strictRoot]));
    expect(err2.code).toBe('CERTLOOP_CHAIN_PATH_LENGTH_EXCEEDED');
    expect(err2.details).toMatchObject({ index: 2, subject: 'CN=strict root' });
  });

  it('a root with pathLength 1 and two intermediates below → CERTLOOP_CHAIN_PATH_LENGTH_EXCEEDED at the root', async () => {
    const root = await issue({ subject: 'CN=root p1', key: key(), ca: true, pathLength: 1 });
    const a = await issue({ subject: 'CN=a', key: key(), issuer: root, ca: true });
    const b = await issue({ subject: 'CN=b', key: key(), issuer: a, ca: true });
    const err = await failure(validate(await serverLeaf(b), [a, b], [root]));
    expect(err.code).toBe('CERTLOOP_CHAIN_PATH_LENGTH_EXCEEDED');
    expect(err.details).toMatchObject({ index: 3, subject: 'CN=root p1' });
  });

  it('an issuer whose key usage lacks keyCertSign → CERTLOOP_CHAIN_KEY_USAGE at the issuer', async () => {
    const root = await issue({ subject: 'CN=ku root', key: key(), ca: true, keyUsage: CA_USAGE });
    const int = await issue({
      subject: 'CN=crl only',
      key: key(),
      issuer: root,
      ca: true,
      keyUsage: KU.cRLSign | KU.digitalSignature,
    });
    const err = await failure(validate(await serverLeaf(int), [int], [root]));
    expect(err.code).toBe('CERTLOOP_CHAIN_KEY_USAGE');
    expect(err.details).toMatchObject({ index: 1, subject: 'CN=crl only' });
  });

  it('a TLS leaf whose key usage lacks digitalSignature → CERTLOOP_CHAIN_KEY_USAGE at index 0', async () => {
    const { root, intermediate } = await ca();
    const leaf = await serverLeaf(intermediate, { keyUsage: KU.keyEncipherment });
    const err = await failure(validate(leaf, [intermediate], [root], { usage: 'serverAuth' }));
    expect(err.code).toBe('CERTLOOP_CHAIN_KEY_USAGE');
    expect(err.details).toMatchObject({ index: 0 });
  });

  it('a clientAuth-only leaf validated for serverAuth → CERTLOOP_CHAIN_EXT_KEY_USAGE (openssl -purpose sslserver refuses too)', async () => {
    const { root, intermediate } = await ca();
    const leaf = await serverLeaf(intermediate, { extKeyUsage: [CLIENT_AUTH] });
    const err = await failure(validate(leaf, [intermediate], [root], { usage: 'serverAuth' }));
    expect(err.code).toBe('CERTLOOP_CHAIN_EXT_KEY_USAGE');
    expect(err.details).toMatchObject({ index: 0, subject: 'CN=server' });
    await expect(validate(leaf, [intermediate], [root], { usage: 'clientAuth' })).resolves.toBeDefined();
    const untrusted = intermediate.pem;
    expect(await opensslVerifies(dir, { leaf: leaf.pem, roots: root.pem, untrusted, purpose: 'sslserver' })).toBe(
      false,
    );
    expect(await opensslVerifies(dir, { leaf: leaf.pem, roots: root.pem, untrusted, purpose: 'sslclient' })).toBe(true);
  });

  it('an intermediate whose EKU excludes the usage constrains the leaf below it → CERTLOOP_CHAIN_EXT_KEY_USAGE at index 1', async () => {
    const root = await issue({ subject: 'CN=eku root', key: key(), ca: true });
    const int = await issue({
      subject: 'CN=clients only',
      key: key(),
      issuer: root,
      ca: true,
      extKeyUsage: [CLIENT_AUTH],
    });
    const leaf = await serverLeaf(int, { extKeyUsage: [SERVER_AUTH, CLIENT_AUTH] });
    const err = await failure(validate(leaf, [int], [root], { usage: 'serverAuth' }));
    expect(err.code).toBe('CERTLOOP_CHAIN_EXT_KEY_USAGE');
    expect(err.details).toMatchObject({ index: 1, subject: 'CN=clients only' });
    await expect(validate(leaf, [int], [root], { usage: 'clientAuth' })).resolves.toBeDefined();
  });

  it('an unknown critical extension → CERTLOOP_CHAIN_UNKNOWN_CRITICAL_EXTENSION; unknown non-critical ones are fine', async () => {
    const x509 = await peculiar();
    const { root, intermediate } = await ca();
    const odd = (critical: boolean) => [
      new x509.Extension('1.3.6.1.4.1.99999.7', critical, new Uint8Array([0x05, 0x00])),
    ];
    const critical = await serverLeaf(intermediate, { extraExtensions: odd(true) });
    const err = await failure(validate(critical, [intermediate], [root]));
    expect(err.code).toBe('CERTLOOP_CHAIN_UNKNOWN_CRITICAL_EXTENSION');
    expect(err.details).toMatchObject({ index: 0 });
    await expect(
      validate(await serverLeaf(intermediate, { extraExtensions: odd(false) }), [intermediate], [root]),
    ).resolves.toBeDefined();
    // Name constraints are enforced now (name-constraints.test.ts); an empty, malformed one is refused.
    const constrained = await issue({
      subject: 'CN=nc int',
      key: key(),
      issuer: root,
      ca: true,
      extraExtensions: [new x509.Extension('2.5.29.30', true, new Uint8Array([0x30, 0x00]))],
    });
    const err2 = await failure(validate(await serverLeaf(constrained), [constrained], [root]));
    expect(err2.code).toBe('CERTLOOP_INVALID_DER');
    expect(err2.details).toMatchObject({ index: 1 });
  });

  for (const type of KEY_TYPES) {
    it(`${type}: a tampered signature → CERTLOOP_CHAIN_SIGNATURE_INVALID`, async () => {
      const { root, intermediate, leaf } = chains.get(type)!;
      const der = leaf.der.slice();
      const signature = children(parseDer(der))[2]!;
      der[signature.end - 2] ^= 0x01; // inside the signature value, whatever its encoding
      const tampered = { ...leaf, pem: pemEncode('CERTIFICATE', der) };
      const err = await failure(validate(tampered, [intermediate], [root]));
      expect(err.code).toBe('CERTLOOP_CHAIN_SIGNATURE_INVALID');
      expect(err.details).toMatchObject({ index: 0, subject: `CN=leaf ${type}` });
    });
  }

  it('a leaf whose issuer name matches but whose signature is from another key → CERTLOOP_CHAIN_SIGNATURE_INVALID', async () => {
    const { root, intermediate } = await ca('forged');
    const impostor = await issue({ subject: 'CN=forged int', key: key(), ca: true, noKeyIds: true });
    const leaf = await serverLeaf(impostor, { noKeyIds: true });
    const err = await failure(validate(leaf, [intermediate], [root]));
    expect(err.code).toBe('CERTLOOP_CHAIN_SIGNATURE_INVALID');
  });

  it('a chain longer than maxChainLength → CERTLOOP_CHAIN_TOO_LONG', async () => {
    const root = await issue({ subject: 'CN=long root', key: key(), ca: true });
    let issuer = root;
    const ints: FixtureCertificate[] = [];
    for (let i = 1; i <= 4; i++) {
      issuer = await issue({ subject: `CN=long ${i}`, key: key(), issuer, ca: true });
      ints.push(issuer);
    }
    const leaf = await serverLeaf(issuer); // 6 certificates with the root
    await expect(validate(leaf, ints, [root])).resolves.toBeDefined();
    await expect(validate(leaf, ints, [root], { maxChainLength: 6 })).resolves.toBeDefined();
    const err = await failure(validate(leaf, ints, [root], { maxChainLength: 5 }));
    expect(err.code).toBe('CERTLOOP_CHAIN_TOO_LONG');
    // A dead end within the limit stays untrusted, even with a limit of one.
    const untrusted = await failure(validate(leaf, [], [root], { maxChainLength: 1 }));
    expect(untrusted.code).toBe('CERTLOOP_CHAIN_UNTRUSTED');
  });

  it('the first failure along the path, leaf first, is the one reported', async () => {
    const { root, intermediate } = await ca();
    const notCa = await issue({ subject: 'CN=not ca', key: key(), issuer: intermediate, ca: false });
    const expiredLeaf = await serverLeaf(notCa, {
      notBefore: new Date(Date.now() - 10 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    const err = await failure(validate(expiredLeaf, [intermediate, notCa], [root]));
    expect(err.code).toBe('CERTLOOP_CHAIN_EXPIRED');
    expect(err.details).toMatchObject({ index: 0 });
  });
});

describe('bad input', () => {
  it.each([
    ['garbage leaf', { leafPem: 'garbage' }, 'CERTLOOP_INVALID_PEM'],
    ['truncated leaf PEM', { leafPem: 'TRUNCATE' }, 'CERTLOOP_INVALID_PEM'],
    [
      'garbage trust bundle',
      { trustBundlePem: '-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n' },
      'CERTLOOP_INVALID_PEM',
    ],
    [
      'a key where a certificate belongs',
      { intermediatesPem: pemEncode('PRIVATE KEY', new Uint8Array([1])) },
      'CERTLOOP_INVALID_PEM',
    ],
    [
      'DER that is not a certificate',
      { trustBundlePem: pemEncode('CERTIFICATE', new Uint8Array([0x30, 1, 0])) },
      'CERTLOOP_INVALID_DER',
    ],
    ['an oversize bundle', { trustBundlePem: 'x'.repeat(300 * 1024) }, 'CERTLOOP_INPUT_TOO_LARGE'],
    ['too many intermediates', { intermediatesPem: 'MANY' }, 'CERTLOOP_INPUT_TOO_LARGE'],
    ['maxChainLength 0', { maxChainLength: 0 }, 'CERTLOOP_INVALID_ARGUMENT'],
    ['an invalid date', { at: new Date('not a date') }, 'CERTLOOP_INVALID_ARGUMENT'],
    ['an unknown usage', { usage: 'codeSigning' as 'serverAuth' }, 'CERTLOOP_INVALID_ARGUMENT'],
  ] as const)('%s → %s', async (_name, override, expected) => {
    const { root, intermediate, leaf } = chains.get('ECDSA-P256')!;
    const options: ValidateChainOptions = {
      leafPem: leaf.pem,
      intermediatesPem: intermediate.pem,
      trustBundlePem: root.pem,
      ...override,
    };
    const patched = {
      ...options,
      ...(options.leafPem === 'TRUNCATE' ? { leafPem: leaf.pem.slice(0, 200) } : {}),
      ...(options.intermediatesPem === 'MANY' ? { intermediatesPem: intermediate.pem.repeat(17) } : {}),
    };
    await expect(validateChain(patched)).rejects.toMatchObject({ code: expected });
  });
});
