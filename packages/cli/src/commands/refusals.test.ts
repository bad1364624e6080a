/**
 * Refusals state the limit or the missing piece and what to do (issue 17, item 4): the CLI relays core's typed
 * errors (codes stable), whose messages carry the limit, and its hint says which flag or command to use.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_RELAY_SECRET_NAMES as N } from '@certloop/core';
import { createTestPki } from '@certloop/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { runInProcess } from '../testing/in-process.js';
import { errorCode } from '../testing/spawn.js';
import { type Scratch, scratch } from '../testing/workspace.js';

let s: Scratch;
afterEach(() => s?.remove());

describe('refusals name the limit and the way out', { timeout: 60_000 }, () => {
  it('issue --lifetime 100y: the maximum for the profile, and the flag to change', async () => {
    s = await scratch();
    expect((await runInProcess(['init', '--dir', s.store], { cwd: s.dir })).code).toBe(0);
    const r = await runInProcess(
      [
        'issue',
        '--dir',
        s.store,
        '--cn',
        'agent-1',
        '--profile',
        'client',
        '--lifetime',
        '100y',
        '--cert-out',
        'a.crt',
        '--key-out',
        'a.key',
      ],
      { cwd: s.dir },
    );
    expect(r.code).toBe(5);
    expect(errorCode(r.stderr)).toBe('CERTLOOP_POLICY_LIFETIME_EXCEEDED');
    expect(r.stderr).toMatch(/maximum of \d+ days for a client certificate.*--lifetime/);
  });

  it('inspect --trust with the wrong bundle: the issuer that is missing, what the bundle holds', async () => {
    s = await scratch();
    expect((await runInProcess(['init', '--dir', s.store], { cwd: s.dir })).code).toBe(0);
    const pki = await createTestPki();
    const leaf = await pki.issue({ commonName: 'svc', dnsNames: ['svc.example'], profile: 'client' });
    await writeFile(
      join(s.dir, 'tls.crt'),
      leaf.certificatePem.split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n',
    );
    await writeFile(join(s.dir, 'other.crt'), await readFile(join(s.store, N.root, 'tls.crt'), 'utf8'));
    const r = await runInProcess(['inspect', 'tls.crt', '--trust', 'other.crt'], { cwd: s.dir });
    expect(r.code).toBe(1);
    expect(errorCode(r.stderr)).toBe('CERTLOOP_CHAIN_UNTRUSTED');
    expect(r.stderr).toMatch(/no certificate of the issuer ".+" of "CN=svc"/);
    expect(r.stderr).toMatch(/the trust bundle holds ".*certloop relay root CA.*"/);
  });
});
