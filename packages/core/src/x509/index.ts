export { type ParsedCertificate, parseCertificate } from './certificate.js';
export { type ChainValidationResult, type ValidateChainOptions, validateChain } from './chain.js';
export { CRL_LIMITS, type CrlInput, type ParsedCrl, parseCrl, REVOCATION_REASONS, readCrls } from './crl.js';
export {
  type CryptoEngine,
  createWebCryptoEngine,
  type EngineKey,
  type EngineKeyPair,
  type EngineSignRequest,
  type EngineVerifyRequest,
  type ExternalPrivateKey,
  externalKeyEngine,
  type HashName,
  isExternalPrivateKey,
  nodeCryptoEngine,
  type WebCryptoLike,
} from './crypto-engine.js';
export {
  type CreateCsrRequest,
  CSR_LIMITS,
  createCsr,
  type ParsedCsr,
  parseCsr,
  type RequestedExtension,
  verifyCsr,
} from './csr.js';
export { ecdsaDerToRaw, ecdsaRawToDer } from './ecdsa-signature.js';
export { type DecodedExtensions, decodeExtensions } from './extensions.js';
export { canonicalIpAddress, decodeGeneralNames, encodeGeneralNames } from './general-names.js';
export { type InspectedCertificate, inspectCertificate, inspectCertificates } from './inspect.js';
export { ISSUER_KEY_CACHE_SIZE } from './issuer-key-cache.js';
export { privateKeyMatchesCertificate } from './key-match.js';
export { MIN_RSA_BITS } from './key-strength.js';
export { type GenerateKeyPairRequest, generateKeyPair, type ImportedPrivateKey, importPrivateKey } from './keys.js';
export { type DecodedName, decodeName, encodeName } from './name.js';
export { encodeNameConstraints, type NameConstraintsInput, type NameSubtrees } from './name-constraints.js';
export {
  joinPemBundle,
  PEM_LIMITS,
  type PemBlock,
  type PemBounds,
  pemDecode,
  pemEncode,
  pemSplit,
  splitPemBundle,
} from './pem.js';
export { type ExportPkcs12Request, exportPkcs12 } from './pkcs12.js';
export { type CreateSelfSignedCaRequest, createSelfSignedCa, type SelfSignedCa } from './self-signed.js';
export { describePublicKey } from './spki.js';
export {
  type DistinguishedName,
  type ExtKeyUsageName,
  KEY_ALGORITHMS,
  KEY_USAGE_BITS,
  type KeyAlgorithm,
  type KeyPair,
  type KeyUsageName,
  type PublicKeyInfo,
  type SubjectAltNames,
} from './types.js';
