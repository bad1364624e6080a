/**
 * `@certloop/pkcs11` relay CA keys: core's `RelayCaKeys` on a token, so `bootstrapRelayPki` makes the relay's root
 * and intermediate keys there (labels `relay-root` and `relay-signing` by default) and the store keeps only their
 * certificates.
 */
import type { ExternalPrivateKey, RelayCaKeys } from '@certloop/core';
import type { Pkcs11Token } from './token.js';

export interface Pkcs11RelayCaKeysOptions {
  readonly token: Pkcs11Token;
  /** Label of the root CA key (default `relay-root`). */
  readonly rootLabel?: string;
  /** Label of the signing (intermediate) CA key (default `relay-signing`). */
  readonly intermediateLabel?: string;
}

export const DEFAULT_RELAY_KEY_LABELS = { root: 'relay-root', intermediate: 'relay-signing' } as const;

/** The relay's CA keys on `token` (see {@link Pkcs11RelayCaKeysOptions}). */
export function pkcs11RelayCaKeys(options: Pkcs11RelayCaKeysOptions): RelayCaKeys {
  const { token } = options;
  const labels = {
    root: options.rootLabel ?? DEFAULT_RELAY_KEY_LABELS.root,
    intermediate: options.intermediateLabel ?? DEFAULT_RELAY_KEY_LABELS.intermediate,
  };
  return {
    description: token.description,
    async key(request, callOptions = {}) {
      const label = labels[request.role];
      return request.create
        ? token.ensureKey({ label, algorithm: request.algorithm }, callOptions)
        : token.findKey({ label }, callOptions);
    },
  };
}

/**
 * Finds the signing CA's key on `token` by the public key of the certificate in force (RelayServer's `signingKey`
 * resolver): a signing secret replaced by a CA whose new key was made on the token signs with that key.
 */
export function pkcs11SigningKeys(
  token: Pkcs11Token,
): (certificate: { readonly spkiDer: Uint8Array }) => Promise<ExternalPrivateKey | undefined> {
  return (certificate) => token.keyForPublicKey(certificate.spkiDer);
}
