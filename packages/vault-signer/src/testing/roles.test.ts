import { X509Certificate } from 'node:crypto';
import { ManualClock } from '@certloop/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCsr } from '../test-support.js';
import { formatDuration, parseDuration } from './duration.js';
import { setupPki, startVaultEmulator, type VaultEmulator, vaultCall } from './index.js';
import { nameAllowed } from './names.js';
import { parseRole } from './roles.js';

describe('role name policy (contract section 2)', () => {
  const cases: [string, Record<string, unknown>, string, boolean][] = [
    ['bare domain allowed', { allowed_domains: 'example.com', allow_bare_domains: true }, 'example.com', true],
    ['bare domain not allowed by default', { allowed_domains: 'example.com' }, 'example.com', false],
    ['subdomain', { allowed_domains: 'example.com', allow_subdomains: true }, 'a.b.example.com', true],
    [
      'subdomain rule does not allow the bare name',
      { allowed_domains: 'example.com', allow_subdomains: true },
      'example.com',
      false,
    ],
    [
      'suffix without a dot is not a subdomain',
      { allowed_domains: 'example.com', allow_subdomains: true },
      'badexample.com',
      false,
    ],
    [
      'wildcard under a subdomain rule',
      { allowed_domains: 'example.com', allow_subdomains: true },
      '*.example.com',
      true,
    ],
    [
      'wildcard refused when wildcards are off',
      { allowed_domains: 'example.com', allow_subdomains: true, allow_wildcard_certificates: false },
      '*.example.com',
      false,
    ],
    ['wildcard only in the left-most label', { allow_any_name: true }, 'a.*.example.com', false],
    ['glob', { allowed_domains: 'agent-*.mesh.local', allow_glob_domains: true }, 'agent-7.mesh.local', true],
    [
      'glob pattern ignored without allow_glob_domains',
      { allowed_domains: 'agent-*.mesh.local' },
      'agent-7.mesh.local',
      false,
    ],
    ['localhost by default', {}, 'localhost', true],
    ['localhost off', { allow_localhost: false }, 'localhost', false],
    ['any name', { allow_any_name: true }, 'whatever.example', true],
    ['enforce_hostnames applies with allow_any_name', { allow_any_name: true }, 'not a host', false],
    ['enforce_hostnames off', { allow_any_name: true, enforce_hostnames: false }, 'not a host', true],
  ];
  for (const [name, fields, host, allowed] of cases) {
    it(name, () => expect(nameAllowed(parseRole(fields), host)).toBe(allowed));
  }

  it('role defaults', () => {
    expect(parseRole({})).toMatchObject({
      key_type: 'rsa',
      key_bits: 2048,
      allow_localhost: true,
      enforce_hostnames: true,
      allow_ip_sans: true,
      allowed_domains: [],
      allow_bare_domains: false,
      allow_subdomains: false,
      allow_glob_domains: false,
      allow_any_name: false,
      allow_wildcard_certificates: true,
      allowed_uri_sans: [],
      require_cn: true,
      use_csr_common_name: true,
      use_csr_sans: true,
      generate_lease: false,
      not_before_duration: 30,
      ttl: 0,
      max_ttl: 0,
    });
    expect(parseRole({ key_type: 'ec' }).key_bits).toBe(256);
  });

  it('durations as Vault reads and writes them', () => {
    expect(parseDuration('24h')).toBe(86_400);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration(90)).toBe(90);
    expect(parseDuration('90')).toBe(90);
    expect(formatDuration(720 * 3600)).toBe('720h0m0s');
    expect(formatDuration(90)).toBe('1m30s');
  });
});

describe('TTL, NotBefore and leaf_not_after_behavior (contract section 3), on a ManualClock', () => {
  const clock = new ManualClock('2026-03-01T00:00:00Z');
  let emu: VaultEmulator;
  let target: { endpoint: string; token: string };

  beforeAll(async () => {
    emu = await startVaultEmulator({ clock });
    target = { endpoint: emu.endpoint, token: emu.rootToken };
    await setupPki({ ...target, intermediateTtl: '1000h', roleFields: { max_ttl: '72h', not_before_duration: '45s' } });
  });
  afterAll(async () => {
    await emu.close();
  });

  const sign = async (role: string, body: Record<string, unknown>) => {
    const csr = await makeCsr({ commonName: 'agent' });
    const answer = await vaultCall(target, 'POST', `pki_int/sign/${role}`, { csr: csr.csrPem, ...body });
    const data = answer?.data as { certificate: string; expiration: number };
    const cert = new X509Certificate(data.certificate);
    return { cert, warnings: answer?.warnings, expiration: data.expiration };
  };

  it('NotBefore is now minus not_before_duration; ttl above max_ttl is capped with the warning', async () => {
    clock.jumpTo(Date.parse('2026-03-01T01:00:00Z')); // an hour after the CAs were made
    const { cert, warnings, expiration } = await sign('certloop', { ttl: '720h' });
    expect(new Date(cert.validFrom).toISOString()).toBe('2026-03-01T00:59:15.000Z');
    expect(new Date(cert.validTo).toISOString()).toBe('2026-03-04T01:00:00.000Z');
    expect(expiration).toBe(Date.parse('2026-03-04T01:00:00Z') / 1000);
    expect(warnings).toEqual(['TTL "720h0m0s" is longer than permitted maxTTL "72h0m0s", so maxTTL is being used']);
  });

  it('the role ttl applies when the request has none', async () => {
    await vaultCall(target, 'POST', 'pki_int/roles/short', { allow_any_name: true, key_type: 'any', ttl: '2h' });
    const { cert, warnings } = await sign('short', {});
    expect(new Date(cert.validTo).toISOString()).toBe('2026-03-01T03:00:00.000Z');
    expect(warnings).toBeNull();
  });

  it('past the CA: err refuses, truncate clamps to the CA notAfter', async () => {
    await vaultCall(target, 'POST', 'pki_int/roles/long', { allow_any_name: true, key_type: 'any', max_ttl: '8760h' });
    clock.jumpTo(Date.parse('2026-04-10T00:00:00Z')); // the intermediate (1000 h) ends on 2026-04-11
    const refused = await sign('long', { ttl: '72h' }).then(
      () => 'issued',
      (e: Error) => e.message,
    );
    expect(refused).toContain('beyond the expiration of the CA certificate');
    const issuer = (await vaultCall(target, 'GET', 'pki_int/issuer/default'))?.data as {
      issuer_id: string;
      certificate: string;
    };
    await vaultCall(target, 'POST', `pki_int/issuer/${issuer.issuer_id}`, { leaf_not_after_behavior: 'truncate' });
    const { cert } = await sign('long', { ttl: '72h' });
    expect(cert.validTo).toBe(new X509Certificate(issuer.certificate).validTo);
  });
});
