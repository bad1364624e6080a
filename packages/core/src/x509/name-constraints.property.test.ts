/**
 * Name constraints against what TLS clients of this platform match (issue 14, item 1): random dNSName SANs and CNs
 * (random labels, `*` anywhere in any label, trailing dots, case) go into real certificates; random hosts go to
 * Node's `tls.checkServerIdentity` and `X509Certificate.checkHost` together with certloop's constraint check.
 * Any host Node matches that lies in an excluded subtree, or outside every permitted subtree, must have made
 * certloop refuse the certificate.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCertificate, type PreparedIssuer, prepareIssuer } from './certificate-builder.js';
import { oid, parseDer, seq, tlv, utf8String } from './der.js';
import {
  checkNameConstraints,
  constrainedNames,
  decodeNameConstraints,
  encodeNameConstraints,
  leafCnFallback,
  type NameConstraints,
} from './name-constraints.js';
import { OID } from './oids.js';

let issuer: PreparedIssuer;
let spkiDer: Uint8Array;

beforeAll(async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  spkiDer = publicKey.export({ format: 'der', type: 'spki' });
  issuer = await prepareIssuer({
    nameDer: seq(tlv(0x31, seq(oid(OID.commonName), utf8String('nc root')))),
    pkcs8Der: privateKey.export({ format: 'der', type: 'pkcs8' }),
    info: { type: 'ECDSA', size: 256, curve: 'P-256' },
  });
});

interface Leaf {
  readonly dnsNames: readonly string[];
  /** An IP SAN too: Node still falls back to the CN when no dNSName is present. */
  readonly ipSan: boolean;
  readonly commonNames: readonly string[];
}

const encoder = new TextEncoder();

function leafParts(leaf: Leaf): { subjectDer: Uint8Array; sanDer: Uint8Array | undefined } {
  const subjectDer = seq(...leaf.commonNames.map((cn) => tlv(0x31, seq(oid(OID.commonName), utf8String(cn)))));
  const sans = [
    ...leaf.dnsNames.map((name) => tlv(0x82, encoder.encode(name))),
    ...(leaf.ipSan ? [tlv(0x87, new Uint8Array([192, 0, 2, 1]))] : []),
  ];
  return { subjectDer, sanDer: sans.length ? seq(...sans) : undefined };
}

async function certificate(leaf: Leaf): Promise<X509Certificate> {
  const { subjectDer, sanDer } = leafParts(leaf);
  const { der } = await buildCertificate(issuer, {
    serialNumber: new Uint8Array([0x41, 1]),
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2036-01-01T00:00:00Z'),
    subjectDer,
    spkiDer,
    extensions: sanDer ? [seq(oid(OID.subjectAltName), tlv(0x04, sanDer))] : [],
  });
  return new X509Certificate(der);
}

/** certloop's verdict on a server leaf (no extended key usage) under `constraints`: true when it refuses. */
function certloopRefuses(leaf: Leaf, constraints: NameConstraints): boolean {
  const { subjectDer, sanDer } = leafParts(leaf);
  const names = constrainedNames(parseDer(subjectDer), sanDer, leafCnFallback(undefined));
  return checkNameConstraints(names, constraints) !== undefined;
}

/** RFC 5280 subtree membership of a host as TLS clients compare it: case folded, one trailing dot dropped. */
function inSubtree(host: string, rawBase: string): boolean {
  const base = rawBase.toLowerCase().replace(/\.$/, '');
  if (base === '') return true;
  if (base.startsWith('.')) return host.endsWith(base) && host.length > base.length;
  return host === base || host.endsWith(`.${base}`);
}

// Few distinct labels, so that patterns, hosts and subtrees meet often.
const LABELS = ['evil', 'ev', 'il', 'e', 'example', 'com', 'good', 'a', 'xn--evil', 'ev-il'];
const label = fc.constantFrom(...LABELS);
const mixedCase = (text: string, flips: readonly boolean[]) =>
  [...text].map((c, i) => (flips[i % Math.max(1, flips.length)] ? c.toUpperCase() : c)).join('');

/** A dNSName/CN pattern: 1-4 labels, `*` put into (or over part of) a random label, maybe a trailing dot. */
const pattern = fc
  .record({
    labels: fc.array(label, { minLength: 1, maxLength: 4 }),
    star: fc.option(fc.record({ label: fc.nat(), at: fc.nat(), cut: fc.nat({ max: 3 }) }), { freq: 3 }),
    dot: fc.boolean(),
    flips: fc.array(fc.boolean(), { maxLength: 6 }),
  })
  .map(({ labels, star, dot, flips }) => {
    const out = [...labels];
    if (star) {
      // about half the time in the first label, where clients honour it
      const index = star.label % 2 === 0 ? 0 : star.label % out.length;
      const target = out[index]!;
      const at = star.at % (target.length + 1);
      out[index] = `${target.slice(0, at)}*${target.slice(at + star.cut)}`;
    }
    return mixedCase(out.join('.') + (dot ? '.' : ''), flips);
  });

