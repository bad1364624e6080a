export { FileSecretStore, type FileSecretStoreOptions } from './file-store.js';
export {
  DEFAULT_ISSUANCE_LEDGER_SECRET,
  MemoryIssuanceLedger,
  StoreIssuanceLedger,
  type StoreIssuanceLedgerOptions,
} from './issuance-ledger.js';
export { MemorySecretStore } from './memory-store.js';
export {
  assertDataKey,
  assertSecretInput,
  assertSecretName,
  isValidDataKey,
  isValidSecretName,
  MAX_SECRET_BYTES,
  type NormalizedSecretInput,
} from './names.js';
export type {
  DeleteOptions,
  ListOptions,
  PutOptions,
  Secret,
  SecretInput,
  SecretStore,
  StoreCallOptions,
} from './types.js';
