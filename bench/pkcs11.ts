/**
 * Bench: signatures per second with the CA key on a PKCS#11 token (SoftHSM2, through `@certloop/pkcs11`) against
 * the same signatures in software (node:crypto), measured interleaved in one run; one signature at a time and 8 at
 * once (the session pool of 8 against a pool of 1, which serialises them as a single session would); and leaves
 * issued from CSRs by a LocalCertificateAuthority whose key is on the token against one whose key is a PEM.
 * SoftHSM2 is software too (its cost is the PKCS#11 round trip and its own locking), so the ratio is the overhead of
 * the token interface, not the speed of a hardware HSM.
 *
 * Run alone: `node --conditions=source --import tsx bench/pkcs11.ts`.
 */
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import {
  createCsr,
  createSelfSignedCa,
  generateKeyPair,
  LocalCertificateAuthority,
  nodeCryptoEngine,
} from '@certloop/core';
import { Pkcs11Token } from '@certloop/pkcs11';
import { createSoftHsmToken } from '@certloop/pkcs11/testing';
import { type BenchResult, formatResults, type MeasureOptions, measureInterleaved } from './types.js';

const BATCH = 8;

export async function benchPkcs11(options: MeasureOptions = {}): Promise<BenchResult[]> {
  let hsm: Awaited<ReturnType<typeof createSoftHsmToken>>;
  try {
    hsm = await createSoftHsmToken();
  } catch (err) {
    return [{ name: `pkcs11: not measured (${(err as Error).message})` }];
  }
  const wide = await Pkcs11Token.open({ uri: hsm.uri(), maxSessions: BATCH });
  const narrow = await Pkcs11Token.open({ uri: hsm.uri(), maxSessions: 1 });
  try {
    const hsmKey = await wide.generateKey({ label: 'bench-p256', algorithm: 'ECDSA-P256' });
    const serialKey = await narrow.key({ label: 'bench-p256' });
    const software = await generateKeyPair({ algorithm: 'ECDSA-P256' });
    const softwareKey = await nodeCryptoEngine.importPrivateKey(
      new Uint8Array(Buffer.from(software.privateKeyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64')),
      hsmKey.info,
    );
    const data = new Uint8Array(512).fill(7);
    const sign = { hash: 'SHA-256' as const, data };

    // the same CA twice: key on the token, key as PEM
    const root = await createSelfSignedCa({
      privateKeyPem: hsmKey,
      subject: { commonName: 'bench hsm root' },
      lifetimeSeconds: 86_400,
    });
    const hsmCa = new LocalCertificateAuthority({
      certificatePem: root.certificatePem,
      privateKeyPem: hsmKey,
      trustBundlePem: root.certificatePem,
    });
    const softRoot = await createSelfSignedCa({
      privateKeyPem: software.privateKeyPem,
      subject: { commonName: 'bench software root' },
      lifetimeSeconds: 86_400,
    });
    const softCa = new LocalCertificateAuthority({
      certificatePem: softRoot.certificatePem,
      privateKeyPem: software.privateKeyPem,
      trustBundlePem: softRoot.certificatePem,
    });
    const csrs = await Promise.all(
      Array.from({ length: 32 }, async (_, i) => {
        const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
        return (await createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName: `agent-${i}` } })).csrPem;
      }),
    );
    let i = 0;
    let j = 0;
    const batch = (op: () => Promise<unknown>) => () => Promise.all(Array.from({ length: BATCH }, op));
    const measured = await measureInterleaved(
      [
        { name: 'pkcs11: ECDSA P-256 signature on SoftHSM2, one at a time', op: () => hsmKey.sign(sign) },
        {
          name: 'software: ECDSA P-256 signature (node:crypto), one at a time',
          op: () => nodeCryptoEngine.sign({ key: softwareKey, ...sign }),
        },
        {
          name: `pkcs11: ${BATCH} concurrent signatures, pool of ${BATCH} sessions (per signature)`,
          op: batch(() => hsmKey.sign(sign)),
        },
        {
          name: `pkcs11: ${BATCH} concurrent signatures, pool of 1 session (per signature)`,
          op: batch(() => serialKey.sign(sign)),
        },
        {
          name: 'pkcs11: leaf issued from a CSR, CA key on SoftHSM2',
          op: () => hsmCa.sign({ csrPem: csrs[i++ % csrs.length]!, lifetimeSeconds: 3600, profile: 'client' }),
        },
        {
          name: 'software: leaf issued from a CSR, CA key as PEM',
          op: () => softCa.sign({ csrPem: csrs[j++ % csrs.length]!, lifetimeSeconds: 3600, profile: 'client' }),
        },
      ],
      { warmupMs: options.warmupMs ?? 300, durationMs: options.durationMs ?? 2000 },
    );
    const [hsmOne, softOne, pooled, serial, hsmLeaf, softLeaf] = measured.map((m, k) =>
      k === 2 || k === 3 ? { ...m, opsPerSecond: m.opsPerSecond * BATCH } : m,
    ) as typeof measured;
    return [
      hsmOne!,
      softOne!,
      pooled!,
      serial!,
      hsmLeaf!,
      softLeaf!,
      {
        name: 'pkcs11: token signatures/s over software signatures/s (one at a time)',
        value: hsmOne!.opsPerSecond / softOne!.opsPerSecond,
        unit: 'x',
      },
      {
        name: `pkcs11: pool of ${BATCH} over pool of 1, ${BATCH} in flight (${cpus().length} cores)`,
        value: pooled!.opsPerSecond / serial!.opsPerSecond,
        unit: 'x',
      },
      {
        name: 'pkcs11: leaves/s with the CA key on the token over a PEM key',
        value: hsmLeaf!.opsPerSecond / softLeaf!.opsPerSecond,
        unit: 'x',
      },
    ];
  } finally {
    narrow.close();
    wide.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(formatResults(await benchPkcs11()));
}
