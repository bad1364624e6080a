/**
 * `certloop ca` plumbing: core's `CaRotation` for one CA on the opened store, seeing the fleet the way a process
 * outside every server replica can: convergence from the bundle tables the replicas publish to the store
 * (`StoreConvergenceSource`), renewal requests written to the store for every replica to pass on
 * (`StoreRenewalRequester`), and the leaves still under the old CA counted in the store's issuance ledger (which
 * `certloop server` keeps).
 */
import { StoreConvergenceSource, StoreRenewalRequester } from '@certloop/agent-rotator';
import {
  type CaKeySource,
  type CaKind,
  CaRotation,
  type CaRotationStatus,
  type ConvergenceFigures,
  convergenceFigures,
  type SecretStore,
  StoreIssuanceLedger,
} from '@certloop/core';

export interface RotationFlags {
  readonly ratio?: number;
  readonly stuckAfterSeconds?: number;
  readonly bringYourOwn?: readonly string[];
  readonly bringYourOwnTimeoutSeconds?: number;
  readonly maxLeafLifetimeSeconds?: number;
  /** Where the CA keys are made and found when not in the store (`--key-store pkcs11`: the token). */
  readonly keys?: CaKeySource;
}

export function openRotation(store: SecretStore, ca: CaKind, flags: RotationFlags = {}): CaRotation {
  const source = new StoreConvergenceSource({ store });
  return new CaRotation({
    ca,
    store,
    convergence: [source],
    renewalRequesters: [new StoreRenewalRequester({ store, entries: () => source.entries() })],
    ledger: new StoreIssuanceLedger({ store }),
    ...(flags.ratio !== undefined ? { ratio: flags.ratio } : {}),
    ...(flags.stuckAfterSeconds !== undefined ? { stuckAfterSeconds: flags.stuckAfterSeconds } : {}),
    ...(flags.bringYourOwn?.length ? { bringYourOwnConsumers: flags.bringYourOwn } : {}),
    ...(flags.bringYourOwnTimeoutSeconds !== undefined
      ? { bringYourOwnTimeoutSeconds: flags.bringYourOwnTimeoutSeconds }
      : {}),
    ...(flags.maxLeafLifetimeSeconds !== undefined ? { maxLeafLifetimeSeconds: flags.maxLeafLifetimeSeconds } : {}),
    ...(flags.keys ? { keys: flags.keys } : {}),
  });
}

/** A CA's status plus, while it converges, the convergence seen now (read only: nothing is written). */
export interface CaStatusView extends CaRotationStatus {
  readonly liveConvergence?: ConvergenceFigures;
}

export async function statusView(
  store: SecretStore,
  rotation: CaRotation,
  flags: RotationFlags,
  signal: AbortSignal,
): Promise<CaStatusView> {
  const status = await rotation.status({ signal });
  const record = status.record;
  if (!status.underWay || !record?.bundles.during || record.phase !== 'converge') return status;
  const observations = await new StoreConvergenceSource({ store }).observations({ signal });
  const liveConvergence = convergenceFigures({
    targetDigest: record.bundles.during,
    observations,
    bringYourOwn: flags.bringYourOwn ?? [],
    confirmed: record.confirmations ?? [],
    ...(record.timestamps.preparedAt ? { publishedAt: new Date(record.timestamps.preparedAt) } : {}),
    ...(flags.bringYourOwnTimeoutSeconds !== undefined
      ? { bringYourOwnTimeoutSeconds: flags.bringYourOwnTimeoutSeconds }
      : {}),
    now: new Date(),
  });
  return { ...status, liveConvergence };
}
