import { stripVTControlCharacters } from 'node:util';
import { FileSecretStore, ManualClock, DEFAULT_RELAY_SECRET_NAMES as N } from '@certloop/core';
import { createTestPki } from '@certloop/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { errorCode, runCertloop, startCertloop } from '../testing/spawn.js';
import { initialised, type Scratch } from '../testing/workspace.js';

let s: Scratch;
afterEach(() => s?.remove());

const HEALTHY = ['--secrets', 'root,signing,server,token'];
const ESC = String.fromCharCode(27);

describe('certloop status', { timeout: 120_000 }, () => {
  it('shows every relay secret in a table, nothing cut off a terminal, and exits 1 when one is missing', async () => {
    s = await initialised();
    const r = await runCertloop(['status', '--dir', s.store], { cwd: s.dir });
    expect(r.code).toBe(1);
    expect(errorCode(r.stderr)).toBe('CERTLOOP_CHECK_FAILED');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ROLE\s+NAME\s+STATE\s+OWNER\s+SUBJECT\s+ISSUER\s+NOT AFTER\s+RENEW AT\s+LEFT$/);
    expect(lines.map((l) => l.split(/\s+/).slice(0, 3).join(' ')).slice(1, 6)).toEqual([
      `root ${N.root} ok`,
      `signing ${N.signing} ok`,
      `server ${N.server} ok`,
      `client ${N.client} missing`,
      `token ${N.token} ok`,
    ]);
    expect(r.stdout).not.toContain('…'); // off a terminal nothing is cut
    expect(r.stdout).toContain('certloop relay signing CA');
    expect(r.stdout).not.toContain(ESC); // not a terminal: no colours
  });

  it('exits 0 when every secret asked for is usable, with JSON and YAML that say the same', async () => {
    s = await initialised();
    const json = await runCertloop(['status', '--dir', s.store, ...HEALTHY, '-o', 'json'], { cwd: s.dir });
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout).secrets;
    expect(rows.map((x: { name: string; state: string }) => [x.name, x.state])).toEqual([
      [N.root, 'ok'],
      [N.signing, 'ok'],
      [N.server, 'ok'],
      [N.token, 'ok'],
    ]);
    const server = rows[2];
    expect(server).toMatchObject({ managed: true, subject: 'CN=relay-server', issuer: 'CN=certloop relay signing CA' });
    // renewal at ratio 0.1 of the lifetime before notAfter
    const life = Date.parse(server.notAfter) - Date.parse(server.notBefore);
    expect(Date.parse(server.notAfter) - Date.parse(server.renewAt)).toBeCloseTo(0.1 * life, -4);
    const yaml = await runCertloop(['status', '--dir', s.store, ...HEALTHY, '-o', 'yaml'], { cwd: s.dir });
    expect(yaml.code).toBe(0);
    expect(parse(yaml.stdout).secrets.map((x: { state: string }) => x.state)).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('colours only when forced or on a terminal, and never with NO_COLOR or --no-color', async () => {
    s = await initialised();
    const args = ['status', '--dir', s.store, ...HEALTHY];
    const forced = await runCertloop(args, { cwd: s.dir, env: { FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain(ESC);
    expect(stripVTControlCharacters(forced.stdout).split('\n')[1]).toMatch(/^root\s+\S+\s+ok/);
    const noColor = await runCertloop(args, { cwd: s.dir, env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
    expect(noColor.stdout).not.toContain(ESC);
    const flag = await runCertloop(['--no-color', ...args], { cwd: s.dir, env: { FORCE_COLOR: '1' } });
    expect(flag.stdout).not.toContain(ESC);
  });

  it('reports bring-your-own, expired and invalid secrets, and exits 1', async () => {
    s = await initialised();
    const store = new FileSecretStore({ directory: s.store });
    const past = await createTestPki({ clock: new ManualClock(Date.now() - 40 * 86_400_000) });
    const expired = await past.issue({ commonName: 'agent-1', profile: 'client', lifetimeSeconds: 86_400 });
    await store.put(N.client, expired.secret);
    const current = await store.get(N.server);
    await store.put(N.server, { ...current!, annotations: { 'cert-manager.io/certificate-name': 'relay-server' } });
    await store.put(N.token, { data: { token: new TextEncoder().encode('short') } });
    await store.close();
    const r = await runCertloop(['status', '--dir', s.store, '-o', 'json'], { cwd: s.dir });
    expect(r.code).toBe(1);
    const byRole = Object.fromEntries(JSON.parse(r.stdout).secrets.map((x: { role: string }) => [x.role, x]));
    expect(byRole.server).toMatchObject({ state: 'ok', managed: false });
    expect(byRole.client).toMatchObject({ state: 'expired', subject: 'CN=agent-1' });
    expect(byRole.client.secondsLeft).toBeLessThan(0);
    expect(byRole.token).toMatchObject({ state: 'invalid', errorCode: 'CERTLOOP_TOKEN_INVALID' });
    const text = await runCertloop(['status', '--dir', s.store], { cwd: s.dir });
    expect(text.stdout).toMatch(/^server\s+\S+\s+ok\s+byo\s/m);
    expect(text.stdout).toMatch(/^client\s+\S+\s+expired\s/m);
  });

  it('--watch off a terminal logs one JSON line per secret, then one per change, and stops cleanly on SIGTERM', async () => {
    s = await initialised();
    const child = startCertloop(['status', '--dir', s.store, '--watch'], { cwd: s.dir });
    child.stdin!.end();
    const lines: Record<string, unknown>[] = [];
    let buffer = '';
    const waiters: Array<() => void> = [];
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const p of parts) lines.push(JSON.parse(p));
      for (const w of waiters.splice(0)) w();
    });
    const until = async (check: () => boolean) => {
      const deadline = Date.now() + 15_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out; lines: ${JSON.stringify(lines)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    };
    await until(() => lines.length >= 5);
    expect(lines.slice(0, 5).map((l) => [l.role, l.state])).toEqual([
      ['root', 'ok'],
      ['signing', 'ok'],
      ['server', 'ok'],
      ['client', 'missing'],
      ['token', 'ok'],
    ]);
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'secret status', secret: N.root });
    expect(lines[3]).toMatchObject({ level: 'warn' });
    const before = lines[2]!.serial;
    const rotated = await runCertloop(['rotate', N.server, '--dir', s.store, '-o', 'json'], { cwd: s.dir });
    expect(rotated.code).toBe(0);
    const serial = JSON.parse(rotated.stdout).serialNumber;
    expect(serial).not.toBe(before);
    await until(() => lines.some((l) => l.secret === N.server && l.serial === serial));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
