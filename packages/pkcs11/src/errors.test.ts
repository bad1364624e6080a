import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pkcs11Error } from './errors.js';
import { pkcs11js } from './module.js';
import { codeOf } from './test-support.js';
import { createSoftHsmToken, type SoftHsmToken } from './testing/index.js';
import { openPkcs11Key, Pkcs11Token } from './token.js';

let hsm: SoftHsmToken;
let token: Pkcs11Token;

beforeAll(async () => {
  hsm = await createSoftHsmToken();
  token = await Pkcs11Token.open({ uri: hsm.uri() });
});
afterAll(() => token?.close());

/** Everything an error shows: message, details, and its causes' messages and stacks. */
function everything(err: unknown): string {
  const parts: string[] = [];
  for (
    let e = err as { message?: string; stack?: string; details?: unknown; cause?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  ) {
    parts.push(String(e.message), String(e.stack), JSON.stringify(e.details ?? {}));
  }
  return parts.join('\n');
}

describe('typed PKCS#11 errors, on a real SoftHSM2 token', () => {
  it('a module that is not there: CERTLOOP_PKCS11_MODULE_NOT_FOUND', async () => {
    expect(
      await codeOf(Pkcs11Token.open({ uri: 'pkcs11:token=a?module-path=/nonexistent/libnothing.so&pin-value=1' })),
    ).toBe('CERTLOOP_PKCS11_MODULE_NOT_FOUND');
    expect(await codeOf(Pkcs11Token.open({ uri: 'pkcs11:token=a?module-name=no-such-module&pin-value=1' }))).toBe(
      'CERTLOOP_PKCS11_MODULE_NOT_FOUND',
    );
  });

  it('a file that is no PKCS#11 module: CERTLOOP_PKCS11_MODULE_UNLOADABLE', async () => {
    const fake = join(tmpdir(), `certloop-not-a-module-${process.pid}.so`);
    writeFileSync(fake, 'not an ELF file');
    expect(await codeOf(Pkcs11Token.open({ uri: `pkcs11:token=a?module-path=${fake}&pin-value=1` }))).toBe(
      'CERTLOOP_PKCS11_MODULE_UNLOADABLE',
    );
  });

  it('a token that is not there: CERTLOOP_PKCS11_TOKEN_NOT_FOUND', async () => {
    const uri = hsm.uri().replace(`token=${hsm.label}`, 'token=no-such-token');
    expect(await codeOf(Pkcs11Token.open({ uri }))).toBe('CERTLOOP_PKCS11_TOKEN_NOT_FOUND');
  });

  it('a key that is not there: CERTLOOP_PKCS11_OBJECT_NOT_FOUND', async () => {
    expect(await codeOf(openPkcs11Key({ uri: hsm.uri({ object: 'no-such-key' }) }))).toBe(
      'CERTLOOP_PKCS11_OBJECT_NOT_FOUND',
    );
    expect(await codeOf(token.key({ id: new Uint8Array([9, 9, 9]) }))).toBe('CERTLOOP_PKCS11_OBJECT_NOT_FOUND');
  });

  it('a wrong PIN: CERTLOOP_PKCS11_PIN_INCORRECT, and neither PIN appears anywhere in the error', async () => {
    // a token nobody in this process is logged in to (PKCS#11 login state is per process and token)
    const hsm = await createSoftHsmToken();
    let caught: unknown;
    try {
      await Pkcs11Token.open({ uri: hsm.uri(), pin: 'wrong-pin-0000' });
    } catch (err) {
      caught = err;
    }
    expect((caught as { code?: string }).code).toBe('CERTLOOP_PKCS11_PIN_INCORRECT');
    expect(everything(caught)).not.toContain('wrong-pin-0000');
    expect(everything(caught)).not.toContain(hsm.pin);
    // a PIN in the URI (pin-value) is not shown either
    const inUri = hsm.uri({ pin: 'value' }).replace(hsm.pin, 'wrong-pin-1111');
    expect(await codeOf(Pkcs11Token.open({ uri: inUri }))).toBe('CERTLOOP_PKCS11_PIN_INCORRECT');
    try {
      await Pkcs11Token.open({ uri: inUri });
    } catch (err) {
      expect(everything(err)).not.toContain('wrong-pin-1111');
    }
  });

  it('no PIN at all: CERTLOOP_INVALID_CONFIG; an unreadable pin-source: CERTLOOP_FILE_UNREADABLE', async () => {
    const noPin = `pkcs11:token=${hsm.label}?module-path=${hsm.modulePath}`;
    expect(await codeOf(Pkcs11Token.open({ uri: noPin }))).toBe('CERTLOOP_INVALID_CONFIG');
    expect(await codeOf(Pkcs11Token.open({ uri: `${noPin}&pin-source=/nonexistent/pin` }))).toBe(
      'CERTLOOP_FILE_UNREADABLE',
    );
    expect(await codeOf(Pkcs11Token.open({ uri: `${noPin}&pin-source=file://${hsm.pinFile}` }))).toBe('resolved');
  });

  it('a key that is extractable, or too weak: CERTLOOP_PKCS11_KEY_REJECTED', async () => {
    await hsm.pkcs11Tool([
      '--keypairgen',
      '--key-type',
      'EC:prime256v1',
      '--label',
      'extractable',
      '--extractable',
      '--usage-sign',
    ]);
    expect(await codeOf(token.key({ label: 'extractable' }))).toBe('CERTLOOP_PKCS11_KEY_REJECTED');
    await hsm.pkcs11Tool(['--keypairgen', '--key-type', 'rsa:1024', '--label', 'weak', '--sensitive', '--usage-sign']);
    expect(await codeOf(token.key({ label: 'weak' }))).toBe('CERTLOOP_PKCS11_KEY_REJECTED');
    await hsm.pkcs11Tool([
      '--keypairgen',
      '--key-type',
      'EC:secp256k1',
      '--label',
      'k1',
      '--sensitive',
      '--usage-sign',
    ]);
    expect(await codeOf(token.key({ label: 'k1' }))).toBe('CERTLOOP_PKCS11_KEY_REJECTED');
  });

  it('too many callers waiting for a session: CERTLOOP_PKCS11_SESSION_LIMIT', async () => {
    const narrow = await Pkcs11Token.open({ uri: hsm.uri(), maxSessions: 1, maxWaiting: 1 });
    try {
      const key = await narrow.ensureKey({ label: 'narrow', algorithm: 'RSA-2048' });
      const data = new Uint8Array(32);
      const results = await Promise.allSettled([1, 2, 3].map(() => key.sign({ hash: 'SHA-256', data })));
      expect(results.map((r) => (r.status === 'fulfilled' ? 'signed' : (r.reason as { code: string }).code))).toEqual([
        'signed',
        'signed',
        'CERTLOOP_PKCS11_SESSION_LIMIT',
      ]);
    } finally {
      narrow.close();
    }
  });

  it('maps the token answers SoftHSM2 never gives (it does not lock PINs or cap sessions) from pkcs11js errors', () => {
    const { Pkcs11Error } = pkcs11js() as unknown as { Pkcs11Error: new (message: string) => Error };
    const cases: [string, string][] = [
      ['CKR_PIN_LOCKED:164', 'CERTLOOP_PKCS11_PIN_LOCKED'],
      ['CKR_SESSION_COUNT:177', 'CERTLOOP_PKCS11_SESSION_LIMIT'],
      ['CKR_TOKEN_NOT_PRESENT:224', 'CERTLOOP_PKCS11_TOKEN_NOT_FOUND'],
      ['CKR_KEY_FUNCTION_NOT_PERMITTED:104', 'CERTLOOP_PKCS11_KEY_REJECTED'],
      ['CKR_DEVICE_ERROR:48', 'CERTLOOP_PKCS11_FAILED'],
    ];
    for (const [native, code] of cases) {
      const err = pkcs11Error(new Pkcs11Error(native), 'C_Login');
      expect(err.code).toBe(code);
    }
  });

  it('a closed token refuses: CERTLOOP_CLOSED', async () => {
    const closing = await Pkcs11Token.open({ uri: hsm.uri() });
    closing.close();
    expect(await codeOf(closing.findKey({ label: 'x' }))).toBe('CERTLOOP_CLOSED');
  });
});
