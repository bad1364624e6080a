/**
 * A CA rotation with the CA keys on a SoftHSM2 token (`pkcs11CaKeySource`): the new CA's key is made on the token,
 * its certificate signed there, the relay's root and signing secrets switched to certificates whose keys are on the
 * token, and the old CA's key destroyed on the token at retire. Every chain served in each phase passes
 * `openssl verify` against that phase's bundle; no CA private key is ever in the store.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import {
  authorityFromSecret,
  bootstrapRelayPki,
  CaRotation,
  type CaRotationRecord,
  inspectCertificate,
  joinPemBundle,
  ManualClock,
  MemorySecretStore,
  parseCertificate,
  pemDecode,
  readTlsMaterial,
  StoreCaKeyBackend,
  splitPemBundle,
} from '@certloop/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pkcs11CaKeySource } from './ca-key-source.js';
import { pkcs11RelayCaKeys, pkcs11SigningKeys } from './relay-keys.js';
import { agentCsr, codeOf, opensslVerify } from './test-support.js';
import { createSoftHsmToken, type SoftHsmToken } from './testing/index.js';
import { Pkcs11Token } from './token.js';

const DAY = 86_400;
const NAMES = { root: 'relay-root-tls-secret', signing: 'relay-tls-signing-secret', server: 'relay-server-tls-secret' };

let hsm: SoftHsmToken;
let token: Pkcs11Token;

beforeAll(async () => {
  hsm = await createSoftHsmToken();
  token = await Pkcs11Token.open({ uri: hsm.uri() });
});
afterAll(() => token?.close());

/** A relay PKI whose root and intermediate keys are on the token (labels `<prefix>-root`, `<prefix>-signing`). */
async function relay(prefix: string) {
  const store = new MemorySecretStore();
  const clock = new ManualClock(Date.now());
  await bootstrapRelayPki({
    store,
    clock,
    token: false,
    rootLifetimeSeconds: 3650 * DAY,
    intermediateLifetimeSeconds: 1825 * DAY,
    serverLifetimeSeconds: 365 * DAY,
    caKeys: pkcs11RelayCaKeys({ token, rootLabel: `${prefix}-root`, intermediateLabel: `${prefix}-signing` }),
  });
  return { store, clock };
}

function spkiOf(pem: string): Uint8Array {
  return parseCertificate(pemDecode(splitPemBundle(pem)[0]!, ['CERTIFICATE']).der).spkiDer;
}

/** An agent's CSR signed by whatever the signing secret holds now, with its key found on the token. */
async function issueClient(store: MemorySecretStore, clock: ManualClock, cn: string): Promise<string> {
  const signing = (await store.get(NAMES.signing))!;
  const certificatePem = readTlsMaterial(signing).certificatePem!;
  const privateKey = await pkcs11SigningKeys(token)({ spkiDer: spkiOf(certificatePem) });
  expect(privateKey, 'the signing CA key is on the token').toBeDefined();
  const ca = authorityFromSecret(signing, { clock, privateKey: privateKey! });
  const issued = await ca.sign({ csrPem: (await agentCsr(cn)).csrPem, lifetimeSeconds: 30 * DAY, profile: 'client' });
  return joinPemBundle([issued.certificatePem, issued.chainPem]);
}

async function bundleOf(store: MemorySecretStore): Promise<string> {
  return readTlsMaterial((await store.get(NAMES.root))!).trustBundlePem!;
}

async function servedChain(store: MemorySecretStore): Promise<string> {
  return readTlsMaterial((await store.get(NAMES.server))!).certificatePem!;
}

/** `openssl verify` of every chain (leaf then intermediates) against `bundle`. */
async function expectVerified(bundle: string, chains: Record<string, string>): Promise<void> {
  for (const [label, chain] of Object.entries(chains)) {
    const [leaf, ...rest] = splitPemBundle(chain);
    const out = await opensslVerify({ rootsPem: bundle, chainPem: rest.join(''), leafPem: leaf! }).catch(
      (err: Error) => err.message,
    );
    expect(out, label).toMatch(/: OK\s*$/);
  }
}

