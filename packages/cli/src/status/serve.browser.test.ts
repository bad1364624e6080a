/**
 * `certloop status --serve` in a real headless browser: Debian's chromium (installed by scripts/setup-chromium.sh,
 * which .ci/run calls), driven by puppeteer-core. The page must show every secret's validity bar, renewal point,
 * now and state, and follow a rotation live.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSecretStore, DEFAULT_RELAY_SECRET_NAMES as N } from '@certloop/core';
import { createTestPki } from '@certloop/core/testing';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterEach, describe, expect, it } from 'vitest';
import { runCertloop, startCertloop } from '../testing/spawn.js';
import { initialised, type Scratch } from '../testing/workspace.js';
import { StatusBoard } from './board.js';
import { RELAY_ROLES } from './roles.js';
import { startStatusServer } from './serve.js';

const CHROMIUM = '/usr/bin/chromium';

/** What the page functions touch (they run in the browser; no DOM library in this project's types). */
interface PageElement {
  readonly dataset: Record<string, string | undefined>;
  readonly textContent: string | null;
  getBoundingClientRect(): { readonly width: number };
}
declare const document: { querySelector(selector: string): PageElement | null };
const SCREENSHOTS = new URL('../../../../.tmp/', import.meta.url);

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: this test needs Debian's chromium. Install it with \`bash scripts/setup-chromium.sh\` ` +
        '(it runs `apt-get update && apt-get install -y chromium`; .ci/run does this)',
    );
  }
}

async function launch(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'certloop-chromium-'));
  cleanups.push(() => rm(profile, { recursive: true, force: true }));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
    ],
  });
  cleanups.push(() => browser.close());
  return browser;
}

