/**
 * Differential and mutation testing of the CRL reader and of CSR attributes (issue 14, item 4), as
 * differential.test.ts does for certificates: seeds mutated structure-aware (then signed again) go to `parseCrl`
 * and `parseCsr`. Every refusal must be a typed CertloopError with a known code, and everything certloop accepts
 * must be read alike by OpenSSL's decoder (`openssl crl` / `openssl req`) and asn1js/pkijs. `npm run fuzz` sets
 * CERTLOOP_FUZZ_RUNS (cases per property) and optionally CERTLOOP_FUZZ_SEED.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import * as pkijs from 'pkijs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, isCertloopError } from '../../errors.js';
import { parseCrl } from '../crl.js';
import { parseCsr } from '../csr.js';
import { type CrlFixture, certloopCrlFields, crlFixture, opensslCrlFields, pkijsCrlFields } from './crl-fixtures.js';
import { cloneTree, encodeTree } from './der-edit.js';
import { bytes, csrFixture, csrPem, type SignedFixture } from './fixtures.js';
import { mutateAll, mutateBytes, mutationArbitrary, mutationsArbitrary } from './mutate.js';
import { signWrapped } from './resign.js';

const FUZZ_RUNS = Number(process.env.CERTLOOP_FUZZ_RUNS ?? 0);
const SEED = Number(process.env.CERTLOOP_FUZZ_SEED ?? 0x5eed_0014);
const runs = (quick: number) => (FUZZ_RUNS > 0 ? FUZZ_RUNS : quick);
const fcOptions = (numRuns: number) => ({ seed: SEED, numRuns, endOnFailure: true });
const CODES: ReadonlySet<string> = new Set(ERROR_CODES);
const hexOf = (der: Uint8Array) => `DER: ${Buffer.from(der).toString('hex')}`;

/** The value of `fn`, or undefined after checking that what it threw is a typed CertloopError. */
function typed<T>(entry: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (!isCertloopError(err) || !CODES.has(err.code)) {
      throw new Error(`${entry} threw an untyped error: ${String((err as Error)?.stack ?? err)}`);
    }
    return undefined;
  }
}

let crls: CrlFixture[];
let csrs: SignedFixture[];

beforeAll(async () => {
  const day = (d: number) => new Date(Date.UTC(2025, 11, d));
  crls = await Promise.all([
    crlFixture(),
    crlFixture([]),
    crlFixture(
      Array.from({ length: 12 }, (_, i) => ({
        serialNumber: (0x41_00 + i * 977).toString(16),
        revokedAt: day(1 + i),
        ...(i % 3 === 0 ? { reason: 'superseded' as const } : {}),
      })),
    ),
  ]);
  const plain = await csrFixture();
  // the same CSR with a challengePassword attribute too (an attribute certloop reads past)
  const info = cloneTree(plain.signed);
  info.children![3]!.children!.push({
    tag: 0x30,
    children: [
      { tag: 0x06, content: bytes(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x07) },
      { tag: 0x31, children: [{ tag: 0x0c, content: new Uint8Array(Buffer.from('pw')) }] },
    ],
  });
  csrs = [plain, { ...plain, signed: info, der: signWrapped(encodeTree(info), plain.keyPem) }];
});

describe('CRLs: structure-aware mutations, signed again', () => {
  it('parseCrl refuses with a code, or reads what OpenSSL and pkijs read', () => {
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.nat(),
        mutationsArbitrary,
        fc.option(mutationArbitrary, { freq: 6 }),
        (pick, mutations, damage) => {
          const seed = crls[pick % crls.length]!;
          const tbs = cloneTree(seed.signed);
          mutateAll(tbs, mutations);
          let der = signWrapped(encodeTree(tbs), seed.keyPem);
          if (damage) der = mutateBytes(der, damage);
          const parsed = typed('parseCrl', () => parseCrl(der));
          if (!parsed) return;
          accepted++;
          const ours = certloopCrlFields(parsed);
          let openssl: ReturnType<typeof opensslCrlFields>;
          try {
            openssl = opensslCrlFields(der);
          } catch (err) {
            throw new Error(`certloop accepted a CRL OpenSSL refuses: ${String(err)}\n${hexOf(der)}`);
          }
          expect(openssl, `certloop vs openssl crl; ${hexOf(der)}`).toEqual(ours);
          let asn1: ReturnType<typeof pkijsCrlFields>;
          try {
            asn1 = pkijsCrlFields(der);
          } catch (err) {
            throw new Error(`certloop accepted a CRL pkijs refuses: ${String(err)}\n${hexOf(der)}`);
          }
          expect(asn1, `certloop vs pkijs; ${hexOf(der)}`).toEqual(ours);
        },
      ),
      fcOptions(runs(200)),
    );
    // not vacuous: some mutations leave a CRL that is still valid (a changed date, serial or reason)
    expect(accepted).toBeGreaterThan(5);
  });
});

/** OpenSSL's reading of a CSR: its DNS SANs, or throws when `openssl req` refuses it. */
function opensslCsrDnsNames(der: Uint8Array): string[] {
  const text = execFileSync('/usr/bin/openssl', ['req', '-inform', 'DER', '-noout', '-text'], {
    input: der,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // an attribute of a type OpenSSL does not know is decoded but not printed ("unable to print attribute")
  if (/unable to (?!print attribute)|error/i.test(text)) throw new Error(`openssl could not decode a part:\n${text}`);
  const line = /X509v3 Subject Alternative Name:[^\n]*\n {20}([^\n]*)/.exec(text)?.[1] ?? '';
  return line
    .split(', ')
    .filter((name) => name.startsWith('DNS:'))
    .map((name) => name.slice(4));
}

describe('CSR attributes: mutations of the attributes only, signed again', () => {
  it('parseCsr refuses with a code, or reads the requested names OpenSSL and pkijs read', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.nat(), mutationsArbitrary, (pick, mutations) => {
        const seed = csrs[pick % csrs.length]!;
        const info = cloneTree(seed.signed);
        // mutateTree picks its target among the nodes under the root it is given: here the [0] attributes
        mutateAll(info.children![3]!, mutations);
        // no byte damage here: it would reach the key, which parseCsr leaves to verifyCsr (and OpenSSL prints)
        const der = signWrapped(encodeTree(info), seed.keyPem);
        const parsed = typed('parseCsr', () => parseCsr(csrPem(der)));
        if (!parsed) return;
        accepted++;
        let openssl: string[];
        try {
          openssl = opensslCsrDnsNames(der);
        } catch (err) {
          throw new Error(`certloop accepted a CSR OpenSSL refuses: ${String(err)}\n${hexOf(der)}`);
        }
        expect(openssl, `certloop vs openssl req; ${hexOf(der)}`).toEqual(parsed.sans.dnsNames);
        let request: pkijs.CertificationRequest;
        try {
          request = pkijs.CertificationRequest.fromBER(der);
        } catch (err) {
          throw new Error(`certloop accepted a CSR pkijs refuses: ${String(err)}\n${hexOf(der)}`);
        }
        const requestedOids = (request.attributes ?? [])
          .filter((a) => a.type === '1.2.840.113549.1.9.14')
          .flatMap((a) => new pkijs.Extensions({ schema: a.values[0] }).extensions.map((e) => e.extnID));
        expect(requestedOids, `certloop vs pkijs; ${hexOf(der)}`).toEqual(parsed.requestedExtensions.map((e) => e.oid));
      }),
      fcOptions(runs(150)),
    );
    expect(accepted).toBeGreaterThan(5);
  });
});
