import { X509Certificate } from 'node:crypto';
import { checkServerIdentity } from 'node:tls';
import type * as X509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertloopError, type CertloopErrorCode } from '../errors.js';
import { validateChain } from './chain.js';
import { contextTag, oid, seq, tlv, utf8String } from './der.js';
import { encodeNameConstraints, type NameConstraintsInput } from './name-constraints.js';
import { OID } from './oids.js';
import {
  CA_USAGE,
  CLIENT_AUTH,
  type FixtureCertificate,
  type FixtureKey,
  type FixtureScope,
  fixtureScope,
  issue,
  LEAF_USAGE,
  opensslVerifies,
  peculiar,
  SERVER_AUTH,
} from './test-certificates.js';

let scope: FixtureScope;
let dir: string;
let key: () => FixtureKey;
let root: FixtureCertificate;

beforeAll(async () => {
  scope = await fixtureScope({ prefix: 'certloop-nc-', keys: 130, rootSubject: 'CN=nc root' });
  ({ dir, key, root } = scope);
});

afterAll(() => scope.remove());

async function ncExtension(value: Uint8Array, critical = true): Promise<X509.Extension> {
  const x509 = await peculiar();
  return new x509.Extension(OID.nameConstraints, critical, value);
}

async function constrainedCa(value: Uint8Array, options: { critical?: boolean; subject?: string } = {}) {
  return issue({
    subject: options.subject ?? 'CN=nc int, O=certloop',
    key: key(),
    issuer: root,
    ca: true,
    keyUsage: CA_USAGE,
    extraExtensions: [await ncExtension(value, options.critical ?? true)],
  });
}

const leafUnder = (
  issuer: FixtureCertificate,
  sans: X509.JsonGeneralNames,
  subject = 'CN=leaf, O=certloop',
  extKeyUsage = [SERVER_AUTH],
) =>
  issue({
    subject,
    key: key(),
    issuer,
    ca: false,
    keyUsage: LEAF_USAGE,
    extKeyUsage,
    ...(sans.length ? { sans } : {}),
  });

/** certloop's verdict (undefined: valid, else the code) and openssl's (true: valid). */
async function verdicts(leaf: FixtureCertificate, intermediates: FixtureCertificate[], anchor = root) {
  let code: CertloopErrorCode | undefined;
  try {
    await validateChain({
      leafPem: leaf.pem,
      intermediatesPem: intermediates.map((c) => c.pem).join(''),
      trustBundlePem: anchor.pem,
    });
  } catch (err) {
    expect(err).toBeInstanceOf(CertloopError);
    code = (err as CertloopError).code;
  }
  const openssl = await opensslVerifies(dir, {
    leaf: leaf.pem,
    roots: anchor.pem,
    untrusted: intermediates.map((c) => c.pem).join(''),
  });
  return { code, openssl };
}

const VIOLATED = 'CERTLOOP_CHAIN_NAME_CONSTRAINTS';
const UNSUPPORTED = 'CERTLOOP_CHAIN_NAME_CONSTRAINTS_UNSUPPORTED';

interface Case {
  readonly name: string;
  readonly constraints: NameConstraintsInput;
  readonly sans: X509.JsonGeneralNames;
  readonly subject?: string;
  readonly expected: CertloopErrorCode | undefined;
}

