/**
 * Every piece of advice `certloop status` can print names a command that works in that situation (issue 17, item 2):
 * each situation is made in a real file store, status is asked (JSON, then text), and the command its advice names is
 * run against the same store. Commands run in this process through runCli (the binary's own function) to stay fast.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FileSecretStore, generateKeyPair, ManualClock, DEFAULT_RELAY_SECRET_NAMES as N } from '@certloop/core';
import { createTestPki } from '@certloop/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { argvOf, runInProcess } from '../testing/in-process.js';
import { type Scratch, scratch } from '../testing/workspace.js';
import { adviceFor } from './advice.js';
import type { SecretStatus } from './board.js';

let s: Scratch;
afterEach(() => s?.remove());

interface Row {
  role: string;
  name: string;
  state: string;
  advice?: { text: string; command?: string };
}

async function init(): Promise<Scratch> {
  const made = await scratch();
  const r = await runInProcess(['init', '--dir', made.store], { cwd: made.dir });
  expect(r.code).toBe(0);
  return made;
}

async function status(...extra: string[]): Promise<{ code: number | null; rows: Record<string, Row>; stderr: string }> {
  const r = await runInProcess(['status', '--dir', s.store, '-o', 'json', ...extra], { cwd: s.dir });
  const rows = Object.fromEntries((JSON.parse(r.stdout).secrets as Row[]).map((row) => [row.role, row]));
  return { code: r.code, rows, stderr: r.stderr };
}

/** Runs the command the advice names; it must succeed (or, for a look at an expired certificate, say so). */
async function follow(
  advice: Row['advice'],
  expected: { code: number; stderr: string | RegExp } = { code: 0, stderr: '' },
) {
  expect(advice?.command).toBeDefined();
  const r = await runInProcess(argvOf(advice!.command!), { cwd: s.dir });
  expect(r.code).toBe(expected.code);
  expect(r.stderr).toMatch(typeof expected.stderr === 'string' ? new RegExp(`^${expected.stderr}$`) : expected.stderr);
  return r;
}

