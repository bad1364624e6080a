import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSoftHsmToken, type SoftHsmToken } from './testing/index.js';
import { Pkcs11Token } from './token.js';

let hsm: SoftHsmToken;
beforeAll(async () => {
  hsm = await createSoftHsmToken();
});
const opened: Pkcs11Token[] = [];
afterAll(() => {
  for (const token of opened) token.close();
});

describe('the session pool', () => {
  it('runs concurrent signatures on sessions of their own, up to maxSessions, and reuses them', async () => {
    const token = await Pkcs11Token.open({ uri: hsm.uri(), maxSessions: 4 });
    opened.push(token);
    const key = await token.generateKey({ label: 'pooled', algorithm: 'RSA-2048' });
    expect(token.sessions).toMatchObject({ open: 1, idle: 1, waiting: 0 });
    const data = new Uint8Array(64);
    const signatures = await Promise.all(Array.from({ length: 12 }, () => key.sign({ hash: 'SHA-256', data })));
    expect(signatures).toHaveLength(12);
    // the 12 did not wait on one session: 4 were open at once, and every session went back to the pool
    expect(token.sessions).toEqual({ open: 4, idle: 4, waiting: 0, maxSessions: 4 });
    await Promise.all(Array.from({ length: 12 }, () => key.sign({ hash: 'SHA-256', data })));
    expect(token.sessions.open).toBe(4);
  });

  it('a pool of one serialises: every signature waits for the one session', async () => {
    const token = await Pkcs11Token.open({ uri: hsm.uri(), maxSessions: 1 });
    opened.push(token);
    const key = await token.ensureKey({ label: 'pooled', algorithm: 'RSA-2048' });
    const pending = Array.from({ length: 5 }, () => key.sign({ hash: 'SHA-256', data: new Uint8Array(8) }));
    expect(token.sessions.waiting).toBeGreaterThanOrEqual(1);
    await Promise.all(pending);
    expect(token.sessions).toEqual({ open: 1, idle: 1, waiting: 0, maxSessions: 1 });
  });

  it('logs in again after every session was closed (PKCS#11 logs the application out with its last session)', async () => {
    const first = await Pkcs11Token.open({ uri: hsm.uri() });
    const key = await first.ensureKey({ label: 'relogin' });
    first.close();
    for (const token of opened.splice(0)) token.close();
    const again = await Pkcs11Token.open({ uri: hsm.uri() });
    opened.push(again);
    const same = await again.key({ label: 'relogin' });
    expect(Buffer.from(same.spkiDer)).toEqual(Buffer.from(key.spkiDer));
    expect((await same.sign({ hash: 'SHA-256', data: new Uint8Array(4) })).length).toBeGreaterThan(60);
  });
});
