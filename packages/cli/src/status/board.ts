/**
 * `certloop` status board: the live state of the relay's secrets, for `status`, `--watch` and `--serve`.
 *
 * Certificates (root, intermediate, server, client) are judged by core's `ExpiryMonitor` (subject, issuer, times,
 * renewal time at the grace ratio, ok / renewal-due / expired / not-yet-valid / invalid / missing). The token
 * secret has no certificate: it is `ok` when it holds a token of at least 16 characters, else `invalid`.
 */
import {
  type CertificateState,
  type CertificateStatus,
  type Clock,
  DEFAULT_RELAY_SECRET_NAMES,
  ExpiryMonitor,
  isManagedSecret,
  type RelaySecretNames,
  SECRET_KEYS,
  type Secret,
  systemClock,
  type Watcher,
} from '@certloop/core';
import type { RelayRole } from './roles.js';

/** One secret's row: what the table, JSON/YAML and the page show. */
export interface SecretStatus {
  readonly role: RelayRole;
  readonly name: string;
  readonly state: CertificateState;
  /** certloop manages it; false for bring-your-own (and for a missing secret). */
  readonly managed: boolean;
  readonly subject?: string;
  readonly issuer?: string;
  readonly serialNumber?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly renewAt?: Date;
  readonly secondsLeft?: number;
  readonly errorCode?: string;
  readonly version?: string;
}

/** States that make `status` exit non-zero. */
export const UNHEALTHY_STATES: readonly CertificateState[] = ['expired', 'invalid', 'missing', 'not-yet-valid'];

export interface StatusBoardOptions {
  readonly watcher: Watcher;
  readonly roles: readonly RelayRole[];
  readonly names?: RelaySecretNames;
  readonly ratio?: number;
  readonly clock?: Clock;
}

export type BoardEvent = { readonly type: 'change'; readonly status: SecretStatus; readonly previous?: SecretStatus };

function fromCertificate(role: RelayRole, s: CertificateStatus): SecretStatus {
  return {
    role,
    name: s.name,
    state: s.state,
    managed: s.managed,
    subject: s.subject,
    issuer: s.issuer,
    serialNumber: s.serialNumber,
    notBefore: s.notBefore,
    notAfter: s.notAfter,
    renewAt: s.renewAt,
    secondsLeft: s.secondsLeft,
    errorCode: s.errorCode,
    version: s.version,
  };
}

function tokenStatus(name: string, secret: Secret | undefined): SecretStatus {
  if (!secret) return { role: 'token', name, state: 'missing', managed: false };
  const token = secret.data[SECRET_KEYS.token];
  const ok = token !== undefined && token.length >= 16;
  return {
    role: 'token',
    name,
    state: ok ? 'ok' : 'invalid',
    managed: isManagedSecret(secret),
    version: secret.version,
    ...(ok ? {} : { errorCode: 'CERTLOOP_TOKEN_INVALID' }),
  };
}

export class StatusBoard {
  readonly #names: RelaySecretNames;
  readonly #roles: readonly RelayRole[];
  readonly #watcher: Watcher;
  readonly #monitor: ExpiryMonitor | undefined;
  readonly #listeners = new Set<(event: BoardEvent) => void>();
  readonly #abort = new AbortController();
  #token: SecretStatus | undefined;

  constructor(options: StatusBoardOptions) {
    this.#names = options.names ?? DEFAULT_RELAY_SECRET_NAMES;
    this.#roles = options.roles;
    this.#watcher = options.watcher;
    const certificates = this.#roles.filter((r) => r !== 'token').map((r) => this.#names[r]);
    this.#monitor = certificates.length
      ? new ExpiryMonitor({
          watcher: options.watcher,
          secrets: certificates,
          ratio: options.ratio ?? 0.1,
          clock: options.clock ?? systemClock,
        })
      : undefined;
    this.#monitor?.subscribe((event) => {
      if (event.type !== 'status') return;
      const role = this.#roleOf(event.status.name);
      this.#emit({
        type: 'change',
        status: fromCertificate(role, event.status),
        previous: event.previous && fromCertificate(role, event.previous),
      });
    });
  }

  #roleOf(name: string): RelayRole {
    return this.#roles.find((r) => this.#names[r] === name)!;
  }

  #emit(event: BoardEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  subscribe(listener: (event: BoardEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts watching; resolves when every secret has reported its first state. */
  async start(): Promise<void> {
    const waits: Promise<void>[] = [];
    if (this.#monitor) waits.push(this.#monitor.start());
    if (this.#roles.includes('token')) waits.push(this.#watchToken());
    await Promise.all(waits);
  }

  #watchToken(): Promise<void> {
    const name = this.#names.token;
    return new Promise<void>((resolve) => {
      void (async () => {
        try {
          for await (const event of this.#watcher.watch(name, { signal: this.#abort.signal })) {
            if (event.type === 'error') {
              resolve();
              continue;
            }
            const previous = this.#token;
            this.#token = tokenStatus(name, event.type === 'deleted' ? undefined : event.secret);
            if (previous?.state !== this.#token.state || previous?.version !== this.#token.version) {
              this.#emit({ type: 'change', status: this.#token, previous });
            }
            resolve();
          }
        } finally {
          resolve();
        }
      })();
    });
  }

  /** Every secret's status now, in role order. */
  snapshot(): SecretStatus[] {
    const certificates = new Map((this.#monitor?.snapshot() ?? []).map((s) => [s.name, s]));
    return this.#roles.map((role) => {
      const name = this.#names[role];
      if (role === 'token') return this.#token ?? { role, name, state: 'missing' as const, managed: false };
      return fromCertificate(role, certificates.get(name)!);
    });
  }

  stop(): void {
    this.#abort.abort();
    this.#monitor?.stop();
    this.#listeners.clear();
  }
}