const CASES: readonly Case[] = [
  // dNSName
  {
    name: 'DNS under a permitted domain',
    constraints: { permitted: { dnsNames: ['example.com'] } },
    sans: [{ type: 'dns', value: 'a.b.example.com' }],
    expected: undefined,
  },
  {
    name: 'DNS equal to a permitted domain',
    constraints: { permitted: { dnsNames: ['example.com'] } },
    sans: [{ type: 'dns', value: 'EXAMPLE.com' }],
    expected: undefined,
  },
  {
    name: 'DNS outside the permitted domain',
    constraints: { permitted: { dnsNames: ['example.com'] } },
    sans: [{ type: 'dns', value: 'example.org' }],
    expected: VIOLATED,
  },
  {
    name: 'DNS suffix without a label boundary',
    constraints: { permitted: { dnsNames: ['example.com'] } },
    sans: [{ type: 'dns', value: 'badexample.com' }],
    expected: VIOLATED,
  },
  {
    name: 'leading-dot DNS constraint excludes the domain itself',
    constraints: { permitted: { dnsNames: ['.example.com'] } },
    sans: [{ type: 'dns', value: 'example.com' }],
    expected: VIOLATED,
  },
  {
    name: 'DNS in an excluded subtree',
    constraints: { excluded: { dnsNames: ['corp.example.com'] } },
    sans: [{ type: 'dns', value: 'db.corp.example.com' }],
    expected: VIOLATED,
  },
  {
    name: 'DNS one of two SANs outside',
    constraints: { permitted: { dnsNames: ['example.com'] } },
    sans: [
      { type: 'dns', value: 'ok.example.com' },
      { type: 'dns', value: 'evil.test' },
    ],
    expected: VIOLATED,
  },
  {
    name: 'hostname CN without DNS SANs is checked',
    constraints: { permitted: { dnsNames: ['example.com'] } },
    sans: [],
    subject: 'CN=evil.test',
    expected: VIOLATED,
  },
  {
    name: 'wildcard SAN under a permitted domain',
    constraints: { permitted: { dnsNames: ['example.com'] } },
    sans: [{ type: 'dns', value: '*.example.com' }],
    expected: undefined,
  },
  // iPAddress
  {
    name: 'IPv4 inside a permitted /8',
    constraints: { permitted: { ipRanges: ['10.0.0.0/8'] } },
    sans: [{ type: 'ip', value: '10.200.3.4' }],
    expected: undefined,
  },
  {
    name: 'IPv4 outside a permitted /8',
    constraints: { permitted: { ipRanges: ['10.0.0.0/8'] } },
    sans: [{ type: 'ip', value: '11.0.0.1' }],
    expected: VIOLATED,
  },
  {
    name: 'IPv4 inside an excluded /30',
    constraints: { excluded: { ipRanges: ['192.168.1.4/30'] } },
    sans: [{ type: 'ip', value: '192.168.1.7' }],
    expected: VIOLATED,
  },
  {
    name: 'IPv4 next to an excluded /30',
    constraints: { excluded: { ipRanges: ['192.168.1.4/30'] } },
    sans: [{ type: 'ip', value: '192.168.1.8' }],
    expected: undefined,
  },
  {
    name: 'IPv6 inside a permitted /48',
    constraints: { permitted: { ipRanges: ['2001:db8:1::/48'] } },
    sans: [{ type: 'ip', value: '2001:db8:1:ff::1' }],
    expected: undefined,
  },
  {
    name: 'IPv6 outside a permitted /48',
    constraints: { permitted: { ipRanges: ['2001:db8:1::/48'] } },
    sans: [{ type: 'ip', value: '2001:db8:2::1' }],
    expected: VIOLATED,
  },
  {
    name: 'IPv6 name under IPv4-only permitted subtrees',
    constraints: { permitted: { ipRanges: ['10.0.0.0/8'] } },
    sans: [{ type: 'ip', value: '::1' }],
    expected: VIOLATED,
  },
  // rfc822Name
  {
    name: 'mailbox constraint, same mailbox',
    constraints: { permitted: { emails: ['ops@example.com'] } },
    sans: [{ type: 'email', value: 'ops@EXAMPLE.com' }],
    expected: undefined,
  },
  {
    name: 'mailbox constraint, other mailbox',
    constraints: { permitted: { emails: ['ops@example.com'] } },
    sans: [{ type: 'email', value: 'dev@example.com' }],
    expected: VIOLATED,
  },
  {
    name: 'host constraint, mailbox at the host',
    constraints: { permitted: { emails: ['example.com'] } },
    sans: [{ type: 'email', value: 'anyone@example.com' }],
    expected: undefined,
  },
  {
    name: 'host constraint, mailbox at a subdomain',
    constraints: { permitted: { emails: ['example.com'] } },
    sans: [{ type: 'email', value: 'a@mail.example.com' }],
    expected: VIOLATED,
  },
  {
    name: 'domain constraint, mailbox at a subdomain',
    constraints: { permitted: { emails: ['.example.com'] } },
    sans: [{ type: 'email', value: 'a@mail.example.com' }],
    expected: undefined,
  },
  {
    name: 'domain constraint, mailbox at the domain itself',
    constraints: { permitted: { emails: ['.example.com'] } },
    sans: [{ type: 'email', value: 'a@example.com' }],
    expected: VIOLATED,
  },
  {
    name: 'excluded host, e-mail in the subject DN',
    constraints: { excluded: { emails: ['evil.test'] } },
    sans: [],
    subject: 'CN=leaf, E=bad@evil.test',
    expected: VIOLATED,
  },
  // URI
  {
    name: 'URI host equal to a permitted host',
    constraints: { permitted: { uriHosts: ['relay.example.com'] } },
    sans: [{ type: 'url', value: 'https://relay.example.com/x' }],
    expected: undefined,
  },
  {
    name: 'URI host under a host-form constraint',
    constraints: { permitted: { uriHosts: ['example.com'] } },
    sans: [{ type: 'url', value: 'https://a.example.com/' }],
    expected: VIOLATED,
  },
  {
    name: 'URI host under a domain-form constraint',
    constraints: { permitted: { uriHosts: ['.cluster.local'] } },
    sans: [{ type: 'url', value: 'spiffe://ns.cluster.local/agent' }],
    expected: undefined,
  },
  {
    name: 'URI in an excluded host',
    constraints: { excluded: { uriHosts: ['evil.test'] } },
    sans: [{ type: 'url', value: 'spiffe://evil.test/agent' }],
    expected: VIOLATED,
  },
  {
    name: 'URI without a host under a URI constraint',
    constraints: { permitted: { uriHosts: ['example.com'] } },
    sans: [{ type: 'url', value: 'urn:uuid:1234' }],
    expected: UNSUPPORTED,
  },
  // other forms do not constrain each other
  {
    name: 'DNS constraints leave IP names alone',
    constraints: { permitted: { dnsNames: ['example.com'] } },
    sans: [
      { type: 'dns', value: 'a.example.com' },
      { type: 'ip', value: '8.8.8.8' },
    ],
    expected: undefined,
  },
];

