/**
 * `certloop status --serve` history: what the page shows beside the current rows, so a renewal is seen as it
 * happens: for each secret the certificate it replaced (the page fades it out), and a list of recent events
 * (renewed, state changed), newest first, bounded.
 */
import type { BoardEvent, SecretStatus } from './board.js';

export interface ReplacedCertificate {
  readonly serialNumber: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly renewAt?: string;
  /** When the page's server saw it replaced. */
  readonly replacedAt: string;
}

export interface StatusEvent {
  readonly at: string;
  readonly secret: string;
  readonly role: string;
  readonly kind: 'renewed' | 'state';
  readonly text: string;
}

const MAX_EVENTS = 50;
const short = (serial: string | undefined) => (serial ?? '-').slice(0, 8);

export class StatusHistory {
  readonly #replaced = new Map<string, ReplacedCertificate>();
  readonly #events: StatusEvent[] = [];

  constructor(private readonly now: () => Date) {}

  /** Takes one board change into the history. */
  record(event: BoardEvent): void {
    const { status: s, previous: p } = event;
    if (!p) return;
    const at = this.now().toISOString();
    if (p.serialNumber && s.serialNumber && p.serialNumber !== s.serialNumber && p.notBefore && p.notAfter) {
      this.#replaced.set(s.name, {
        serialNumber: p.serialNumber,
        notBefore: p.notBefore.toISOString(),
        notAfter: p.notAfter.toISOString(),
        ...(p.renewAt ? { renewAt: p.renewAt.toISOString() } : {}),
        replacedAt: at,
      });
      const late = p.renewAt ? Math.round((Date.parse(at) - p.renewAt.getTime()) / 1000) : undefined;
      this.#push({
        at,
        secret: s.name,
        role: s.role,
        kind: 'renewed',
        text:
          `renewed: ${short(p.serialNumber)} -> ${short(s.serialNumber)}` +
          (late === undefined
            ? ''
            : late >= 0
              ? `, ${late}s after its renewal point`
              : `, ${-late}s before its renewal point`),
      });
    } else if (p.state !== s.state) {
      this.#push({ at, secret: s.name, role: s.role, kind: 'state', text: `${p.state} -> ${s.state}` });
    }
  }

  #push(event: StatusEvent): void {
    this.#events.unshift(event);
    this.#events.length = Math.min(this.#events.length, MAX_EVENTS);
  }

  /** Rows with the certificate each replaced last, if any. */
  rows(rows: readonly SecretStatus[]): (SecretStatus & { replaced?: ReplacedCertificate })[] {
    return rows.map((row) => {
      const replaced = this.#replaced.get(row.name);
      return replaced ? { ...row, replaced } : row;
    });
  }

  events(): readonly StatusEvent[] {
    return this.#events;
  }
}
