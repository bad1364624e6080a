/**
 * `@certloop/agent-rotator` renew-now: the drain phase of a CA rotation reaching the agents.
 *
 * A renewal request (the active issuer's key id and a reason) is sent as `RenewNow` on every open relay stream
 * whose client certificate was issued by another key, and to every stream that opens later with such a
 * certificate while the request is in force (a straggler coming back). An agent acts on it through its elected
 * replica's rotator; the others remember the active issuer, so whichever replica leads renews.
 *
 * With several server replicas, the requester writes the request to the store (`relay-renewal-request`, one small
 * JSON document) and every replica, following that secret, passes it on to its own streams.
 */
import {
  ANNOTATIONS,
  CertloopError,
  MANAGED_BY_VALUE,
  type RenewalRequest,
  type RenewalRequester,
  type Secret,
  type SecretStore,
} from '@certloop/core';

/** Default name of the secret carrying the renewal request in force. */
export const RENEWAL_REQUEST_SECRET = 'relay-renewal-request';
const DATA_KEY = 'request.json';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface StoredRenewalRequest extends RenewalRequest {
  readonly requestedAt: Date;
}

/** The request a `relay-renewal-request` secret holds; undefined for none or an unreadable one. */
export function renewalRequestOf(secret: Secret | undefined): StoredRenewalRequest | undefined {
  const bytes = secret?.data[DATA_KEY];
  if (!bytes || bytes.length > 4096) return undefined;
  try {
    const body = JSON.parse(decoder.decode(bytes)) as Record<string, unknown>;
    const id = body.activeIssuerKeyId;
    if (typeof id !== 'string' || !/^[0-9a-f]{2,128}$/.test(id)) return undefined;
    return {
      reason: typeof body.reason === 'string' ? body.reason.slice(0, 256) : '',
      activeIssuerKeyId: id,
      requestedAt: new Date(Number(body.requestedAt) || 0),
    };
  } catch {
    return undefined;
  }
}

function assertKeyId(request: RenewalRequest): void {
  if (!/^[0-9a-f]{2,128}$/.test(request.activeIssuerKeyId)) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'activeIssuerKeyId must be a lower-case hex key identifier');
  }
}

/** What the broadcast needs from the server's stream table. */
export interface RenewNowTarget {
  /** Sends `RenewNow` to the open streams `match` selects; resolves how many. */
  sendRenewNow(
    match: (stream: { readonly issuerKeyId?: string | undefined }) => boolean,
    request: RenewalRequest,
  ): number;
}

/** The renewal request in force on one server replica. */
export class RenewalBroadcast {
  #request: RenewalRequest | undefined;
  constructor(private readonly target: RenewNowTarget) {}

  get request(): RenewalRequest | undefined {
    return this.#request;
  }

  /** Puts `request` in force and tells the open streams it concerns; resolves how many were told. */
  apply(request: RenewalRequest): number {
    assertKeyId(request);
    this.#request = request;
    return this.target.sendRenewNow((s) => s.issuerKeyId !== request.activeIssuerKeyId, request);
  }

  /** Ends the request (a rotation finished or was aborted). */
  clear(): void {
    this.#request = undefined;
  }

  /** For a stream just welcomed: the RenewNow to send it, if the request in force concerns it. */
  forNewStream(issuerKeyId: string | undefined): RenewalRequest | undefined {
    const r = this.#request;
    return r && issuerKeyId !== r.activeIssuerKeyId ? r : undefined;
  }
}

export interface StoreRenewalRequesterOptions {
  readonly store: SecretStore;
  readonly name?: string;
  /** Counts the agents told: online reporters whose certificate was issued by another key (e.g. a StoreConvergenceSource). */
  readonly entries?: () => Promise<
    ReadonlyArray<{ readonly streams: number; readonly issuerKeyId?: string | undefined; readonly via: string }>
  >;
  readonly now?: () => Date;
}

/**
 * `RenewalRequester` for a fleet of server replicas: writes the request to the store, where every replica picks
 * it up. `notified` is how many connected agent replicas (from the published tables, when `entries` is given) hold a
 * certificate of another issuer: the ones the replicas will tell.
 */
export class StoreRenewalRequester implements RenewalRequester {
  readonly name: string;
  readonly #o: StoreRenewalRequesterOptions;
  constructor(options: StoreRenewalRequesterOptions) {
    this.#o = options;
    this.name = options.name ?? RENEWAL_REQUEST_SECRET;
  }

  async requestRenewal(
    request: RenewalRequest,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<{ readonly notified: number }> {
    assertKeyId(request);
    const { store } = this.#o;
    const signal = options.signal ? { signal: options.signal } : {};
    const body = {
      reason: request.reason,
      activeIssuerKeyId: request.activeIssuerKeyId,
      requestedAt: (this.#o.now?.() ?? new Date()).getTime(),
    };
    const current = await store.get(this.name, signal);
    const same = renewalRequestOf(current);
    if (!same || same.activeIssuerKeyId !== request.activeIssuerKeyId || same.reason !== request.reason) {
      await store.put(
        this.name,
        {
          type: 'Opaque',
          data: { [DATA_KEY]: encoder.encode(JSON.stringify(body)) },
          labels: {},
          annotations: { [ANNOTATIONS.managedBy]: MANAGED_BY_VALUE, [ANNOTATIONS.role]: 'renewal-request' },
        },
        { expectedVersion: current?.version ?? null, ...signal },
      );
    }
    const entries = (await this.#o.entries?.()) ?? [];
    const notified = entries.filter(
      (e) => e.via === 'stream' && e.streams > 0 && e.issuerKeyId !== request.activeIssuerKeyId,
    ).length;
    return { notified };
  }
}
