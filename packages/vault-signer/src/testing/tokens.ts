/**
 * `@certloop/vault-signer/testing` internal: Vault's token store on the emulator's clock: TTLs, max TTLs,
 * renew-self capping, lookup-self, revocation. The root token never expires.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '@certloop/core';

export interface TokenEntry {
  readonly id: string;
  readonly accessor: string;
  readonly policies: readonly string[];
  readonly meta: Readonly<Record<string, string>> | null;
  readonly displayName: string;
  readonly path: string;
  readonly entityId: string;
  /** Seconds; 0 for the root token. */
  readonly creationTtl: number;
  readonly issuedAt: number;
  /** Epoch ms; undefined: never expires (root). */
  expireAt: number | undefined;
  /** Epoch ms the token can never be renewed past; undefined: no limit. */
  readonly maxExpireAt: number | undefined;
  readonly renewable: boolean;
}

export interface CreateTokenRequest {
  readonly policies: readonly string[];
  readonly ttlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly meta?: Record<string, string> | null;
  readonly displayName: string;
  readonly path: string;
  readonly renewable?: boolean;
}

const newToken = () => `hvs.${randomBytes(18).toString('base64url')}`;

export class TokenStore {
  readonly #tokens = new Map<string, TokenEntry>();
  readonly #clock: Clock;
  /** Seconds: the system max TTL a token can never outlive (768 h on a stock server). */
  readonly #systemMaxTtl: number;

  constructor(clock: Clock, systemMaxTtl: number) {
    this.#clock = clock;
    this.#systemMaxTtl = systemMaxTtl;
  }

  createRoot(): string {
    const id = newToken();
    this.#tokens.set(id, {
      id,
      accessor: randomBytes(12).toString('base64url'),
      policies: ['root'],
      meta: null,
      displayName: 'root',
      path: 'auth/token/root',
      entityId: '',
      creationTtl: 0,
      issuedAt: this.#clock.now().getTime(),
      expireAt: undefined,
      maxExpireAt: undefined,
      renewable: false,
    });
    return id;
  }

  create(request: CreateTokenRequest): TokenEntry {
    const now = this.#clock.now().getTime();
    const max = Math.min(request.maxTtlSeconds || this.#systemMaxTtl, this.#systemMaxTtl);
    const ttl = Math.min(request.ttlSeconds || max, max);
    const entry: TokenEntry = {
      id: newToken(),
      accessor: randomBytes(12).toString('base64url'),
      policies: ['default', ...request.policies.filter((p) => p !== 'default')],
      meta: request.meta ?? null,
      displayName: request.displayName,
      path: request.path,
      entityId: randomUUID(),
      creationTtl: ttl,
      issuedAt: now,
      expireAt: now + ttl * 1000,
      maxExpireAt: now + max * 1000,
      renewable: request.renewable ?? true,
    };
    this.#tokens.set(entry.id, entry);
    return entry;
  }

  /** The live token, or undefined when unknown, revoked or expired (an expired token is dropped). */
  lookup(id: string | undefined): TokenEntry | undefined {
    if (!id) return undefined;
    const entry = this.#tokens.get(id);
    if (!entry) return undefined;
    if (entry.expireAt !== undefined && entry.expireAt <= this.#clock.now().getTime()) {
      this.#tokens.delete(id);
      return undefined;
    }
    return entry;
  }

  revoke(id: string): boolean {
    return this.#tokens.delete(id);
  }

  /** Revokes every token whose path starts with `prefix` (e.g. `auth/approle/login`); gives how many. */
  revokeByPath(prefix: string): number {
    let count = 0;
    for (const [id, entry] of this.#tokens) {
      if (entry.path.startsWith(prefix)) {
        this.#tokens.delete(id);
        count += 1;
      }
    }
    return count;
  }

  /** Extends the TTL by `increment` (default the creation TTL), never past the max TTL. Gives the capping warning. */
  renew(entry: TokenEntry, incrementSeconds: number | undefined): string[] {
    const now = this.#clock.now().getTime();
    const increment = incrementSeconds && incrementSeconds > 0 ? incrementSeconds : entry.creationTtl;
    const wanted = now + increment * 1000;
    const capped = entry.maxExpireAt === undefined ? wanted : Math.min(wanted, entry.maxExpireAt);
    entry.expireAt = capped;
    if (capped < wanted) {
      const left = Math.max(0, Math.floor((capped - now) / 1000));
      return [`TTL of "${increment}s" exceeded the effective max_ttl of "${left}s"; TTL value is capped accordingly`];
    }
    return [];
  }

  /**
   * Seconds left (0 for a token that never expires), rounded up: a login answered a millisecond after the token was
   * made still reports its whole TTL (3600, not 3599), as Vault does.
   */
  ttlOf(entry: TokenEntry): number {
    if (entry.expireAt === undefined) return 0;
    return Math.max(0, Math.ceil((entry.expireAt - this.#clock.now().getTime()) / 1000));
  }

  /** The `auth` block of a login or renewal (contract section 4). */
  authBlock(entry: TokenEntry): Record<string, unknown> {
    return {
      client_token: entry.id,
      accessor: entry.accessor,
      policies: [...entry.policies],
      token_policies: [...entry.policies],
      metadata: entry.meta,
      lease_duration: this.ttlOf(entry),
      renewable: entry.renewable,
      entity_id: entry.entityId,
      token_type: 'service',
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
    };
  }

  /** `data` of lookup-self. */
  lookupData(entry: TokenEntry): Record<string, unknown> {
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    return {
      accessor: entry.accessor,
      creation_time: Math.floor(entry.issuedAt / 1000),
      creation_ttl: entry.creationTtl,
      display_name: entry.displayName,
      entity_id: entry.entityId,
      expire_time: iso(entry.expireAt),
      explicit_max_ttl: 0,
      id: entry.id,
      issue_time: iso(entry.issuedAt),
      meta: entry.meta,
      num_uses: 0,
      orphan: true,
      path: entry.path,
      policies: [...entry.policies],
      renewable: entry.renewable,
      ttl: this.ttlOf(entry),
      type: 'service',
    };
  }
}