describe('name constraints on an intermediate (RFC 5280 4.2.1.10), with openssl verify as the oracle', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const int = await constrainedCa(encodeNameConstraints(c.constraints));
      const leaf = await leafUnder(int, c.sans, c.subject);
      const { code, openssl } = await verdicts(leaf, [int]);
      expect(code).toBe(c.expected);
      // openssl treats a URI without a host as a violation rather than as uncheckable; it refuses either way
      expect(openssl).toBe(c.expected === undefined);
    });
  }
});

interface HostCase {
  readonly name: string;
  readonly constraints: NameConstraintsInput;
  readonly sans: X509.JsonGeneralNames;
  readonly subject?: string;
  readonly clientOnly?: boolean;
  readonly expected: CertloopErrorCode | undefined;
  /** With a violation: a host Node's checkServerIdentity matches although the constraints exclude it. */
  readonly host?: string;
}

const EVIL = { excluded: { dnsNames: ['evil.example.com'] } };

// Regression (issue 14, item 1): names TLS clients match that OpenSSL 3 lets through the constraints.
const HOST_CASES: readonly HostCase[] = [
  {
    name: 'partial wildcard ev*',
    constraints: EVIL,
    sans: [{ type: 'dns', value: 'ev*.example.com' }],
    expected: VIOLATED,
    host: 'evil.example.com',
  },
  {
    name: 'partial wildcard *il',
    constraints: EVIL,
    sans: [{ type: 'dns', value: '*il.example.com' }],
    expected: VIOLATED,
    host: 'evil.example.com',
  },
  {
    name: 'inner wildcard e*l',
    constraints: EVIL,
    sans: [{ type: 'dns', value: 'e*l.example.com' }],
    expected: VIOLATED,
    host: 'evil.example.com',
  },
  {
    name: 'wildcard, case and a trailing dot',
    constraints: EVIL,
    sans: [{ type: 'dns', value: 'EV*.Example.COM.' }],
    expected: VIOLATED,
    host: 'evil.example.com',
  },
  {
    name: 'wildcard below the excluded name',
    constraints: EVIL,
    sans: [{ type: 'dns', value: '*.evil.example.com' }],
    expected: VIOLATED,
    host: 'a.evil.example.com',
  },
  {
    name: 'wildcard under an excluded domain',
    constraints: { excluded: { dnsNames: ['.example.com'] } },
    sans: [{ type: 'dns', value: 'x*.example.com' }],
    expected: VIOLATED,
    host: 'xy.example.com',
  },
  {
    name: 'a wildcard that cannot reach the excluded name passes',
    constraints: EVIL,
    sans: [{ type: 'dns', value: 'go*.example.com' }],
    expected: undefined,
  },
  {
    name: 'wildcard CN without SANs',
    constraints: EVIL,
    sans: [],
    subject: 'CN=*.example.com',
    expected: VIOLATED,
    host: 'evil.example.com',
  },
  {
    name: 'CN with a trailing dot',
    constraints: EVIL,
    sans: [],
    subject: 'CN=evil.example.com.',
    expected: VIOLATED,
    host: 'evil.example.com',
  },
  {
    name: 'partial wildcard CN beside an IP SAN',
    constraints: EVIL,
    sans: [{ type: 'ip', value: '192.0.2.1' }],
    subject: 'CN=ev*.example.com',
    expected: VIOLATED,
    host: 'evil.example.com',
  },
  {
    name: 'single-label CN of a server leaf outside the permitted domain',
    constraints: { permitted: { dnsNames: ['example.com'] } },
    sans: [],
    subject: 'CN=localhost',
    expected: VIOLATED,
    host: 'localhost',
  },
  {
    name: 'single-label CN of a client-only leaf (no TLS client takes it as a server)',
    constraints: { permitted: { dnsNames: ['example.com'] } },
    sans: [],
    subject: 'CN=agent-7',
    clientOnly: true,
    expected: undefined,
  },
  {
    name: 'a CN with a space (Node matches no such name)',
    constraints: { permitted: { dnsNames: ['example.com'] } },
    sans: [],
    subject: 'CN=Alice Smith',
    expected: undefined,
  },
  {
    name: 'wildcard under a permitted domain, trailing dot',
    constraints: { permitted: { dnsNames: ['.example.com'] } },
    sans: [{ type: 'dns', value: '*.example.com.' }],
    expected: undefined,
  },
  {
    name: 'wildcard wider than the permitted name',
    constraints: { permitted: { dnsNames: ['a.example.com'] } },
    sans: [{ type: 'dns', value: 'a*.example.com' }],
    expected: VIOLATED,
    host: 'ab.example.com',
  },
];

