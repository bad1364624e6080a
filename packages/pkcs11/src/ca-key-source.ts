/**
 * `@certloop/pkcs11` CA rotation keys: core's `CaKeySource` on a token, so a CA rotation (`CaRotation`,
 * `CaRotator`, `certloop ca ...`) makes the new CA's key on the token, signs its certificate there, and destroys the
 * old CA's key there at retire; the store keeps only certificates.
 *
 * A new key is labelled after its rotation slot (`relay-ca-rotation-<rotation id>-root` or `-int`), so a resumed
 * prepare finds the key an interrupted one made; every other key (the bootstrap's `relay-root`, `relay-signing`, an
 * earlier rotation's) is found by the public key of its certificate.
 */
import type { CaKeySource } from '@certloop/core';
import type { Pkcs11Token } from './token.js';

/** The CA keys of a rotation on `token`: made there (private, sensitive, never extractable), found there, destroyed there. */
export function pkcs11CaKeySource(token: Pkcs11Token): CaKeySource {
  return {
    description: token.description,
    create: (request, options = {}) => token.ensureKey({ label: request.name, algorithm: request.algorithm }, options),
    find: (spkiDer, options = {}) => token.keyForPublicKey(spkiDer, options),
    async destroy(spkiDer, options = {}) {
      const key = await token.keyForPublicKey(spkiDer, options);
      if (!key) return false;
      return token.destroyKey(key.id.length ? { id: key.id } : { label: key.label }, options);
    },
  };
}
