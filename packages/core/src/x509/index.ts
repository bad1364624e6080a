export {};
export { type ChainValidationResult, type ValidateChainOptions, validateChain } from './chain.js';
export { type InspectedCertificate, inspectCertificate, inspectCertificates } from './inspect.js';
export { privateKeyMatchesCertificate } from './key-match.js';
