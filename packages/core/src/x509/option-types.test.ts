/**
 * Bad input always gets a typed error (issue 14, item 5): every public entry point of x509/ and ca/ is called with
 * each of its options (and the whole argument) replaced by values of the wrong type; each call must succeed or
 * fail with a `CertloopError`, never a `TypeError` or another untyped error.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalCertificateAuthority } from '../ca/local-ca.js';
import { createTestPki, type TestPki } from '../ca/test-support.js';
import { ManualClock } from '../clock/manual-clock.js';
import { isCertloopError } from '../errors.js';
import { MemorySecretStore } from '../store/memory-store.js';
import * as api from './index.js';

const WRONG: readonly unknown[] = [
  1,
  -1,
  Number.NaN,
  'x',
  '',
  true,
  null,
  [],
  ['x'],
  {},
  { now: 1 },
  () => undefined,
  Symbol('s'),
  10n,
  new Date(Number.NaN),
];

let pki: TestPki;
let leaf: { certificatePem: string; privateKeyPem: string; chainPem: string };
let csrPem: string;
let crlPem: string;

beforeAll(async () => {
  pki = await createTestPki('ECDSA-P256');
  const issued = await pki.intermediateCa.issue({ commonName: 'leaf', lifetimeSeconds: 3600, profile: 'client' });
  leaf = issued;
  const key = await api.generateKeyPair({ algorithm: 'ECDSA-P256' });
  ({ csrPem } = await api.createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName: 'csr' } }));
  const store = new MemorySecretStore();
  await store.put('ca', { data: {} } as never);
  const revoking = new LocalCertificateAuthority({
    certificatePem: pki.intermediate.certificatePem,
    privateKeyPem: pki.intermediateKey.privateKeyPem,
    chainPem: pki.intermediate.chainPem,
    trustBundlePem: pki.rootPem,
    revocation: { store, secretName: 'ca' },
  });
  crlPem = (await revoking.publishCrl()).crlPem;
});

/** Runs `call`; gives a description of the failure when it throws something other than a CertloopError. */
async function untyped(call: () => unknown): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (err) {
    if (isCertloopError(err)) return undefined;
    return `${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`;
  }
}

type Entry = readonly [name: string, base: () => Record<string, unknown>, call: (arg: unknown) => unknown];

const entries = (): Entry[] => [
  [
    'validateChain',
    () => ({ leafPem: leaf.certificatePem, intermediatesPem: leaf.chainPem, trustBundlePem: pki.rootPem }),
    (o) => api.validateChain(o as never),
  ],
  [
    'validateChain with CRLs',
    () => ({
      leafPem: leaf.certificatePem,
      intermediatesPem: leaf.chainPem,
      trustBundlePem: pki.rootPem,
      crls: crlPem,
      crlGraceSeconds: 10,
      clock: new ManualClock(new Date()),
      engine: api.nodeCryptoEngine,
      usage: 'clientAuth',
      maxChainLength: 4,
      minRsaBits: 2048,
    }),
    (o) => api.validateChain(o as never),
  ],
  [
    'createCsr',
    () => ({ privateKeyPem: leaf.privateKeyPem, subject: { commonName: 'a' }, dnsNames: ['a.example'] }),
    (o) => api.createCsr(o as never),
  ],
  ['generateKeyPair', () => ({ algorithm: 'ECDSA-P256' }), (o) => api.generateKeyPair(o as never)],
  [
    'createSelfSignedCa',
    () => ({ privateKeyPem: leaf.privateKeyPem, subject: { commonName: 'r' }, lifetimeSeconds: 3600, pathLength: 1 }),
    (o) => api.createSelfSignedCa(o as never),
  ],
  [
    'exportPkcs12',
    () => ({ certificatePem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem, password: 'secret!' }),
    (o) => api.exportPkcs12(o as never),
  ],
  ['encodeName', () => ({ commonName: 'a', organization: 'o' }), (o) => api.encodeName(o as never)],
  [
    'encodeNameConstraints',
    () => ({ permitted: { dnsNames: ['a.example'], ipRanges: ['10.0.0.0/8'] }, excluded: { emails: ['x.example'] } }),
    (o) => api.encodeNameConstraints(o as never),
  ],
  [
    'encodeGeneralNames',
    () => ({ dnsNames: ['a.example'], ipAddresses: ['10.0.0.1'], uris: [], emails: [] }),
    (o) => api.encodeGeneralNames(o as never),
  ],
  [
    'LocalCertificateAuthority',
    () => ({
      certificatePem: pki.intermediate.certificatePem,
      privateKeyPem: pki.intermediateKey.privateKeyPem,
      chainPem: pki.intermediate.chainPem,
      trustBundlePem: pki.rootPem,
      clock: new ManualClock(new Date()),
      engine: api.nodeCryptoEngine,
      issueKeyAlgorithm: 'ECDSA-P256',
      policy: { maxLifetimeSeconds: 86_400 },
    }),
    (o) => new LocalCertificateAuthority(o as never),
  ],
  [
    'LocalCertificateAuthority policy',
    () => ({ maxLifetimeSeconds: 86_400, allowedDnsNames: ['*.example'], maxSans: 4 }),
    (policy) =>
      new LocalCertificateAuthority({
        certificatePem: pki.intermediate.certificatePem,
        privateKeyPem: pki.intermediateKey.privateKeyPem,
        trustBundlePem: pki.rootPem,
        policy: policy as never,
      }),
  ],
  [
    'LocalCertificateAuthority.sign',
    () => ({ csrPem, lifetimeSeconds: 3600, profile: 'client', identity: { commonName: 'csr' } }),
    (o) => pki.intermediateCa.sign(o as never),
  ],
  [
    'LocalCertificateAuthority.sign options',
    () => ({ signal: new AbortController().signal }),
    (o) => pki.intermediateCa.sign({ csrPem, lifetimeSeconds: 3600, profile: 'client' }, o as never),
  ],
  [
    'LocalCertificateAuthority.issue',
    () => ({ commonName: 'a', dnsNames: ['a.example'], lifetimeSeconds: 3600, profile: 'server' }),
    (o) => pki.intermediateCa.issue(o as never),
  ],
];