describe('status advice, followed', { timeout: 60_000 }, () => {
  it('right after init: the client secret is the agent’s to make, and the check without it passes', async () => {
    s = await init();
    const first = await status();
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/^certloop: CERTLOOP_CHECK_FAILED: .*\.secrets\[\]\.advice/);
    expect(first.stderr).not.toContain('table above');
    const client = first.rows.client!;
    expect(client.state).toBe('missing');
    expect(client.advice!.text).toMatch(/made by the agent/);
    expect(client.advice!.command).toBe(`certloop status --secrets root,signing,server,token --dir ${s.store}`);
    await follow(client.advice);
    expect(first.rows.server!.advice).toBeUndefined();
    // the table says the same under it, and the error line points there
    const text = await runInProcess(['status', '--dir', s.store], { cwd: s.dir });
    expect(text.stdout).toContain('what to do:');
    expect(text.stdout).toContain(`  client (${N.client}, missing): `);
    expect(text.stdout).toContain(`    certloop status --secrets root,signing,server,token --dir ${s.store}`);
    expect(text.stderr).toContain('the advice under the table');
  });

  it('a missing token (or server, or intermediate): certloop init makes just that', async () => {
    s = await init();
    await rm(join(s.store, N.token), { recursive: true, force: true });
    const before = await status('--secrets', 'root,signing,server,token');
    expect(before.rows.token).toMatchObject({ state: 'missing' });
    expect(before.rows.token!.advice!.command).toBe(`certloop init --dir ${s.store}`);
    await follow(before.rows.token!.advice);
    expect((await status('--secrets', 'root,signing,server,token')).code).toBe(0);
  });

  it('a root kept offline (the intermediate is there): check without it', async () => {
    s = await init();
    await rm(join(s.store, N.root), { recursive: true, force: true });
    const r = await status();
    expect(r.rows.root!.advice!.text).toMatch(/kept offline/);
    expect(r.rows.root!.advice!.command).toBe(`certloop status --secrets signing,server,token --dir ${s.store}`);
    await follow(r.rows.root!.advice);
  });

  it('a managed certificate due for renewal: certloop rotate by role renews it', async () => {
    s = await init();
    const due = await status('--secrets', 'server', '--ratio', '0.99999999');
    expect(due.rows.server).toMatchObject({ state: 'renewal-due' });
    expect(due.rows.server!.advice!.command).toBe(`certloop rotate server --dir ${s.store}`);
    const rotated = await follow(due.rows.server!.advice);
    expect(rotated.stdout).toMatch(new RegExp(`^rotated ${N.server}: serial `));
  });

  it('an invalid managed certificate (key does not match) and an invalid token: certloop rotate mends each', async () => {
    s = await init();
    const store = new FileSecretStore({ directory: s.store });
    const server = (await store.get(N.server))!;
    const other = await generateKeyPair({ algorithm: 'ECDSA-P256' });
    await store.put(
      N.server,
      { ...server, data: { ...server.data, 'tls.key': new TextEncoder().encode(other.privateKeyPem) } },
      { expectedVersion: server.version },
    );
    const token = (await store.get(N.token))!;
    await store.put(
      N.token,
      { ...token, data: { token: new TextEncoder().encode('short') } },
      { expectedVersion: token.version },
    );
    await store.close();
    const bad = await status('--secrets', 'server,token');
    expect(bad.rows.server).toMatchObject({ state: 'invalid' });
    expect(bad.rows.token).toMatchObject({ state: 'invalid' });
    expect(bad.rows.server!.advice!.command).toBe(`certloop rotate server --dir ${s.store}`);
    expect(bad.rows.token!.advice!.command).toBe(`certloop rotate token --dir ${s.store}`);
    await follow(bad.rows.server!.advice);
    await follow(bad.rows.token!.advice);
    expect((await status('--secrets', 'server,token')).code).toBe(0);
  });

  it('an expired bring-your-own certificate: the owner’s tool, and a certloop command that only looks', async () => {
    s = await init();
    const store = new FileSecretStore({ directory: s.store });
    const past = await createTestPki({ clock: new ManualClock(Date.now() - 40 * 86_400_000) });
    const expired = await past.issue({ commonName: 'agent-1', profile: 'client', lifetimeSeconds: 86_400 });
    await store.put(N.client, {
      ...expired.secret,
      annotations: { 'cert-manager.io/certificate-name': 'relay-client' },
    });
    await store.close();
    const r = await status();
    expect(r.rows.client).toMatchObject({ state: 'expired' });
    expect(r.rows.client!.advice!.text).toMatch(/bring-your-own.*cmctl renew relay-client-tls-secret/);
    expect(r.rows.client!.advice!.command).toBe(`certloop inspect --secret client --dir ${s.store}`);
    // inspect shows it, and exits 1 saying why it fails (as it does for any certificate past its end)
    const look = await follow(r.rows.client!.advice, { code: 1, stderr: /^certloop: CERTLOOP_CHAIN_EXPIRED: / });
    expect(look.stdout).toContain('agent-1');
  });

  it('the root CA due or expired, and a certificate not yet valid: a command that shows it (never a write)', async () => {
    s = await init();
    const now = new Date();
    const row = (state: SecretStatus['state'], role: SecretStatus['role']): SecretStatus => ({
      role,
      name: N[role],
      state,
      managed: true,
      notBefore: new Date(now.getTime() + 60_000),
    });
    const ctx = { storeArgs: `--dir ${s.store}` };
    const root = adviceFor(row('expired', 'root'), [], ctx)!;
    expect(root.text).toMatch(/does not replace a root in place/);
    expect(root.command).toBe(`certloop inspect --secret root --dir ${s.store}`);
    await follow(root);
    const early = adviceFor(row('not-yet-valid', 'server'), [], ctx)!;
    expect(early.text).toMatch(/check this machine's clock/);
    await follow(early);
    expect(adviceFor(row('expired', 'signing'), [], ctx)!.command).toBe(`certloop rotate signing --dir ${s.store}`);
    await follow(adviceFor(row('expired', 'signing'), [], ctx));
  });

  it('rotate of a secret not there yet says what makes it: the agent for the client, init for the others', async () => {
    s = await init();
    const client = await runInProcess(['rotate', 'client', '--dir', s.store], { cwd: s.dir });
    expect(client.code).toBe(5);
    expect(client.stderr).toMatch(
      /^certloop: CERTLOOP_NOT_FOUND: .*has no secret relay-client-tls-secret; the agent makes/,
    );
    expect(client.stderr).not.toContain('certloop init');
    await rm(join(s.store, N.server), { recursive: true, force: true });
    const server = await runInProcess(['inspect', '--secret', 'server', '--dir', s.store], { cwd: s.dir });
    expect(server.stderr).toContain(`\`certloop init --dir ${s.store}\` creates it`);
    const unknown = await runInProcess(['rotate', 'nope', '--dir', s.store], { cwd: s.dir });
    expect(unknown.stderr).toContain('lists the relay');
  });
});

describe('names: rows show role and secret name, and every command takes either (issue 17, item 3)', {
  timeout: 60_000,
}, () => {
  it('status shows both; rotate and inspect --secret take the role, the alias intermediate, or the name', async () => {
    s = await init();
    const table = await runInProcess(['status', '--dir', s.store, '--secrets', 'root,signing,server,token'], {
      cwd: s.dir,
    });
    expect(table.stdout).toMatch(new RegExp(`^server\\s+${N.server}\\s+ok\\s`, 'm'));
    expect(table.stdout).toMatch(new RegExp(`^signing\\s+${N.signing}\\s+ok\\s`, 'm'));
    for (const word of ['server', N.server]) {
      const r = await runInProcess(['inspect', '--secret', word, '--dir', s.store], { cwd: s.dir });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout).toContain('relay-server');
    }
    for (const word of ['server', 'intermediate', 'token', N.server]) {
      const r = await runInProcess(['rotate', word, '--dir', s.store, '-o', 'json'], { cwd: s.dir });
      expect({ word, code: r.code, stderr: r.stderr }).toEqual({ word, code: 0, stderr: '' });
    }
  });
});
