/**
 * `@certloop/pkcs11/testing` SoftHSM2 fixture: a fresh SoftHSM2 token per call, in a temporary SOFTHSM2_CONF made
 * once per process, initialised through PKCS#11 itself (C_InitToken, C_InitPIN), so tests run real PKCS#11 calls
 * against a real token and nothing is mocked.
 *
 * SoftHSM2 reads SOFTHSM2_CONF when the module is initialised, so the first call sets it in `process.env` (to a
 * directory removed when the process exits); processes the test starts (the CLI, pkcs11-tool) get it from
 * {@link SoftHsmToken.env}. When SoftHSM2 is missing, it throws an error saying how to install it: HSM tests fail
 * loudly rather than skip.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ckrOf, pkcs11Error } from '../errors.js';
import { findSlot, loadModule } from '../module.js';
import { formatPkcs11Uri } from '../uri.js';

/** Where Debian, Ubuntu, Fedora and Homebrew put SoftHSM2's module. */
export const SOFTHSM_MODULE_PATHS = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib64/pkcs11/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
  '/opt/homebrew/lib/softhsm/libsofthsm2.so',
];

export const SOFTHSM_INSTALL_HINT =
  'SoftHSM2 is not installed, and the PKCS#11 tests run against it: install it with `bash scripts/setup-softhsm.sh` ' +
  '(as root; on Debian or Ubuntu that is `apt-get install softhsm2 opensc`), or set CERTLOOP_SOFTHSM_MODULE to the ' +
  'path of libsofthsm2.so';

/** The SoftHSM2 module's path; throws, saying how to install it, when it is missing. */
export function softHsmModulePath(): string {
  const configured = process.env.CERTLOOP_SOFTHSM_MODULE;
  const found = configured ? [configured].filter(existsSync) : SOFTHSM_MODULE_PATHS.filter(existsSync);
  if (!found[0]) throw new Error(SOFTHSM_INSTALL_HINT);
  return found[0];
}

/** pkcs11-tool (Debian's opensc), or an error saying how to install it. */
export function pkcs11ToolPath(): string {
  for (const path of ['/usr/bin/pkcs11-tool', '/usr/local/bin/pkcs11-tool', '/opt/homebrew/bin/pkcs11-tool']) {
    if (existsSync(path)) return path;
  }
  throw new Error(`pkcs11-tool is not installed: ${SOFTHSM_INSTALL_HINT}`);
}

export interface SoftHsmToken {
  readonly label: string;
  /** The user PIN. */
  readonly pin: string;
  readonly soPin: string;
  readonly modulePath: string;
  /** A file holding the PIN (mode 0600), for `pin-source`. */
  readonly pinFile: string;
  /** `SOFTHSM2_CONF` for processes a test starts. */
  readonly env: { readonly SOFTHSM2_CONF: string };
  /**
   * `pkcs11:token=LABEL[;object=...;type=private]?module-path=...&pin-source=PINFILE`
   * (`pin: 'value'` puts the PIN in the URI itself instead, as `pin-value`).
   */
  uri(options?: { readonly object?: string; readonly pin?: 'source' | 'value' }): string;
  /** Runs pkcs11-tool against this token, logged in; resolves its output. */
  pkcs11Tool(args: readonly string[]): Promise<string>;
}

let fixtureDir: string | undefined;

function fixtureConf(): string {
  if (fixtureDir && process.env.SOFTHSM2_CONF === join(fixtureDir, 'softhsm2.conf')) return process.env.SOFTHSM2_CONF;
  fixtureDir = mkdtempSync(join(tmpdir(), 'certloop-softhsm-'));
  const tokens = join(fixtureDir, 'tokens');
  mkdirSync(tokens, { mode: 0o700 });
  const conf = join(fixtureDir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  const dir = fixtureDir;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return conf;
}

let tokens = 0;

/** A fresh, initialised SoftHSM2 token with a user PIN (labels are unique per process unless given). */
export async function createSoftHsmToken(
  options: { readonly label?: string; readonly pin?: string; readonly soPin?: string } = {},
): Promise<SoftHsmToken> {
  const modulePath = softHsmModulePath();
  const conf = fixtureConf();
  const label = options.label ?? `certloop-${process.pid}-${++tokens}`;
  const pin = options.pin ?? '1234-user';
  const soPin = options.soPin ?? '5678-so';
  const module = loadModule(modulePath);
  try {
    const { lib, api } = module;
    const free = lib.C_GetSlotList(true).find((slot) => !(lib.C_GetTokenInfo(slot).flags & api.CKF_TOKEN_INITIALIZED));
    if (!free) throw new Error('SoftHSM2 offers no free slot');
    try {
      lib.C_InitToken(free, soPin, label.padEnd(32, ' '));
    } catch (err) {
      throw pkcs11Error(err, 'C_InitToken');
    }
    const { slot } = findSlot(module, { token: label, vendor: {} });
    const session = lib.C_OpenSession(slot, api.CKF_SERIAL_SESSION | api.CKF_RW_SESSION);
    try {
      lib.C_Login(session, api.CKU_SO, soPin);
      lib.C_InitPIN(session, pin);
      lib.C_Logout(session);
    } catch (err) {
      if (ckrOf(err)) throw pkcs11Error(err, 'C_InitPIN');
      throw err;
    } finally {
      lib.C_CloseSession(session);
    }
  } finally {
    module.release();
  }
  const pinFile = join(fixtureDir!, `${label}.pin`);
  writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
  const env = { SOFTHSM2_CONF: conf };
  return {
    label,
    pin,
    soPin,
    modulePath,
    pinFile,
    env,
    uri(uriOptions = {}) {
      return formatPkcs11Uri(
        {
          token: label,
          ...(uriOptions.object !== undefined ? { object: uriOptions.object, type: 'private' as const } : {}),
          modulePath,
          ...(uriOptions.pin === 'value' ? { pinValue: pin } : { pinSource: pinFile }),
          vendor: {},
        },
        { includePin: true },
      );
    },
    pkcs11Tool(args) {
      const tool = pkcs11ToolPath();
      const full = ['--module', modulePath, '--token-label', label, '--login', '--pin', pin, ...args];
      return new Promise((resolve, reject) => {
        execFile(tool, full, { env: { ...process.env, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`pkcs11-tool ${args.join(' ')} failed: ${stderr || err.message}`));
          else resolve(stdout);
        });
      });
    },
  };
}
