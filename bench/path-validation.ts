/**
 * Bench: what the path-validation hardening costs. (1) Issuance by a CA with name constraints (checked before every
 * signature) against the same CA without them, interleaved in one run: the checks must cost < 5 % of issuance
 * throughput. (2) `validateChain` of leaves sharing an intermediate with the process-wide issuer-key cache against a
 * fresh engine per call (every issuer key imported again), and with a CRL of 1000 entries against none.
 *
 * Run alone: `node --conditions=source --import tsx bench/path-validation.ts`.
 */
import { pathToFileURL } from 'node:url';
import {
  type CryptoEngine,
  createCsr,
  createSelfSignedCa,
  generateKeyPair,
  LocalCertificateAuthority,
  MemorySecretStore,
  nodeCryptoEngine,
  validateChain,
} from '@certloop/core';
import { type BenchResult, formatResults, type MeasureOptions, measureInterleaved } from './types.js';

async function constrainedPair() {
  const rootKey = await generateKeyPair({ algorithm: 'ECDSA-P256' });
  const root = await createSelfSignedCa({
    privateKeyPem: rootKey.privateKeyPem,
    subject: { commonName: 'bench root' },
    lifetimeSeconds: 10 * 365 * 86_400,
  });
  const rootOptions = {
    certificatePem: root.certificatePem,
    privateKeyPem: rootKey.privateKeyPem,
    trustBundlePem: root.certificatePem,
  };
  const intKey = await generateKeyPair({ algorithm: 'ECDSA-P256' });
  const { csrPem: intCsr } = await createCsr({
    privateKeyPem: intKey.privateKeyPem,
    subject: { commonName: 'bench int' },
  });
  const sign = async (ca: LocalCertificateAuthority) =>
    ca.sign({ csrPem: intCsr, lifetimeSeconds: 365 * 86_400, profile: 'intermediate' });
  const plainInt = await sign(new LocalCertificateAuthority(rootOptions));
  const constrainedInt = await sign(
    new LocalCertificateAuthority({
      ...rootOptions,
      policy: {
        intermediateNameConstraints: {
          permitted: { dnsNames: ['agents.example.test'], uriHosts: ['certloop.test'] },
          excluded: { dnsNames: ['admin.agents.example.test'] },
        },
      },
    }),
  );
  // a ledger of 1000 revoked serials, then one CRL signed over it
  const store = new MemorySecretStore();
  const revoked = Array.from({ length: 1000 }, (_, i) => ({
    serialNumber: (0x100000 + i).toString(16),
    revokedAt: new Date().toISOString(),
  }));
  await store.put('signing', {
    data: { 'ca.revocations': new TextEncoder().encode(JSON.stringify({ crlNumber: 0, revoked })) },
  });
  const ca = (certificatePem: string, revocation = false) => {
    return new LocalCertificateAuthority({
      certificatePem,
      privateKeyPem: intKey.privateKeyPem,
      trustBundlePem: root.certificatePem,
      ...(revocation ? { revocation: { store, secretName: 'signing' } } : {}),
    });
  };
  return { root, plain: ca(plainInt.certificatePem, true), constrained: ca(constrainedInt.certificatePem) };
}

export async function benchPathValidation(options: MeasureOptions = {}): Promise<BenchResult[]> {
  const { root, plain, constrained } = await constrainedPair();
  const leafKey = await generateKeyPair({ algorithm: 'ECDSA-P256' });
  const { csrPem } = await createCsr({
    privateKeyPem: leafKey.privateKeyPem,
    subject: { commonName: 'agent-0001' },
    dnsNames: ['agent-0001.agents.example.test'],
    uris: ['spiffe://certloop.test/agent/agent-0001'],
  });
  const request = { csrPem, lifetimeSeconds: 86_400, profile: 'client' as const };
  // A/B/A: the unconstrained CA is measured twice around the constrained one, so drift on a shared machine shows
  const [issuePlain, issueConstrained, issuePlainAgain] = await measureInterleaved(
    [
      { name: 'issue, CA without name constraints', op: () => plain.sign(request) },
      { name: 'issue, CA with name constraints', op: () => constrained.sign(request) },
      { name: 'issue, CA without name constraints (again)', op: () => plain.sign(request) },
    ],
    options,
  );

  // validation: 8 leaves under one intermediate, validated round robin
  const leaves = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      plain.issue({ commonName: `v${i}`, lifetimeSeconds: 86_400, profile: 'client' }),
    ),
  );
  const { crlPem } = await plain.publishCrl();
  let next = 0;
  const leaf = () => leaves[next++ % leaves.length]!;
  const base = () => {
    const l = leaf();
    return { leafPem: l.certificatePem, intermediatesPem: l.chainPem, trustBundlePem: root.certificatePem };
  };
  const freshEngine = (): CryptoEngine => ({ ...nodeCryptoEngine, name: 'fresh' });
  const [cached, cold, withCrl] = await measureInterleaved(
    [
      { name: 'validateChain, issuer-key cache', op: () => validateChain(base()) },
      { name: 'validateChain, keys imported per call', op: () => validateChain({ ...base(), engine: freshEngine() }) },
      { name: 'validateChain, CRL of 1000 entries', op: () => validateChain({ ...base(), crls: crlPem }) },
    ],
    options,
  );
  // median latencies resist the load spikes of a shared machine better than rates
  const plainP50 = (issuePlain!.p50Ms! + issuePlainAgain!.p50Ms!) / 2;
  const cost = issueConstrained!.p50Ms! / plainP50 - 1;
  return [
    issuePlain!,
    issueConstrained!,
    issuePlainAgain!,
    {
      name: 'name-constraint check cost at issuance (p50)',
      value: cost * 100,
      unit: '%',
      target: '< 5',
      ok: cost < 0.05,
    },
    cached!,
    cold!,
    withCrl!,
    { name: 'validateChain cache speed-up', value: cached!.opsPerSecond / cold!.opsPerSecond, unit: 'x' },
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatResults(await benchPathValidation()));
}
