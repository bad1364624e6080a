/**
 * Internal (`@certloop/pkcs11`): loading a PKCS#11 module and finding a token in it.
 *
 * A PKCS#11 module is initialised once per process (C_Initialize a second time is CKR_CRYPTOKI_ALREADY_INITIALIZED),
 * so modules are shared by path with a reference count: this is the one process-wide table in the package, and it
 * exists because the standard makes the module's state process-wide, not by choice.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CertloopError } from '@certloop/core';
import type * as Pkcs11Js from 'pkcs11js';
import { ckrOf, pkcs11Error } from './errors.js';
import type { Pkcs11Uri } from './uri.js';

export type Pkcs11Api = typeof Pkcs11Js;
export type Handle = Buffer;

const require = createRequire(import.meta.url);
let api: Pkcs11Api | undefined;

/** The pkcs11js addon, loaded on first use (so importing this package costs nothing until a token is opened). */
export function pkcs11js(): Pkcs11Api {
  if (api) return api;
  try {
    api = require('pkcs11js') as Pkcs11Api;
    return api;
  } catch (err) {
    throw new CertloopError(
      'CERTLOOP_PKCS11_MODULE_UNLOADABLE',
      'the pkcs11js native addon is not installed or did not build (it needs python3, make and a C++ compiler at install)',
      { cause: err },
    );
  }
}

/** Where modules are looked for by `module-name` (RFC 7512), besides a name that is already a path. */
const MODULE_DIRS = [
  '/usr/lib/x86_64-linux-gnu/pkcs11',
  '/usr/lib/aarch64-linux-gnu/pkcs11',
  '/usr/lib/pkcs11',
  '/usr/lib64/pkcs11',
  '/usr/lib/softhsm',
  '/usr/lib/x86_64-linux-gnu/softhsm',
  '/usr/lib/aarch64-linux-gnu/softhsm',
  '/usr/local/lib/softhsm',
  '/usr/lib',
  '/usr/local/lib',
];

/** The module's path from `module-path`, or `module-name` looked up in the usual directories. */
export function resolveModulePath(uri: Pick<Pkcs11Uri, 'modulePath' | 'moduleName'>, fallback?: string): string {
  if (uri.modulePath) return uri.modulePath;
  if (uri.moduleName) {
    const name = uri.moduleName;
    if (!/^[A-Za-z0-9._+-]+$/.test(name)) {
      throw new CertloopError('CERTLOOP_PKCS11_URI_INVALID', 'module-name is a file name without a directory');
    }
    for (const dir of MODULE_DIRS) {
      for (const file of [`${name}.so`, `lib${name}.so`, name]) {
        if (existsSync(`${dir}/${file}`)) return `${dir}/${file}`;
      }
    }
    throw new CertloopError('CERTLOOP_PKCS11_MODULE_NOT_FOUND', `no PKCS#11 module named ${name}`, {
      details: { moduleName: name, searched: MODULE_DIRS },
    });
  }
  if (fallback) return fallback;
  throw new CertloopError(
    'CERTLOOP_PKCS11_URI_INVALID',
    'the pkcs11: URI names no module: add ?module-path=/path/to/module.so',
  );
}

export interface LoadedModule {
  readonly path: string;
  readonly lib: Pkcs11Js.PKCS11;
  readonly api: Pkcs11Api;
  release(): void;
}

interface Entry {
  lib: Pkcs11Js.PKCS11;
  refs: number;
}

const modules = new Map<string, Entry>();

