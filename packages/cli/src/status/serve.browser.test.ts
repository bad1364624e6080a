/**
 * `certloop status --serve` in a real headless browser: Debian's chromium (installed by scripts/setup-chromium.sh,
 * which .ci/run calls), driven by puppeteer-core. The page must show every secret's validity bar, renewal point,
 * now and state, and follow a rotation live.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RELAY_SECRET_NAMES as N } from '@certloop/core';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterEach, describe, expect, it } from 'vitest';
import { runCertloop, startCertloop } from '../testing/spawn.js';
import { initialised, type Scratch } from '../testing/workspace.js';

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
  it('draws every secret on one time axis and follows a rotation live', async () => {
    requireChromium();
    const s = await initialised();
    cleanups.push(() => s.remove());
    const url = await serve(s);
    const browser = await launch();
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 420 });
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    const lane = `.lane[data-secret="${N.server}"]`;
    await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.serial, { timeout: 20_000 }, lane);

    const before = await page.$eval(lane, (e) => (e as unknown as PageElement).dataset.serial!);
    const rows = await page.$$eval('.lane', (lanes) =>
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
    expect(await page.$$eval('.lane .now', (lines) => lines.length)).toBe(4);
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
    expect(facts).toContain(`serial ${after.slice(0, 16)}`);
    expect(facts).toContain('CN=relay-server');
    expect(await page.$eval(lane, (e) => (e as unknown as PageElement).dataset.state)).toBe('ok');
    const shot = join(SCREENSHOTS.pathname, 'status-page-after.png');
    await page.screenshot({ path: shot });
    expect((await stat(shot)).size).toBeGreaterThan(5_000);
  });
});