/** No CA private key in any secret: the CA secrets have no `tls.key`, and no PEM key anywhere is a CA key. */
async function expectNoCaKeyInStore(store: MemorySecretStore, caSpkis: readonly Uint8Array[]): Promise<void> {
  const caKeys = caSpkis.map((spki) => Buffer.from(spki).toString('base64'));
  let scanned = 0;
  for (const secret of await store.list()) {
    if (secret.name !== NAMES.server) expect(Object.keys(secret.data), secret.name).not.toContain('tls.key');
    for (const value of Object.values(secret.data)) {
      const text = Buffer.from(value).toString('latin1');
      for (const pem of text.match(/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g) ?? []) {
        scanned++;
        const spki = createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' });
        expect(caKeys, secret.name).not.toContain(spki.toString('base64'));
      }
    }
  }
  expect(scanned, 'the server key is seen by the scan').toBeGreaterThanOrEqual(1);
}

/** The key a certificate of the record certifies must be on the token: sensitive, never extractable. */
async function expectSensitiveOnToken(label: string): Promise<void> {
  expect(await token.keyAttributes({ label })).toMatchObject({
    token: true,
    private: true,
    sensitive: true,
    alwaysSensitive: true,
    extractable: false,
    neverExtractable: true,
    sign: true,
  });
  const listed = await privateKeysListed();
  expect(listed.get(label), `pkcs11-tool lists ${label}`).toMatch(
    /Access:\s+sensitive, always sensitive, never extractable/,
  );
  expect(listed.get(label)).not.toMatch(/Access:[^\n]*(?<!never )extractable/);
}

/** pkcs11-tool's listing of the token's private keys: each object's lines by its label. */
async function privateKeysListed(): Promise<Map<string, string>> {
  const out = await hsm.pkcs11Tool(['--list-objects', '--type', 'privkey']);
  const objects = new Map<string, string>();
  for (const block of out.split(/(?=Private Key Object)/)) {
    const label = /label:\s+(.*)/.exec(block)?.[1]?.trim();
    if (label) objects.set(label, block);
  }
  return objects;
}

function rotationOf(store: MemorySecretStore, clock: ManualClock, ca: 'root' | 'intermediate') {
  // no leaf outlives activate here (maxLeafLifetimeSeconds 0): retire follows drain at once
  return new CaRotation({ ca, store, clock, keys: pkcs11CaKeySource(token), maxLeafLifetimeSeconds: 0 });
}