/** Loads and initialises the module at `path` (shared with other users in this process). */
export function loadModule(path: string): LoadedModule {
  const p11 = pkcs11js();
  let entry = modules.get(path);
  if (!entry) {
    if (!existsSync(path)) {
      throw new CertloopError('CERTLOOP_PKCS11_MODULE_NOT_FOUND', `no PKCS#11 module at ${path}`, {
        details: { modulePath: path },
      });
    }
    const lib = new p11.PKCS11();
    try {
      lib.load(path);
    } catch (err) {
      throw new CertloopError('CERTLOOP_PKCS11_MODULE_UNLOADABLE', `${path} cannot be loaded as a PKCS#11 module`, {
        cause: err,
        details: { modulePath: path },
      });
    }
    try {
      // OS locking: the module may be called from several threads (pkcs11js's *Async calls run on the pool)
      lib.C_Initialize({ flags: p11.CKF_OS_LOCKING_OK });
    } catch (err) {
      if (ckrOf(err) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
        try {
          lib.close();
        } catch {
          // the module failed to initialise; unloading is best effort
        }
        throw new CertloopError('CERTLOOP_PKCS11_MODULE_UNLOADABLE', `${path} did not initialise`, {
          cause: err,
          details: { modulePath: path, ...(ckrOf(err) ? { ckr: ckrOf(err) } : {}) },
        });
      }
    }
    entry = { lib, refs: 0 };
    modules.set(path, entry);
  }
  entry.refs++;
  const held = entry;
  let released = false;
  return {
    path,
    lib: held.lib,
    api: p11,
    release() {
      if (released) return;
      released = true;
      held.refs--;
      if (held.refs === 0 && modules.get(path) === held) {
        modules.delete(path);
        try {
          held.lib.C_Finalize();
        } finally {
          held.lib.close();
        }
      }
    },
  };
}

const trimmed = (value: string) => value.replace(/[\s\0]+$/, '');

/** The slot whose token matches the URI's token and slot attributes; `CERTLOOP_PKCS11_TOKEN_NOT_FOUND` otherwise. */
export function findSlot(module: LoadedModule, uri: Pkcs11Uri): { slot: Handle; label: string } {
  const { lib } = module;
  let slots: Handle[];
  try {
    slots = lib.C_GetSlotList(true);
  } catch (err) {
    throw pkcs11Error(err, 'C_GetSlotList');
  }
  const matches: { slot: Handle; label: string }[] = [];
  for (const slot of slots) {
    let token: Pkcs11Js.TokenInfo;
    let info: Pkcs11Js.SlotInfo;
    try {
      token = lib.C_GetTokenInfo(slot);
      info = lib.C_GetSlotInfo(slot);
    } catch {
      continue; // a slot whose token went away meanwhile
    }
    const label = trimmed(token.label);
    if (uri.token !== undefined && label !== uri.token) continue;
    if (uri.manufacturer !== undefined && trimmed(token.manufacturerID) !== uri.manufacturer) continue;
    if (uri.model !== undefined && trimmed(token.model) !== uri.model) continue;
    if (uri.serial !== undefined && trimmed(token.serialNumber) !== uri.serial) continue;
    if (uri.slotDescription !== undefined && trimmed(info.slotDescription) !== uri.slotDescription) continue;
    if (uri.slotManufacturer !== undefined && trimmed(info.manufacturerID) !== uri.slotManufacturer) continue;
    if (uri.slotId !== undefined && slotNumber(slot) !== uri.slotId) continue;
    matches.push({ slot, label });
  }
  const where = { ...(uri.token !== undefined ? { token: uri.token } : {}), modulePath: module.path };
  if (matches.length === 0) {
    throw new CertloopError('CERTLOOP_PKCS11_TOKEN_NOT_FOUND', 'no token matches the pkcs11: URI', {
      details: where,
    });
  }
  if (matches.length > 1) {
    throw new CertloopError('CERTLOOP_PKCS11_TOKEN_NOT_FOUND', 'several tokens match: name one (token=, serial=)', {
      details: { ...where, matches: matches.map((m) => m.label) },
    });
  }
  return matches[0]!;
}

/** A slot handle (CK_SLOT_ID, little-endian on the platforms pkcs11js builds for) as a number. */
function slotNumber(slot: Handle): number {
  return slot.length >= 8 ? Number(slot.readBigUInt64LE(0)) : slot.readUInt32LE(0);
}
