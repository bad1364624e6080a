/**
 * `@certloop/core` Secret: the one shape every store, watcher, rotator and provider shares.
 *
 * It lives below `store/` and `watch/` so both (and the TLS layout beside it) depend on it, not on each other.
 * A secret is a small named map of byte values (the shape of a Kubernetes Secret), with a type, labels,
 * annotations and an opaque `version` that changes on every write.
 */

/** A stored secret. `version` is opaque: compare it for equality only. */
export interface Secret {
  readonly name: string;
  /** `Opaque` by default; `kubernetes.io/tls` for TLS secrets written by certloop. */
  readonly type: string;
  readonly data: Readonly<Record<string, Uint8Array>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly version: string;
}

/** What a caller writes: everything but the name and version. Omitted fields default to empty / `Opaque`. */
export interface SecretInput {
  readonly type?: string;
  readonly data: Readonly<Record<string, Uint8Array>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}