/** A host: a pattern with each `*` filled in by a label fragment (or left, or emptied), or a fresh name. */
const hostFor = (patterns: readonly string[]) =>
  fc
    .record({
      from: fc.nat(),
      fill: fc.constantFrom('', 'e', 'vil', 'evil', 'x', 'ev-il', '*'),
      fresh: fc.array(label, { minLength: 1, maxLength: 4 }),
      useFresh: fc.boolean(),
      dot: fc.boolean(),
      flips: fc.array(fc.boolean(), { maxLength: 6 }),
    })
    .map(({ from, fill, fresh, useFresh, dot, flips }) => {
      const base = useFresh || patterns.length === 0 ? fresh.join('.') : patterns[from % patterns.length]!;
      const text = base.replace(/\.$/, '').replaceAll('*', fill);
      return mixedCase(text + (dot ? '.' : ''), flips);
    });

const subtree = fc
  .record({
    labels: fc.array(label, { minLength: 1, maxLength: 3 }),
    lead: fc.boolean(),
    dot: fc.boolean(),
    flips: fc.array(fc.boolean(), { maxLength: 4 }),
  })
  .map(({ labels, lead, dot, flips }) => mixedCase((lead ? '.' : '') + labels.join('.') + (dot ? '.' : ''), flips));

/** A subtree drawn near a host: one of its label suffixes, with or without a leading dot, maybe re-cased. */
const subtreeNear = (hosts: readonly string[]) =>
  fc
    .record({ from: fc.nat(), drop: fc.nat({ max: 3 }), lead: fc.boolean(), dot: fc.boolean() })
    .map(({ from, drop, lead, dot }) => {
      const labels = hosts[from % hosts.length]!.replace(/\.$/, '').split('.');
      const kept = labels.slice(Math.min(drop, labels.length - 1)).join('.');
      return (lead ? '.' : '') + kept + (dot ? '.' : '');
    });

const scenario = fc
  .record({
    patterns: fc.array(pattern, { minLength: 1, maxLength: 2 }),
    asCn: fc.boolean(),
    ipSan: fc.boolean(),
  })
  .chain((s) =>
    fc.array(hostFor(s.patterns), { minLength: 1, maxLength: 4 }).chain((hosts) =>
      fc
        .record({
          excluded: fc.array(fc.oneof(subtree, subtreeNear(hosts), subtreeNear(hosts)), { maxLength: 2 }),
          permitted: fc.array(fc.oneof(subtree, subtreeNear(hosts)), { maxLength: 2 }),
        })
        .filter(({ excluded, permitted }) => excluded.length + permitted.length > 0)
        .map((trees) => ({ ...s, hosts, ...trees })),
    ),
  );

describe('name constraints cover every name Node matches', () => {
  it('property: a host Node matches in an excluded subtree, or outside the permitted ones, means certloop refused', async () => {
    const seen = { accepted: 0, matchedWhenAccepted: 0, wildcardMatched: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(scenario, async ({ patterns, asCn, ipSan, excluded, permitted, hosts }) => {
        const leaf: Leaf = asCn
          ? { dnsNames: [], ipSan, commonNames: patterns }
          : { dnsNames: patterns, ipSan, commonNames: ['leaf'] };
        const constraints = decodeNameConstraints(
          encodeNameConstraints({
            ...(permitted.length ? { permitted: { dnsNames: permitted } } : {}),
            ...(excluded.length ? { excluded: { dnsNames: excluded } } : {}),
          }),
        );
        if (certloopRefuses(leaf, constraints)) {
          seen.refused++;
          return;
        }
        seen.accepted++;
        const x509 = await certificate(leaf);
        const legacy = x509.toLegacyObject();
        for (const host of hosts) {
          const matched = checkServerIdentity(host, legacy) === undefined || x509.checkHost(host) !== undefined;
          if (!matched) continue;
          seen.matchedWhenAccepted++;
          if (patterns.some((p) => p.includes('*'))) seen.wildcardMatched++;
          const normal = host.toLowerCase().replace(/\.$/, '');
          if (isIP(normal) !== 0) continue;
          const outside =
            excluded.some((base) => inSubtree(normal, base)) ||
            (permitted.length > 0 && !permitted.some((base) => inSubtree(normal, base)));
          expect({ host, leaf, excluded, permitted, outside }).toMatchObject({ outside: false });
        }
      }),
      { numRuns: 400, seed: 0x14_01 },
    );
    // not vacuous: many certificates pass, Node matches hosts for them, wildcards among them; many are refused
    expect(seen.accepted).toBeGreaterThan(50);
    expect(seen.refused).toBeGreaterThan(50);
    expect(seen.matchedWhenAccepted).toBeGreaterThan(50);
    expect(seen.wildcardMatched).toBeGreaterThan(10);
  });
});
