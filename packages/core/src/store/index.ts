export type {
  DeleteOptions,
  ListOptions,
  PutOptions,
  Secret,
  SecretInput,
  SecretStore,
  StoreCallOptions,
} from './types.js';
