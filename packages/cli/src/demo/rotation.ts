/**
 * `certloop demo` root rotation: core's `CaRotation` on the demo's store, run by the operator midway while every
 * agent stays connected. Prepare publishes {A, B}; the relay server's table (agents report their bundle on the
 * stream) shows convergence; activate makes B sign and re-issues the server certificate; drain sends RenewNow to
 * agents under A (cert-manager re-issues the bring-your-own cluster's secret, as it would from the new issuer) and
 * counts the leaves still under A in the issuance ledger; retire publishes {B} and destroys A's key.
 */
import type { RelayServer } from '@certloop/agent-rotator';
import {
  type CaKeySource,
  CaRotation,
  type CaRotationRecord,
  DEFAULT_RELAY_SECRET_NAMES,
  type IssuanceLedger,
  type SecretStore,
} from '@certloop/core';
import type { Colors } from '../lib/terminal.js';
import { signerFromSecret, writeBringYourOwnClient } from './pki.js';
import { sleep } from './sleep.js';
import type { Timeline } from './timeline.js';

const names = DEFAULT_RELAY_SECRET_NAMES;

export interface DemoRotationInput {
  readonly store: SecretStore;
  /** Where the new CA's key is made when the CA keys are not in the store (`--ca pkcs11`: the token). */
  readonly keys?: CaKeySource | undefined;
  /** Writes what cert-manager would (the bring-your-own cluster's secret). */
  readonly certManager: SecretStore;
  readonly server: RelayServer;
  readonly ledger: IssuanceLedger;
  readonly byo: { readonly secret: string; readonly cluster: string };
  /** Clusters that must be seen holding {A, B} before activate (even if they have not reported yet). */
  readonly clusters: readonly string[];
  readonly timeline: Timeline;
  readonly colors: Colors;
  readonly signal: AbortSignal;
  /** Shortest stay in converge and drain, so people can watch them (ms). */
  readonly dwellMs: number;
  /** Give up waiting for a phase after this long (ms). */
  readonly phaseTimeoutMs: number;
}

export interface DemoRotationResult {
  readonly phases: readonly string[];
  readonly record: CaRotationRecord | undefined;
  /** Versions of the bring-your-own secret written by cert-manager during the rotation. */
  readonly byoVersions: readonly string[];
  readonly error?: string;
}

/** Polls `check` every 250 ms for at least `dwellMs` and until it holds (or `timeoutMs`). */
async function waitFor(
  check: () => Promise<boolean>,
  dwellMs: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  const start = Date.now();
  let ok = false;
  while (!signal.aborted && Date.now() - start < timeoutMs) {
    ok = await check();
    if (ok && Date.now() - start >= dwellMs) return true;
    await sleep(250, signal);
  }
  return ok;
}

export async function runDemoRootRotation(input: DemoRotationInput): Promise<DemoRotationResult> {
  const { store, server, timeline: t, colors: c, signal } = input;
  const who = c.bold('ca rotation');
  const phases: string[] = [];
  const byoVersions: string[] = [];
  const rotation = new CaRotation({
    ca: 'root',
    store,
    convergence: [server],
    renewalRequesters: [server],
    ledger: input.ledger,
    expectedConsumers: input.clusters.map((consumer) => ({ consumer, kind: 'agent' as const })),
    ...(input.keys ? { keys: input.keys } : {}),
  });
  rotation.subscribe((e) => {
    if (e.type === 'phase') phases.push(e.phase);
    if (e.type === 'server-reissued') {
      t.event(who, c.dim(`re-issued ${names.server} under the new intermediate (${e.serialNumber.slice(0, 8)})`));
    }
  });
  let lastSummary = '';
  try {
    const prepared = await rotation.prepare({ crossSign: true, reason: 'certloop demo' });
    t.event(
      who,
      c.bold(`prepare: new root B (${prepared.new?.keyId.slice(0, 8)}), every ca.crt now holds {A, B}; A still signs`),
    );
    const converged = await waitFor(
      async () => {
        const figures = await rotation.checkConvergence();
        if (figures.summary !== lastSummary) {
          lastSummary = figures.summary;
          t.event(who, `converge: ${figures.summary}`);
        }
        return figures.complete;
      },
      input.dwellMs,
      input.phaseTimeoutMs,
      signal,
    );
    if (!converged) throw new Error(`not converged: ${lastSummary}`);
    const activated = await rotation.activate();
    t.event(who, c.bold(`activate: B signs (intermediate ${activated.newIntermediate?.keyId.slice(0, 8)})`));

    // cert-manager's issuer now reads the new signing secret: it re-issues the bring-your-own cluster's secret
    const signing = await store.get(names.signing);
    if (signing) {
      const byo = await writeBringYourOwnClient(
        input.certManager,
        await signerFromSecret(signing, input.keys),
        input.byo.secret,
        input.byo.cluster,
      );
      byoVersions.push(byo.version);
      t.event(
        c.bold('operator'),
        `cert-manager re-issued ${input.byo.secret} under B (${byo.serialNumber.slice(0, 8)})`,
      );
    }
    let lastLive = -1;
    const drained = await waitFor(
      async () => {
        const figures = await rotation.drain({ reason: 'root rotation: drain' });
        if (figures.liveUnderOld !== lastLive) {
          lastLive = figures.liveUnderOld;
          t.event(
            who,
            `drain: ${figures.liveUnderOld} leaves still under A; RenewNow sent to ${figures.notified} agent stream(s)`,
          );
        }
        return figures.liveUnderOld === 0;
      },
      input.dwellMs,
      input.phaseTimeoutMs,
      signal,
    );
    if (!drained) throw new Error(`leaves still under A: ${lastLive}`);
    const retired = await rotation.retire();
    t.event(who, c.bold(c.green(`retire: every ca.crt holds {B} only; A's key destroyed (its certificate kept)`)));
    return { phases, record: retired, byoVersions };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    t.event(who, c.red(`stopped: ${error}`));
    return { phases, record: await rotation.record().catch(() => undefined), byoVersions, error };
  }
}
