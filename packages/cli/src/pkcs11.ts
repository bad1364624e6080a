/**
 * `certloop` and PKCS#11: keys on a token through `@certloop/pkcs11`, loaded only when a command asks for it
 * (`--key-store pkcs11`, `--ca pkcs11`, `demo --ca pkcs11`), so the native addon it needs is an optional install.
 * The PIN comes from the URI's `pin-source` (a file) or `pin-value`, or from `CERTLOOP_PKCS11_PIN`; never a flag.
 */
import type * as Pkcs11 from '@certloop/pkcs11';
import { cliError } from './lib/errors.js';

export type Pkcs11Module = typeof Pkcs11;

/** `@certloop/pkcs11`, or a usage error saying how to install it. */
export async function loadPkcs11(): Promise<Pkcs11Module> {
  try {
    return await import('@certloop/pkcs11');
  } catch (err) {
    throw cliError(
      'CERTLOOP_USAGE',
      'PKCS#11 keys need the @certloop/pkcs11 package, which is not installed',
      'npm install @certloop/pkcs11 (it builds the pkcs11js native addon: python3, make and a C++ compiler)',
      err,
    );
  }
}

export interface Pkcs11Flags {
  readonly pkcs11Uri?: string | undefined;
}

/** The token options from the flags: the URI, and the PIN from the environment when the URI gives none. */
export function pkcs11Options(
  flags: Pkcs11Flags,
  env: Readonly<Record<string, string | undefined>>,
  what: string,
): { uri: string; pin?: string } {
  const uri = flags.pkcs11Uri;
  if (!uri) {
    throw cliError(
      'CERTLOOP_USAGE',
      `${what} needs --pkcs11-uri`,
      "pass --pkcs11-uri 'pkcs11:token=NAME?module-path=/path/module.so&pin-source=/path/pin' (or set CERTLOOP_PKCS11_URI)",
    );
  }
  const pin = env.CERTLOOP_PKCS11_PIN;
  return { uri, ...(pin !== undefined && !/[?&]pin-(source|value)=/.test(uri) ? { pin } : {}) };
}

/** The label of the signing key: the URI's `object=`, else `relay-signing`. */
export function signingLabel(pkcs11: Pkcs11Module, uri: string): string {
  return pkcs11.parsePkcs11Uri(uri).object ?? pkcs11.DEFAULT_RELAY_KEY_LABELS.intermediate;
}
