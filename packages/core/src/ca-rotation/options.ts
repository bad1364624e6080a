/**
 * `@certloop/core` CA rotation: the options of {@link CaRotation} (manual steps) and {@link CaRotator} (automatic).
 */
import type { CertificateAuthority } from '../ca/types.js';
import type { Clock } from '../clock/clock.js';
import type { LeaderElector } from '../leader/types.js';
import type { RelaySecretNames } from '../relay/layout.js';
import type { SecretStore } from '../store/types.js';
import type { CryptoEngine } from '../x509/crypto-engine.js';
import type { BundleConsumerKind, ConvergenceSource, RenewalRequester } from './consumers.js';
import type { CaKeyBackend, CaKeySource, CaKind, DwellTimes, IssuanceLedger, TrustBundlePublisher } from './types.js';

/** The secret holding the rotation records (one data key per CA: `root.json`, `intermediate.json`). */
export const DEFAULT_CA_ROTATION_SECRET = 'relay-ca-rotation';

/** A consumer that must be seen holding {A, B} before activate, even if it never reported. */
export interface ExpectedConsumer {
  readonly consumer: string;
  readonly kind: BundleConsumerKind;
}

export interface CaRotationOptions {
  /** Which CA this instance rotates. */
  readonly ca: CaKind;
  readonly store: SecretStore;
  /** The relay's secret names (defaults: Gloo's). */
  readonly names?: Partial<RelaySecretNames>;
  /** Where the rotation records live (default `relay-ca-rotation`). */
  readonly recordSecretName?: string;
  /** Where CA keys live (default: a {@link StoreCaKeyBackend} on `store`). */
  readonly backend?: CaKeyBackend;
  /**
   * Where the default backend makes and finds CA keys when they are not in the store (a PKCS#11 token:
   * `pkcs11CaKeySource(token)`); the CA secrets then hold certificates only. Ignored with `backend`.
   */
  readonly keys?: CaKeySource;
  /**
   * Where bundles are published (default: `ca.crt` of the root, signing and server secrets, plus
   * `extraBundleSecrets`, through a {@link StoreTrustBundlePublisher}).
   */
  readonly publisher?: TrustBundlePublisher;
  /** More managed secrets whose `ca.crt` follows the rotation (bring-your-own ones are never written). */
  readonly extraBundleSecrets?: readonly string[];
  /** Where consumers' bundles are observed (the relay's agent table, replicas, providers). */
  readonly convergence?: readonly ConvergenceSource[];
  /** Consumers that must have converged even if no source reports them (absent ones count as waiting). */
  readonly expectedConsumers?: readonly ExpectedConsumer[];
  /**
   * Bring-your-own consumers that cannot report: each needs `confirm()` or, when set, this many seconds after the
   * bundles {A, B} were published, after which it counts as converged.
   */
  readonly bringYourOwnConsumers?: readonly string[];
  readonly bringYourOwnTimeoutSeconds?: number;
  /** Told to renew now during drain. */
  readonly renewalRequesters?: readonly RenewalRequester[];
  /** Counts the leaves still live under A (drain); without it, retire waits for A's leaves to expire by time. */
  readonly ledger?: IssuanceLedger;
  /**
   * Without a ledger: the longest lifetime of a leaf issued under A, seconds; retire is refused until that long
   * after activate (default: one year).
   */
  readonly maxLeafLifetimeSeconds?: number;
  /**
   * Re-issues the managed server certificate at activate (and at an abort after it) when the backend cannot sign
   * locally (a Vault or PKCS#11 backend): a CA that signs with whatever the backend has installed in the signing
   * slot (e.g. `VaultCertificateAuthority` on the signing mount). The server's key is made here and only its CSR is
   * sent. Without it, such a backend leaves the server certificate to the server's own rotator.
   */
  readonly serverSigner?: CertificateAuthority;
  /** Only the leader writes; without an elector this instance always acts. */
  readonly leader?: LeaderElector;
  readonly clock?: Clock;
  readonly engine?: CryptoEngine;
  /** Share of the CA's lifetime left when it is due for rotation (status `due`; default 1/2). */
  readonly ratio?: number;
  /** A rotation in one phase longer than this is reported `stuck` (default 30 days). */
  readonly stuckAfterSeconds?: number;
}

export interface CaRotatorOptions extends Omit<CaRotationOptions, 'ca'> {
  /** The CAs to rotate (default both: the root first when both are due). */
  readonly cas?: readonly CaKind[];
  /** Share of the CA's lifetime left when a rotation starts, in (0, 1) (default 1/2, as SPIRE prepares). */
  readonly ratio?: number;
  readonly dwell?: DwellTimes;
  /** Root rotations also certify the new intermediate under the old root (default true). */
  readonly crossSign?: boolean;
  /** How often the rotator re-reads the records and checks convergence (default 60 s). */
  readonly recheckIntervalMs?: number;
}
