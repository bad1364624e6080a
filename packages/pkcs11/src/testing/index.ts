/**
 * `@certloop/pkcs11/testing`: a SoftHSM2 token fixture for tests of code that keeps keys on a PKCS#11 token.
 */
export {
  createSoftHsmToken,
  pkcs11ToolPath,
  SOFTHSM_INSTALL_HINT,
  SOFTHSM_MODULE_PATHS,
  type SoftHsmToken,
  softHsmModulePath,
} from './softhsm.js';
