/**
 * `certloop status` CA rotations: where the root's and the intermediate's rotations stand (phase, since when, the
 * convergence last checked, the leaves still under A), read from the rotation record (`relay-ca-rotation`) and
 * kept current by polling it, for the status table, its JSON and the status page.
 */
import { type CaKind, CaRotation, type SecretStore } from '@certloop/core';

export interface RotationLine {
  readonly ca: CaKind;
  readonly id: string;
  readonly phase: string;
  readonly underWay: boolean;
  readonly since: string;
  /** Convergence last checked: "41/43 consumers hold {A,B}; waiting for cluster-7 (last seen 3 m ago)". */
  readonly convergence?: string;
  readonly converged?: number;
  readonly total?: number;
  readonly liveUnderOld?: number;
  readonly summary: string;
}

/** The rotations of both CAs that have a record (finished ones too), read once. */
export async function readRotationLines(store: SecretStore, signal?: AbortSignal): Promise<RotationLine[]> {
  const lines: RotationLine[] = [];
  for (const ca of ['root', 'intermediate'] as const) {
    const status = await new CaRotation({ ca, store }).status(signal ? { signal } : {});
    const r = status.record;
    if (!r) continue;
    lines.push({
      ca,
      id: r.id,
      phase: r.phase,
      underWay: status.underWay,
      since: r.timestamps.phaseSince,
      ...(r.convergence
        ? { convergence: r.convergence.summary, converged: r.convergence.converged, total: r.convergence.total }
        : {}),
      ...(r.drain ? { liveUnderOld: r.drain.liveUnderOld } : {}),
      summary: status.summary,
    });
  }
  return lines;
}

/** One line per rotation for the text table. */
export function renderRotationLines(lines: readonly RotationLine[]): string {
  return lines
    .map(
      (l) =>
        `${l.ca} CA rotation ${l.id}: ${l.phase} since ${l.since.slice(0, 19)}Z` +
        (l.convergence ? `; ${l.convergence}` : '') +
        (l.liveUnderOld !== undefined ? `; ${l.liveUnderOld} leaves under A` : ''),
    )
    .join('\n');
}

/** Keeps the lines current by reading the record every `intervalMs` (default 2 s). */
export class RotationBoard {
  #lines: RotationLine[] = [];
  #timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly store: SecretStore,
    private readonly intervalMs = 2000,
  ) {}

  async start(): Promise<void> {
    await this.#refresh();
    this.#timer = setInterval(() => void this.#refresh(), this.intervalMs);
    this.#timer.unref?.();
  }

  async #refresh(): Promise<void> {
    try {
      this.#lines = await readRotationLines(this.store);
    } catch {
      // the last good lines stay (a store hiccup)
    }
  }

  lines(): RotationLine[] {
    return this.#lines;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