describe('CA rotation with the CA keys on SoftHSM2', () => {
  it('rotates the root: B made on the token, cross-signed, installed, A destroyed on the token at retire', async () => {
    const { store, clock } = await relay('r1');
    const rootA = await token.key({ label: 'r1-root' });
    const intA = await token.key({ label: 'r1-signing' });
    const bundleA = await bundleOf(store);
    const oldClient = await issueClient(store, clock, 'cluster-1');
    await expectVerified(bundleA, { 'server (A)': await servedChain(store), 'client (A)': oldClient });

    const rotation = rotationOf(store, clock, 'root');
    const prepared = await rotation.prepare({ crossSign: true, reason: 'hsm test' });
    expect(prepared.phase).toBe('converge');
    const labels = { root: `relay-ca-rotation-${prepared.id}-root`, int: `relay-ca-rotation-${prepared.id}-int` };
    const rootB = await token.key({ label: labels.root });
    const intB = await token.key({ label: labels.int });
    // the record's certificates certify the new keys on the token; B's root is self-signed, its intermediate under it
    expect(Buffer.from(spkiOf(prepared.new!.certificatePem))).toEqual(Buffer.from(rootB.spkiDer));
    expect(Buffer.from(spkiOf(prepared.newIntermediate!.certificatePem))).toEqual(Buffer.from(intB.spkiDer));
    expect(Buffer.from(spkiOf(prepared.crossSignedPem!))).toEqual(Buffer.from(intB.spkiDer));
    await expectVerified(prepared.new!.certificatePem, {
      'B intermediate under B root': prepared.newIntermediate!.certificatePem,
    });
    await expectVerified(bundleA, { 'B intermediate cross-signed by A': prepared.crossSignedPem! });
    for (const label of [labels.root, labels.int]) await expectSensitiveOnToken(label);
    const bundleAB = await bundleOf(store);
    expect(splitPemBundle(bundleAB)).toHaveLength(2);
    const duringPrepare = await issueClient(store, clock, 'cluster-2');
    expect(inspectCertificate(duringPrepare).authorityKeyId).toBe(prepared.oldIntermediate!.keyId);
    await expectVerified(bundleAB, {
      'server (converge)': await servedChain(store),
      'old client (converge)': oldClient,
      'client under A (converge)': duringPrepare,
    });

    const active = await rotation.activate();
    expect(active.phase).toBe('drain');
    for (const name of [NAMES.root, NAMES.signing]) {
      expect(Object.keys((await store.get(name))!.data).sort(), name).toEqual(['ca.crt', 'tls.crt']);
    }
    // B signs with its key on the token: the server was re-issued by it, and so is the next agent
    const server = await servedChain(store);
    expect(inspectCertificate(server).authorityKeyId).toBe(active.newIntermediate!.keyId);
    const newClient = await issueClient(store, clock, 'cluster-3');
    expect(inspectCertificate(newClient).authorityKeyId).toBe(active.newIntermediate!.keyId);
    await expectVerified(bundleAB, {
      'server (drain)': server,
      'new client (drain)': newClient,
      'old client (drain)': oldClient,
    });
    // peers that trust only A accept B's leaves through the cross-signed intermediate served in the chain (OpenSSL,
    // which does not backtrack, is given that path)
    expect(splitPemBundle(server)).toContain(active.crossSignedPem);
    const viaCross = (chain: string) => joinPemBundle([splitPemBundle(chain)[0]!, active.crossSignedPem!]);
    await expectVerified(bundleA, {
      'server via cross-sign (drain)': viaCross(server),
      'new client via cross-sign (drain)': viaCross(newClient),
    });

    await rotation.drain();
    const retired = await rotation.retire();
    expect(retired.phase).toBe('retired');
    const bundleB = await bundleOf(store);
    expect(splitPemBundle(bundleB)).toEqual([retired.new!.certificatePem]);
    await expectVerified(bundleB, { 'server (retired)': await servedChain(store), 'new client (retired)': newClient });
    // A's keys are destroyed on the token (their certificates stay in the record); B's stay
    expect(await token.findKey({ label: 'r1-root' })).toBeUndefined();
    expect(await token.findKey({ label: 'r1-signing' })).toBeUndefined();
    const listed = await privateKeysListed();
    expect(listed.has(labels.root) && listed.has(labels.int)).toBe(true);
    expect([...listed.keys()].filter((l) => l.startsWith('r1-'))).toEqual([]);
    expect(retired.old.certificatePem).toBe(prepared.old.certificatePem);
    expect(retired.oldIntermediate?.certificatePem).toBe(prepared.oldIntermediate!.certificatePem);
    for (const label of [labels.root, labels.int]) await expectSensitiveOnToken(label);
    expect(await codeOf(token.key({ label: 'r1-root' }))).toBe('CERTLOOP_PKCS11_OBJECT_NOT_FOUND');
    await expectNoCaKeyInStore(store, [rootA.spkiDer, intA.spkiDer, rootB.spkiDer, intB.spkiDer]);
  });

  it('rotates the intermediate: B made on the token under the root key on the token, A destroyed at retire', async () => {
    const { store, clock } = await relay('i1');
    const root = await token.key({ label: 'i1-root' });
    const intA = await token.key({ label: 'i1-signing' });
    const bundle = await bundleOf(store);
    const oldClient = await issueClient(store, clock, 'cluster-1');
    const rotation = rotationOf(store, clock, 'intermediate');

    const prepared = await rotation.prepare();
    const label = `relay-ca-rotation-${prepared.id}-int`;
    const intB = await token.key({ label });
    await expectSensitiveOnToken(label);
    expect(Buffer.from(spkiOf(prepared.new!.certificatePem))).toEqual(Buffer.from(intB.spkiDer));
    expect(await bundleOf(store)).toBe(bundle);
    await expectVerified(bundle, {
      'B under the root (converge)': prepared.new!.certificatePem,
      'server (converge)': await servedChain(store),
      'old client (converge)': oldClient,
    });

    const active = await rotation.activate();
    const server = await servedChain(store);
    const newClient = await issueClient(store, clock, 'cluster-2');
    for (const chain of [server, newClient]) {
      expect(inspectCertificate(chain).authorityKeyId).toBe(active.new!.keyId);
    }
    await expectVerified(bundle, { 'server (drain)': server, 'new client': newClient, 'old client': oldClient });

    await rotation.drain();
    const retired: CaRotationRecord = await rotation.retire();
    expect(retired.phase).toBe('retired');
    await expectVerified(await bundleOf(store), { 'server (retired)': server, 'new client (retired)': newClient });
    expect(await token.findKey({ label: 'i1-signing' })).toBeUndefined();
    expect(await token.findKey({ label: 'i1-root' })).toBeDefined(); // the root is not rotated: its key stays
    await expectSensitiveOnToken(label);
    await expectNoCaKeyInStore(store, [root.spkiDer, intA.spkiDer, intB.spkiDer]);
  });

  it('abort after activate puts A back and destroys only B on the token', async () => {
    const { store, clock } = await relay('a1');
    const rotation = rotationOf(store, clock, 'intermediate');
    const prepared = await rotation.prepare();
    const label = `relay-ca-rotation-${prepared.id}-int`;
    await rotation.activate();
    const aborted = await rotation.abort();
    expect(aborted.phase).toBe('aborted');
    expect(await token.findKey({ label })).toBeUndefined();
    expect(await token.findKey({ label: 'a1-signing' })).toBeDefined();
    const server = await servedChain(store);
    expect(inspectCertificate(server).authorityKeyId).toBe(prepared.old.keyId);
    await expectVerified(await bundleOf(store), {
      'server (aborted)': server,
      'client (aborted)': await issueClient(store, clock, 'cluster-1'),
    });
  });

  it('a resumed create signs with the key an interrupted one made on the token, and makes no second key', async () => {
    const { store } = await relay('c1');
    const keys = pkcs11CaKeySource(token);
    const backend = new StoreCaKeyBackend({ store, keys });
    // the interrupted prepare made the key, then died before the slot secret was written
    const made = await keys.create({ name: 'relay-ca-rotation-c1c1-root', algorithm: 'ECDSA-P384' });
    const request = {
      slotId: 'c1c1-root',
      commonName: 'resumed root',
      lifetimeSeconds: 30 * DAY,
      keyAlgorithm: 'ECDSA-P384' as const,
    };
    const [one, two] = await Promise.all([backend.create(request), backend.create(request)]);
    expect(two).toEqual(one);
    expect(Buffer.from(spkiOf(one.certificatePem))).toEqual(Buffer.from(made.spkiDer));
    // one key under that label (`key` refuses a label several keys share)
    const onToken = await token.key({ label: 'relay-ca-rotation-c1c1-root' });
    expect(Buffer.from(onToken.spkiDer)).toEqual(Buffer.from(made.spkiDer));
    expect(Object.keys((await store.get('relay-ca-rotation-c1c1-root'))!.data)).not.toContain('tls.key');
    // destroying the slot destroys its key on the token (it is not in force); a second destroy finds nothing
    expect(await backend.destroy('c1c1-root')).toBe(true);
    expect(await token.findKey({ label: 'relay-ca-rotation-c1c1-root' })).toBeUndefined();
    expect(await backend.destroy('c1c1-root')).toBe(false);
  });

  it('moves a relay whose CA keys are in the store onto the token by rotating the intermediate', async () => {
    const store = new MemorySecretStore();
    const clock = new ManualClock(Date.now());
    await bootstrapRelayPki({ store, clock, token: false });
    expect(Object.keys((await store.get(NAMES.signing))!.data)).toContain('tls.key');
    const rotation = rotationOf(store, clock, 'intermediate');
    const prepared = await rotation.prepare();
    await rotation.activate();
    await rotation.drain();
    await rotation.retire();
    // the signing secret now holds the certificate of a key on the token, and no key of its own
    const signing = (await store.get(NAMES.signing))!;
    expect(Object.keys(signing.data).sort()).toEqual(['ca.crt', 'tls.crt']);
    const key = await token.key({ label: `relay-ca-rotation-${prepared.id}-int` });
    expect(Buffer.from(spkiOf(readTlsMaterial(signing).certificatePem!))).toEqual(Buffer.from(key.spkiDer));
    expect(await store.get(`relay-ca-rotation-${prepared.id}-old-int`)).toBeUndefined();
    await expectVerified(await bundleOf(store), {
      'server (retired)': await servedChain(store),
      'client signed on the token': await issueClient(store, clock, 'cluster-1'),
    });
  });

  it('without the key source, a rotation of CAs whose keys are on the token is refused (no-key) and writes nothing', async () => {
    const { store, clock } = await relay('n1');
    const before = (await store.list()).map((secret) => `${secret.name}@${secret.version}`);
    const keysBefore = [...(await privateKeysListed()).keys()].sort();
    for (const ca of ['root', 'intermediate'] as const) {
      const rotation = new CaRotation({ ca, store, clock });
      const refused = await rotation.prepare({ crossSign: false }).then(
        () => undefined,
        (err: { code?: string; details?: { refusal?: string } }) => `${err.code}/${err.details?.refusal}`,
      );
      expect(refused, ca).toBe('CERTLOOP_CA_ROTATION_REFUSED/no-key');
    }
    expect((await store.list()).map((secret) => `${secret.name}@${secret.version}`)).toEqual(before);
    expect([...(await privateKeysListed()).keys()].sort()).toEqual(keysBefore);
  });
});
