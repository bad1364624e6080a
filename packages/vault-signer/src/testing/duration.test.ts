import { createRequire } from 'node:module';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';
import { startVaultEmulator, type VaultEmulator } from './index.js';

// the TTL forms of go-secure-stdlib's parseutil.ParseDurationSecond, as Vault's TypeDurationSecond fields read them
describe('durations Vault accepts (contract section 9)', () => {
  const accepted: [unknown, number][] = [
    ['1.5h', 5400],
    ['90m', 5400],
    ['1h30m', 5400],
    ['3600', 3600],
    ['3600s', 3600],
    [3600, 3600],
    ['7d', 7 * 86_400],
    ['0', 0],
    ['+60', 60],
    ['.5h', 1800],
    ['1.h', 3600],
    ['1500ms', 1], // truncated toward zero, as int(dur.Seconds())
    ['2h45m30.5s', 9930],
    ['1m0.9s', 60],
    ['1µs', 0],
    ['', 0],
    [undefined, 0],
  ];
  it.each(accepted)('%s is %d seconds', (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  const refused: [unknown, string][] = [
    ['abc', 'time: invalid duration "abc"'],
    ['1.5', 'time: missing unit in duration "1.5"'],
    [1.5, 'time: missing unit in duration "1.5"'],
    ['1d12h', 'time: unknown unit "d" in duration "1d12h"'],
    ['1.5d', 'strconv.ParseInt: parsing "1.5": invalid syntax'],
    ['1y', 'time: unknown unit "y" in duration "1y"'],
    ['h', 'time: invalid duration "h"'],
    ['-5', "cannot provide negative value '-5'"],
    ['-1h', "cannot provide negative value '-3600'"],
    [true, 'could not parse duration from input'],
  ];
  it.each(refused)("%s is refused with Go's text", (input, text) => {
    let caught: { status?: number; errors?: readonly string[] } = {};
    try {
      parseDuration(input, 'ttl');
    } catch (err) {
      caught = err as typeof caught;
    }
    expect(caught.status).toBe(400);
    expect(caught.errors?.[0]).toBe(
      `Field validation failed: error converting input ${String(input)} for field "ttl": ${text}`,
    );
  });
});

describe('TTL strings on the wire, through node-vault', () => {
  const loaded = createRequire(import.meta.url)('mustache') as { render?: unknown; default?: unknown };
  const mustache = typeof loaded.render === 'function' ? loaded : loaded.default;
  let emu: VaultEmulator;
  let root: nodeVault.client;
  beforeAll(async () => {
    emu = await startVaultEmulator();
    root = nodeVault({ endpoint: emu.endpoint, token: emu.rootToken, noCustomHTTPVerbs: true, mustache } as never);
    await root.mount({ mount_point: 'pki', type: 'pki', config: { max_lease_ttl: '87600h' } });
  });
  afterAll(() => emu.close());

  it('roles, roots, mounts and AppRole roles take every form; reads give seconds', async () => {
    await root.mount({ mount_point: 'pki2', type: 'pki', config: { max_lease_ttl: '30d' } });
    const generated = await root.write('pki/root/generate/internal', { common_name: 'r', key_type: 'ec', ttl: '1.5h' });
    expect(generated.data.expiration - Math.floor(Date.now() / 1000)).toBeGreaterThan(5300);
    expect(generated.data.expiration - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(5400);
    await root.write('pki/roles/r', { allow_any_name: true, ttl: '90m', max_ttl: '1h30m', not_before_duration: '45s' });
    expect((await root.read('pki/roles/r')).data).toMatchObject({ ttl: 5400, max_ttl: 5400, not_before_duration: 45 });
    await root.enableAuth({ mount_point: 'approle', type: 'approle' });
    await root.write('auth/approle/role/a', { token_ttl: '1.5h', token_max_ttl: '1d', secret_id_ttl: 600 });
    expect((await root.read('auth/approle/role/a')).data).toMatchObject({
      token_ttl: 5400,
      token_max_ttl: 86_400,
      secret_id_ttl: 600,
    });
  });

  it("a bad TTL is a 400 with Vault's text and changes nothing", async () => {
    await root.write('pki/roles/keep', { allow_any_name: true, ttl: '1h' });
    for (const ttl of ['abc', '1.5', '1d12h']) {
      const err = (await root.write('pki/roles/keep', { ttl }).catch((e: unknown) => e)) as {
        response: { statusCode: number; body: { errors: string[] } };
      };
      expect(err.response.statusCode).toBe(400);
      expect(err.response.body.errors[0]).toMatch(
        /^Field validation failed: error converting input .* for field "ttl": /,
      );
    }
    expect((await root.read('pki/roles/keep')).data.ttl).toBe(3600);
  });
});