/** Starts `status --serve` and resolves its URL from the first log line. */
async function serve(s: Scratch): Promise<string> {
  const child = startCertloop(
    ['status', '--serve', '--dir', s.store, '--port', '0', '--secrets', 'root,signing,server,token'],
    { cwd: s.dir },
  );
  child.stdin!.end();
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  cleanups.push(async () => {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
  let stderr = '';
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL from certloop status --serve: ${stderr}`)), 20_000);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+\/)"/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
}

describe('certloop status --serve in headless chromium', { timeout: 120_000 }, () => {
  it('`status --serve` draws every certificate and follows a rotation live', async () => {
    requireChromium();
    const s = await initialised();
    cleanups.push(() => s.remove());
    const url = await serve(s);
    const browser = await launch();
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 420 });
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    const lane = `.row[data-secret="${N.server}"]`;
    await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.serial, { timeout: 20_000 }, lane);

    const before = await page.$eval(lane, (e) => (e as unknown as PageElement).dataset.serial!);
    const rows = await page.$$eval('.row', (lanes) =>
      lanes.map((e) => [(e as unknown as PageElement).dataset.secret, (e as unknown as PageElement).dataset.state]),
    );
    expect(rows).toEqual([
      [N.root, 'ok'],
      [N.signing, 'ok'],
      [N.server, 'ok'],
      [N.token, 'ok'],
    ]);
    // bars, renewal marks and the now line, for each certificate
    expect(await page.$$eval('.lane .bar', (bars) => bars.length)).toBe(3);
    expect(await page.$$eval('.lane .renew', (marks) => marks.length)).toBe(3);
    expect(await page.$$eval('.lane .now', (lines) => lines.length)).toBe(3);
    const serverBar = await page.$eval(
      `${lane} .bar`,
      (e) => (e as unknown as PageElement).getBoundingClientRect().width,
    );
    expect(serverBar).toBeGreaterThan(5);
    expect(await page.$eval('#meta', (e) => e.textContent)).toContain('all usable');
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS.pathname, 'status-page-before.png') });

    const rotated = await runCertloop(['rotate', N.server, '--dir', s.store, '-o', 'json'], { cwd: s.dir });
    expect(rotated.code).toBe(0);
    const after = JSON.parse(rotated.stdout).serialNumber as string;
    expect(after).not.toBe(before);
    await page.waitForFunction(
      (sel, serial) => document.querySelector(sel)?.dataset.serial === serial,
      { timeout: 20_000 },
      lane,
      after,
    );
    const facts = await page.$eval(`${lane} .facts`, (e) => e.textContent ?? '');
    expect(facts).toContain(`serial ${after.slice(0, 12)}`);
    expect(facts).toContain('CN=relay-server');
    expect(await page.$eval(lane, (e) => (e as unknown as PageElement).dataset.state)).toBe('ok');
    const shot = join(SCREENSHOTS.pathname, 'status-page-after.png');
    await page.screenshot({ path: shot });
    expect((await stat(shot)).size).toBeGreaterThan(5_000);
  });

  it('the demo view: each certificate on its own scale, a renewal fading the old one out, events, bring-your-own rows, clusters; at 1280 and 390 px', async () => {
    requireChromium();
    const s = await initialised();
    cleanups.push(() => s.remove());
    const store = new FileSecretStore({ directory: s.store });
    cleanups.push(() => store.close());
    // a managed client certificate of 20 s (as the demo rotates them), and cluster-2's from cert-manager
    const server = (await store.get(N.server))!;
    await store.put(N.client, { ...server, version: undefined } as never);
    const short = () =>
      runCertloop(['rotate', 'client', '--dir', s.store, '--lifetime', '20s', '-o', 'json'], { cwd: s.dir });
    expect((await short()).code).toBe(0);
    const byoName = `${N.client}-cluster-2`;
    const foreign = await createTestPki();
    const byo = await foreign.issue({ commonName: 'cluster-2', profile: 'client', lifetimeSeconds: 3600 });
    await store.put(byoName, { ...byo.secret, annotations: { 'cert-manager.io/certificate-name': byoName } });

    const board = new StatusBoard({ watcher: store, roles: [...RELAY_ROLES], ratio: 0.5 });
    const byoBoard = new StatusBoard({
      watcher: store,
      roles: ['client'],
      names: { ...N, client: byoName },
      ratio: 0.5,
    });
    await Promise.all([board.start(), byoBoard.start()]);
    cleanups.push(() => {
      board.stop();
      byoBoard.stop();
    });
    const beat = new Date().toISOString();
    const srv = await startStatusServer({
      board,
      moreBoards: [byoBoard],
      host: '127.0.0.1',
      port: 0,
      storeDescription: `file ${s.store}`,
      refreshMs: 1000,
      clusters: () => [
        {
          cluster: 'cluster-1',
          secret: N.client,
          managed: true,
          replicas: [
            { name: 'replica-1', alive: false, leader: false, connected: false, lastHeartbeat: beat },
            { name: 'replica-2', alive: true, leader: true, connected: true, lastHeartbeat: beat },
            { name: 'replica-3', alive: true, leader: false, connected: true, lastHeartbeat: beat },
          ],
        },
        {
          cluster: 'cluster-2',
          secret: byoName,
          managed: false,
          replicas: [{ name: 'cluster-2-agent', alive: true, leader: false, connected: true, lastHeartbeat: beat }],
        },
      ],
    });
    cleanups.push(() => srv.close());
    const browser = await launch();
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(srv.url, { waitUntil: 'domcontentloaded' });
    const client = `.row[data-secret="${N.client}"]`;
    await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.serial, { timeout: 20_000 }, client);
    await mkdir(SCREENSHOTS, { recursive: true });

    // every row, the bring-your-own one marked; every certificate's bar visible on its own scale
    const rows = (await page.evaluate(
      `[...document.querySelectorAll('.row')].map((r) => [r.dataset.secret, r.dataset.state, !!r.querySelector('.tag')])`,
    )) as [string, string, boolean][];
    expect(rows.map((r) => r[0])).toEqual([N.root, N.signing, N.server, N.client, N.token, byoName]);
    expect(rows.at(-1)).toEqual([byoName, 'ok', true]);
    const shares = (await page.evaluate(
      `[...document.querySelectorAll('.row')].filter((r) => r.querySelector('.bar')).map((r) => r.querySelector('.bar:not(.previous)').getBoundingClientRect().width / r.querySelector('.lane').getBoundingClientRect().width)`,
    )) as number[];
    expect(shares).toHaveLength(5);
    for (const share of shares) expect(share).toBeGreaterThan(0.3);
    // the 20 s certificate's renewal point (ratio 0.5) passes within seconds, and the page says so
    await page.waitForFunction(
      (sel) => document.querySelector(`${sel} .renew.passed`) !== null,
      { timeout: 30_000 },
      client,
    );
    expect(await page.$eval(`${client} .facts`, (e) => e.textContent ?? '')).toContain('renewal point passed');
    // the clusters: replicas, leader, stream, last heartbeat
    const replicas = (await page.evaluate(
      `[...document.querySelectorAll('#clusters tr')].map((tr) => tr.textContent)`,
    )) as string[];
    expect(replicas).toHaveLength(4);
    expect(replicas[1]).toMatch(/replica-2 ★ leaderrunningconnected/);
    expect(replicas[0]).toMatch(/replica-1stoppednot connected/);
    expect(replicas[3]).toMatch(/cluster-2 \(bring-your-own\)cluster-2-agent/);
    await page.screenshot({ path: join(SCREENSHOTS.pathname, 'status-page-1280-before-renewal.png'), fullPage: true });

    // a renewal: the new certificate, the old one fading beside it, the event listed
    const before = await page.$eval(client, (e) => (e as unknown as PageElement).dataset.serial!);
    const renewed = await short();
    const after = JSON.parse(renewed.stdout).serialNumber as string;
    await page.waitForFunction(
      (sel, serial) => document.querySelector(sel)?.dataset.serial === serial,
      { timeout: 20_000 },
      client,
      after,
    );
    await page.waitForFunction(
      (sel) => document.querySelector(`${sel} .bar.previous`) !== null,
      { timeout: 20_000 },
      client,
    );
    expect(await page.$eval(`${client} .bar.previous`, (e) => (e as unknown as PageElement).dataset.serial)).toBe(
      before,
    );
    const events = (await page.evaluate(
      `[...document.querySelectorAll('#events li')].map((li) => li.textContent)`,
    )) as string[];
    expect(events[0]).toMatch(new RegExp(`${N.client} renewed: ${before.slice(0, 8)} -> ${after.slice(0, 8)}`));
    await page.screenshot({ path: join(SCREENSHOTS.pathname, 'status-page-1280-renewed.png'), fullPage: true });

    // a phone: one column, nothing wider than the screen
    await page.setViewport({ width: 390, height: 844 });
    await page.waitForFunction('document.body.dataset.updated', { timeout: 5_000 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    const laneWidth = await page.$eval(
      `${client} .lane`,
      (e) => (e as unknown as PageElement).getBoundingClientRect().width,
    );
    expect(laneWidth).toBeGreaterThan(300);
    const shot = join(SCREENSHOTS.pathname, 'status-page-390-renewed.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(5_000);
  });
});
