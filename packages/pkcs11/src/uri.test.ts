import { describe, expect, it } from 'vitest';
import { codeOf } from './test-support.js';
import { formatPkcs11Uri, parsePkcs11Uri } from './uri.js';

describe('parsePkcs11Uri (RFC 7512)', () => {
  it('reads the token, object, type, id and the query attributes step-ca takes', () => {
    const uri = parsePkcs11Uri(
      'pkcs11:token=certloop;object=relay-signing;type=private;id=%01%ab?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/secrets/pin',
    );
    expect(uri).toMatchObject({
      token: 'certloop',
      object: 'relay-signing',
      type: 'private',
      modulePath: '/usr/lib/softhsm/libsofthsm2.so',
      pinSource: '/run/secrets/pin',
    });
    expect([...uri.id!]).toEqual([0x01, 0xab]);
  });

  it('reads the RFC 7512 examples', () => {
    expect(parsePkcs11Uri('pkcs11:').vendor).toEqual({});
    expect(parsePkcs11Uri('pkcs11:object=my-pubkey;type=public').type).toBe('public');
    const full = parsePkcs11Uri(
      'pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=',
    );
    expect(full.token).toBe('The Software PKCS#11 Softtoken');
    expect(full.manufacturer).toBe('Snake Oil, Inc.');
    expect(full.serial).toBe('');
    expect(parsePkcs11Uri('pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1').token).toBe(
      'Name with a small A with acute: á',
    );
    expect(
      parsePkcs11Uri(
        'pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a'.replace(
          'vendor-aaa',
          'x-vendor-aaa',
        ),
      ).vendor,
    ).toEqual({
      'x-vendor-aaa': 'value-a',
    });
    expect(parsePkcs11Uri('pkcs11:slot-description=Sun%20Metaslot;library-version=1.0').libraryVersion).toBe('1.0');
    expect(parsePkcs11Uri('pkcs11:slot-id=3?pin-value=1234').slotId).toBe(3);
    expect(parsePkcs11Uri('pkcs11:object=a?module-name=softhsm2').moduleName).toBe('softhsm2');
  });

  const refused: [string, string][] = [
    ['another scheme', 'pkcs12:token=a'],
    ['an attribute twice', 'pkcs11:token=a;token=b'],
    ['an unknown path attribute', 'pkcs11:tokne=a'],
    ['an unknown query attribute', 'pkcs11:token=a?pin=1234'],
    ['a bad escape', 'pkcs11:token=%G1'],
    ['a truncated escape', 'pkcs11:token=a%2'],
    ['invalid UTF-8', 'pkcs11:token=%C3%28'],
    ['a space', 'pkcs11:token=a b'],
    ['a "/" in the path', 'pkcs11:object=a/b'],
    ['a fragment', 'pkcs11:token=a#frag'],
    ['an unknown type', 'pkcs11:type=secret'],
    ['a slot-id that is not a number', 'pkcs11:slot-id=0x1'],
    ['an empty id', 'pkcs11:id='],
    ['a name without a value', 'pkcs11:token'],
    ['both pin-source and pin-value', 'pkcs11:token=a?pin-source=/p&pin-value=1'],
    ['both module-path and module-name', 'pkcs11:token=a?module-path=/m.so&module-name=m'],
    ['an empty module-path', 'pkcs11:token=a?module-path='],
    ['an overlong URI', `pkcs11:token=${'a'.repeat(5000)}`],
  ];
  for (const [what, text] of refused) {
    it(`refuses ${what}`, async () => {
      expect(await codeOf(() => parsePkcs11Uri(text))).toBe('CERTLOOP_PKCS11_URI_INVALID');
    });
  }

  it('never puts a pin-value in an error', async () => {
    for (const text of ['pkcs11:token=a?pin-value=s3cret&pin-value=s3cret', 'pkcs11:tok=a?pin-value=s3cret']) {
      try {
        parsePkcs11Uri(text);
        expect.unreachable();
      } catch (err) {
        expect(JSON.stringify({ ...(err as object), message: (err as Error).message })).not.toContain('s3cret');
      }
    }
  });

  it('formats a URI back, redacting the PIN unless asked', () => {
    const uri = parsePkcs11Uri('pkcs11:token=a%20b;object=k;type=private;id=%00%ff?module-path=/m.so&pin-value=s3cret');
    expect(formatPkcs11Uri(uri)).toBe(
      'pkcs11:token=a%20b;object=k;id=%00%FF;type=private?module-path=/m.so&pin-value=REDACTED',
    );
    expect(parsePkcs11Uri(formatPkcs11Uri(uri, { includePin: true }))).toEqual(uri);
  });
});
