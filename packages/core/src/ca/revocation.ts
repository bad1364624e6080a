/**
 * Internal (`@certloop/core` ca): the revocation ledger of a {@link LocalCertificateAuthority}.
 *
 * Revocations live in the store, in the CA's own signing secret beside its key: `ca.revocations` (JSON: the CRL
 * number and the revoked serials) and `ca.crl` (the latest signed CRL, PEM). Every change is a read, a new CRL and a
 * compare-and-swap write of the whole secret, retried on conflict, so several processes holding the same CA can
 * revoke concurrently without losing an entry or reusing a CRL number.
 */
import type { Clock } from '../clock/clock.js';
import { CertloopError, isCertloopError, throwIfAborted } from '../errors.js';
import type { Secret, SecretStore } from '../store/types.js';
import type { PreparedIssuer } from '../x509/certificate-builder.js';
import { wholeSeconds } from '../x509/certificate-builder.js';
import { REVOCATION_REASONS, type RevocationReason } from '../x509/crl.js';
import { buildCrl, type CrlEntryInput } from '../x509/crl-writer.js';
import type { CaCallOptions, PublishedCrl, RevokeRequest, RevokeResult } from './types.js';

/** Data keys of the signing secret the ledger writes. */
export const REVOCATION_KEYS = { crl: 'ca.crl', revocations: 'ca.revocations' } as const;

export interface RevocationStoreOptions {
  readonly store: SecretStore;
  /** The secret holding this CA's certificate and key (`relay-tls-signing-secret`); it must exist. */
  readonly secretName: string;
  /** nextUpdate of each CRL, seconds after thisUpdate. Default 7 days. */
  readonly crlLifetimeSeconds?: number | undefined;
}

interface LedgerState {
  readonly crlNumber: number;
  readonly revoked: readonly CrlEntryInput[];
}

const DEFAULT_CRL_LIFETIME = 7 * 86_400;
const MAX_ATTEMPTS = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function corrupt(name: string, cause?: unknown): CertloopError {
  return new CertloopError('CERTLOOP_STORE_CORRUPT', `the revocations in secret ${name} cannot be read`, { cause });
}

function readState(secret: Secret): LedgerState {
  const raw = secret.data[REVOCATION_KEYS.revocations];
  if (!raw || raw.length === 0) return { crlNumber: 0, revoked: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(raw));
  } catch (err) {
    throw corrupt(secret.name, err);
  }
  const value = parsed as { crlNumber?: unknown; revoked?: unknown };
  if (!Number.isSafeInteger(value.crlNumber) || !Array.isArray(value.revoked)) throw corrupt(secret.name);
  const revoked = value.revoked.map((entry: { serialNumber?: unknown; revokedAt?: unknown; reason?: unknown }) => {
    const revokedAt = new Date(String(entry.revokedAt));
    if (typeof entry.serialNumber !== 'string' || Number.isNaN(revokedAt.getTime())) throw corrupt(secret.name);
    if (entry.reason !== undefined && !REVOCATION_REASONS.includes(entry.reason as RevocationReason)) {
      throw corrupt(secret.name);
    }
    return { serialNumber: entry.serialNumber, revokedAt, reason: entry.reason as RevocationReason | undefined };
  });
  return { crlNumber: value.crlNumber as number, revoked };
}

function writeState(state: LedgerState): Uint8Array {
  const revoked = state.revoked.map((e) => ({
    serialNumber: e.serialNumber,
    revokedAt: e.revokedAt.toISOString(),
    ...(e.reason ? { reason: e.reason } : {}),
  }));
  return encoder.encode(JSON.stringify({ crlNumber: state.crlNumber, revoked }));
}

/** A serial as certloop reports it: lower-case hex magnitude without leading zeros or separators. */
export function normaliseSerial(serial: unknown): string {
  if (typeof serial !== 'string') throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'serialNumber must be hex');
  const hex = serial.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(hex)) {
    throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'serialNumber must be hex', {
      details: { serialNumber: serial },
    });
  }
  return hex.replace(/^0+(?=.)/, '');
}

const USABLE_REASONS: readonly string[] = REVOCATION_REASONS.filter((r) => r !== 'unused' && r !== 'removeFromCRL');

export class RevocationLedger {
  readonly #options: RevocationStoreOptions;
  readonly #lifetime: number;
  readonly #issuer: () => Promise<PreparedIssuer>;
  readonly #clock: Clock;