describe('every public entry point of x509/ and ca/ answers wrong option types with a CertloopError', () => {
  it('validateChain({ clock: 1 }) is CERTLOOP_INVALID_ARGUMENT', async () => {
    const err = await api
      .validateChain({ leafPem: leaf.certificatePem, trustBundlePem: pki.rootPem, clock: 1 as never })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CERTLOOP_INVALID_ARGUMENT' });
  });

  it('each option, and the whole argument, replaced by each wrong value', async () => {
    const failures: string[] = [];
    for (const [name, base, call] of entries()) {
      for (const wrong of WRONG) {
        const whole = await untyped(() => call(wrong));
        if (whole) failures.push(`${name}(${String(wrong)}): ${whole}`);
        for (const key of Object.keys(base())) {
          const failure = await untyped(() => call({ ...base(), [key]: wrong }));
          if (failure) failures.push(`${name} ${key}=${String(wrong)}: ${failure}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('the string and DER entry points answer wrong types with a CertloopError', async () => {
    const failures: string[] = [];
    const unary: Record<string, (v: unknown) => unknown> = {
      parseCsr: (v) => api.parseCsr(v as never),
      verifyCsr: (v) => api.verifyCsr(v as never),
      parseCrl: (v) => api.parseCrl(v as never),
      readCrls: (v) => api.readCrls(v as never),
      inspectCertificate: (v) => api.inspectCertificate(v as never),
      inspectCertificates: (v) => api.inspectCertificates(v as never),
      decodeName: (v) => api.decodeName(v as never),
      decodeGeneralNames: (v) => api.decodeGeneralNames(v as never),
      canonicalIpAddress: (v) => api.canonicalIpAddress(v as never),
      importPrivateKey: (v) => api.importPrivateKey(v as never),
      pemDecode: (v) => api.pemDecode(v as never),
      pemSplit: (v) => api.pemSplit(v as never),
      splitPemBundle: (v) => api.splitPemBundle(v as never),
      joinPemBundle: (v) => api.joinPemBundle(v as never),
      describePublicKey: (v) => api.describePublicKey(v as never),
      privateKeyMatchesCertificate: (v) => api.privateKeyMatchesCertificate(v as never, v as never),
      pemEncode: (v) => api.pemEncode(v as never, v as never),
      createWebCryptoEngine: (v) => api.createWebCryptoEngine(v as never),
    };
    for (const [name, call] of Object.entries(unary)) {
      for (const wrong of WRONG) {
        const failure = await untyped(() => call(wrong));
        if (failure) failures.push(`${name}(${String(wrong)}): ${failure}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
