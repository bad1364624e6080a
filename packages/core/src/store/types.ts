/**
 * `@certloop/core` SecretStore contract.
 *
 * A secret is a small named map of byte values (the shape of a Kubernetes Secret), with a type, labels,
 * annotations and an opaque `version` that changes on every write. Keys in certloop's layout: `tls.crt`,
 * `tls.key`, `ca.crt`, and `token` for the bootstrap token secret.
 */

import type { CertloopError } from '../errors.js';
import type { Secret, SecretInput } from '../secret/types.js';

export type { Secret, SecretInput };

export interface StoreCallOptions {
  readonly signal?: AbortSignal;
}

export interface PutOptions extends StoreCallOptions {
  /**
   * Compare-and-swap precondition: a version string means "only if the stored version is exactly this";
   * `null` means "only if the secret does not exist"; omitted means an unconditional write.
   * A failed precondition throws `CERTLOOP_CONFLICT` and writes nothing.
   */
  readonly expectedVersion?: string | null;
}

export interface DeleteOptions extends StoreCallOptions {
  /**
   * Like {@link PutOptions.expectedVersion}: a stale version throws `CERTLOOP_CONFLICT` and deletes nothing.
   * A secret already missing resolves `false` whatever the version (as Kubernetes answers 404, not 409).
   */
  readonly expectedVersion?: string;
}

export interface ListOptions extends StoreCallOptions {
  /** Only secrets carrying every one of these labels with these values. */
  readonly labelSelector?: Readonly<Record<string, string>>;
  /**
   * For backends that can hold an entry that cannot be read as a secret (the file store: a corrupt or oversized
   * secret directory): such a secret is left out of the result and reported here, once per call, with its
   * name in `error.details.name`. One unreadable secret never makes `list` fail for the others.
   */
  readonly onCorrupt?: (error: CertloopError) => void;
}

/**
 * Contract, for every adapter (memory, file, Kubernetes, ...):
 * - Safe for concurrent use, within a process and (where the backend allows it) across processes.
 * - `get` resolves `undefined` for a missing secret; it never throws for "missing".
 * - `put` is atomic: a reader sees the old or the new secret whole, never a mix. It resolves the stored secret
 *   with its new version. With `expectedVersion` it is a compare-and-swap; a conflict throws `CERTLOOP_CONFLICT`.
 * - `delete` resolves `true` when it removed the secret, `false` when it was already missing.
 * - `list` resolves secrets sorted by name. A secret the backend holds but cannot read is left out and reported
 *   to `onCorrupt`; it never fails the whole list.
 * - Names follow Kubernetes' DNS-subdomain rule (lower-case alphanumerics, `-` and `.`, at most 253 characters,
 *   starting and ending alphanumeric); data keys match `[-._a-zA-Z0-9]+`. Anything else throws
 *   `CERTLOOP_INVALID_NAME` before any I/O.
 * - Every call honours `signal`: an aborted call rejects with `CERTLOOP_ABORTED` and, if it had not yet
 *   committed, writes nothing.
 * - Secrets returned by `get`, `list` and `put` are copies: mutating them never changes the store. (Watch events
 *   are shared read-only snapshots instead: see the `Watcher` contract.)
 */
export interface SecretStore {
  get(name: string, options?: StoreCallOptions): Promise<Secret | undefined>;
  put(name: string, secret: SecretInput, options?: PutOptions): Promise<Secret>;
  delete(name: string, options?: DeleteOptions): Promise<boolean>;
  list(options?: ListOptions): Promise<Secret[]>;
}