  constructor(options: RevocationStoreOptions, issuer: () => Promise<PreparedIssuer>, clock: Clock) {
    const lifetime = options.crlLifetimeSeconds ?? DEFAULT_CRL_LIFETIME;
    if (!Number.isSafeInteger(lifetime) || lifetime < 60) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'crlLifetimeSeconds must be an integer of at least 60');
    }
    if (!options.store || typeof options.secretName !== 'string') {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'revocation needs a store and the signing secret name');
    }
    this.#options = options;
    this.#lifetime = lifetime;
    this.#issuer = issuer;
    this.#clock = clock;
  }

  async revoke(request: RevokeRequest, options: CaCallOptions): Promise<RevokeResult> {
    if (typeof request !== 'object' || request === null) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'revoke needs a request object');
    }
    const serialNumber = normaliseSerial(request.serialNumber);
    const reason = request.reason;
    if (reason !== undefined && !USABLE_REASONS.includes(reason)) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'unknown revocation reason', { details: { reason } });
    }
    let existing: CrlEntryInput | undefined;
    let current: { crlPem: string; crlNumber: number } | undefined;
    let revokedAt = wholeSeconds(this.#clock.now());
    const published = await this.#update(options, (state, secret) => {
      existing = state.revoked.find((e) => e.serialNumber === serialNumber);
      if (existing) {
        const crl = secret.data[REVOCATION_KEYS.crl];
        current = crl ? { crlPem: decoder.decode(crl), crlNumber: state.crlNumber } : undefined;
        // revoking twice keeps the first date and reason; only a missing CRL is written again
        return current ? undefined : state;
      }
      revokedAt = wholeSeconds(this.#clock.now());
      return { crlNumber: state.crlNumber, revoked: [...state.revoked, { serialNumber, revokedAt, reason }] };
    });
    const crl = published ?? current!;
    return {
      serialNumber,
      revokedAt: existing?.revokedAt ?? revokedAt,
      alreadyRevoked: existing !== undefined,
      crlPem: crl.crlPem,
      crlNumber: crl.crlNumber,
    };
  }

  /** Signs and stores a fresh CRL (new number, thisUpdate now), as a CA does before the last one expires. */
  async publish(options: CaCallOptions): Promise<PublishedCrl> {
    const published = await this.#update(options, (state) => state);
    return published!;
  }

  /** The latest stored CRL, PEM, or undefined when none was published yet. */
  async current(options: CaCallOptions): Promise<string | undefined> {
    const secret = await this.#read(options);
    const crl = secret.data[REVOCATION_KEYS.crl];
    return crl && crl.length > 0 ? decoder.decode(crl) : undefined;
  }

  async #read(options: CaCallOptions): Promise<Secret> {
    const { store, secretName } = this.#options;
    const secret = await store.get(secretName, options.signal ? { signal: options.signal } : {});
    if (!secret) throw new CertloopError('CERTLOOP_NOT_FOUND', `signing secret ${secretName} does not exist`);
    return secret;
  }

  /**
   * Reads the ledger, applies `change` (undefined: nothing to write), signs a CRL with the next number and writes
   * both with compare-and-swap; on a conflict starts again from a fresh read.
   */
  async #update(
    options: CaCallOptions,
    change: (state: LedgerState, secret: Secret) => LedgerState | undefined,
  ): Promise<PublishedCrl | undefined> {
    const { store, secretName } = this.#options;
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(options.signal);
      const secret = await this.#read(options);
      const next = change(readState(secret), secret);
      if (!next) return undefined;
      const state = { crlNumber: next.crlNumber + 1, revoked: next.revoked };
      const thisUpdate = wholeSeconds(this.#clock.now());
      const nextUpdate = new Date(thisUpdate.getTime() + this.#lifetime * 1000);
      const { pem } = await buildCrl({
        issuer: await this.#issuer(),
        crlNumber: state.crlNumber,
        thisUpdate,
        nextUpdate,
        entries: state.revoked,
      });
      throwIfAborted(options.signal);
      try {
        await store.put(
          secretName,
          {
            type: secret.type,
            labels: secret.labels,
            annotations: secret.annotations,
            data: {
              ...secret.data,
              [REVOCATION_KEYS.revocations]: writeState(state),
              [REVOCATION_KEYS.crl]: encoder.encode(pem),
            },
          },
          { expectedVersion: secret.version, ...(options.signal ? { signal: options.signal } : {}) },
        );
        return { crlPem: pem, crlNumber: state.crlNumber, thisUpdate, nextUpdate };
      } catch (err) {
        if (!isCertloopError(err, 'CERTLOOP_CONFLICT') || attempt >= MAX_ATTEMPTS) throw err;
      }
    }
  }
}