describe('every name Node matches is checked: wildcards anywhere in the first label, trailing dots, the CN', () => {
  for (const c of HOST_CASES) {
    it(c.name, async () => {
      const int = await constrainedCa(encodeNameConstraints(c.constraints));
      const leaf = await leafUnder(int, c.sans, c.subject, c.clientOnly ? [CLIENT_AUTH] : [SERVER_AUTH]);
      const code = await validateChain({ leafPem: leaf.pem, intermediatesPem: int.pem, trustBundlePem: root.pem }).then(
        () => undefined,
        (err: CertloopError) => err.code,
      );
      expect(code).toBe(c.expected);
      if (c.host) expect(checkServerIdentity(c.host, new X509Certificate(leaf.pem).toLegacyObject())).toBeUndefined();
    });
  }
});

describe('where constraints apply', () => {
  const dnsOnly = encodeNameConstraints({ permitted: { dnsNames: ['example.com'] } });

  it('a non-critical nameConstraints extension is enforced too', async () => {
    const int = await constrainedCa(dnsOnly, { critical: false });
    const leaf = await leafUnder(int, [{ type: 'dns', value: 'evil.test' }]);
    expect((await verdicts(leaf, [int])).code).toBe(VIOLATED);
  });

  it('constraints on the trust anchor bind every certificate below it', async () => {
    const anchor = await issue({
      subject: 'CN=constrained root',
      key: key(),
      ca: true,
      keyUsage: CA_USAGE,
      extraExtensions: [await ncExtension(dnsOnly)],
    });
    const int = await issue({ subject: 'CN=plain int', key: key(), issuer: anchor, ca: true, keyUsage: CA_USAGE });
    const bad = await leafUnder(int, [{ type: 'dns', value: 'evil.test' }]);
    const good = await leafUnder(int, [{ type: 'dns', value: 'svc.example.com' }]);
    expect(await verdicts(bad, [int], anchor)).toEqual({ code: VIOLATED, openssl: false });
    expect(await verdicts(good, [int], anchor)).toEqual({ code: undefined, openssl: true });
  });

  it('directoryName constraints apply to the subject DN of intermediates and leaves; self-issued intermediates are exempt', async () => {
    const permittedDn = seq(
      contextTag(0, true, seq(contextTag(4, true, seq(tlv(0x31, seq(oid(OID.organization), utf8String('certloop'))))))),
    );
    // the constrained CA itself is outside its own subtree: only what it issues is checked
    const int = await constrainedCa(permittedDn, { subject: 'CN=dn int' });
    const selfIssued = await issue({ subject: 'CN=dn int', key: key(), issuer: int, ca: true, keyUsage: CA_USAGE });
    const inside = await leafUnder(selfIssued, [], 'O=certloop, CN=leaf');
    const outside = await leafUnder(int, [], 'O=elsewhere, CN=leaf');
    const insideCaseFolded = await leafUnder(int, [], 'O=CertLoop, CN=leaf');
    expect(await verdicts(inside, [int, selfIssued])).toEqual({ code: undefined, openssl: true });
    expect(await verdicts(outside, [int])).toEqual({ code: VIOLATED, openssl: false });
    expect((await verdicts(insideCaseFolded, [int])).code).toBeUndefined();
    // a non-self-issued intermediate outside the subtree is refused at its own position
    const otherInt = await issue({ subject: 'CN=other int', key: key(), issuer: int, ca: true, keyUsage: CA_USAGE });
    const below = await leafUnder(otherInt, [], 'O=certloop, CN=leaf');
    const err = await validateChain({
      leafPem: below.pem,
      intermediatesPem: int.pem + otherInt.pem,
      trustBundlePem: root.pem,
    }).catch((e: CertloopError) => e);
    expect((err as CertloopError).code).toBe(VIOLATED);
    expect((err as CertloopError).details).toMatchObject({ index: 1, kind: 'directoryName', constrainedBy: 2 });
  });

  it('a name form certloop cannot check under a constraint of that form is refused with its own code', async () => {
    // otherName (a Microsoft UPN) constraint, and a leaf carrying a UPN otherName SAN
    const upnBase = tlv(0xa0, oid('1.3.6.1.4.1.311.20.2.3'), contextTag(0, true, utf8String('@example.com')));
    const int = await constrainedCa(seq(contextTag(0, true, seq(upnBase))));
    const upnLeaf = await leafUnder(int, [{ type: 'upn', value: 'someone@example.com' }]);
    expect((await verdicts(upnLeaf, [int])).code).toBe(UNSUPPORTED);
    // the same constraint says nothing about DNS names
    const dnsLeaf = await leafUnder(int, [{ type: 'dns', value: 'anything.test' }]);
    expect((await verdicts(dnsLeaf, [int])).code).toBeUndefined();
  });

  it('malformed constraints (a mask that is not a prefix, an empty extension) are refused', async () => {
    const badMask = seq(contextTag(0, true, seq(tlv(0x87, new Uint8Array([10, 0, 0, 0, 255, 0, 255, 0])))));
    for (const value of [badMask, seq()]) {
      const int = await constrainedCa(value);
      const leaf = await leafUnder(int, [{ type: 'ip', value: '10.0.0.1' }]);
      expect((await verdicts(leaf, [int])).code).toBe('CERTLOOP_INVALID_DER');
    }
  });

  it('encodeNameConstraints refuses bad configuration', () => {
    for (const input of [{}, { permitted: { ipRanges: ['10.0.0.0/33'] } }, { excluded: { dnsNames: ['ex ample'] } }]) {
      expect(() => encodeNameConstraints(input)).toThrow(expect.objectContaining({ code: 'CERTLOOP_INVALID_CONFIG' }));
    }
  });
});
