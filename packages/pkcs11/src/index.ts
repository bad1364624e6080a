/**
 * `@certloop/pkcs11`: CA keys on a PKCS#11 token (a hardware security module, a smart card, SoftHSM2), generated
 * there and never extractable, signing certificates, CRLs and CSRs through core's `ExternalPrivateKey` seam.
 * Configured by RFC 7512 `pkcs11:` URIs. The native addon (pkcs11js) is a dependency of this package only, so
 * users who never use a token never build it.
 */
export { pkcs11CaKeySource } from './ca-key-source.js';
export { BROKEN_SESSION, ckrOf, pkcs11Error } from './errors.js';
export { isTokenKeyAlgorithm, TOKEN_KEY_ALGORITHMS, type TokenKeyAlgorithm } from './key-material.js';
export { resolveModulePath } from './module.js';
export {
  DEFAULT_RELAY_KEY_LABELS,
  type Pkcs11RelayCaKeysOptions,
  pkcs11RelayCaKeys,
  pkcs11SigningKeys,
} from './relay-keys.js';
export type { PoolStats } from './session-pool.js';
export {
  type CallOptions,
  type GenerateKeyRequest,
  type KeySelector,
  type OpenPkcs11TokenOptions,
  openPkcs11Key,
  type Pkcs11PrivateKey,
  Pkcs11Token,
  type TokenKeyAttributes,
} from './token.js';
export {
  formatPkcs11Uri,
  PKCS11_URI_MAX_LENGTH,
  type Pkcs11ObjectType,
  type Pkcs11Uri,
  parsePkcs11Uri,
} from './uri.js';
