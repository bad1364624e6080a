/**
 * `@certloop/vault-signer` token lifecycle: one token at a time, renewed with `renew-self` at about 80 % of its TTL
 * (jittered earlier, on the injected clock), replaced by a fresh login when renewal fails or the token reached its
 * max TTL. A token is never handed out once it is known to be expired (or within a small margin of it).
 *
 * Contract: `token()` is safe for concurrent use: concurrent callers share one login. `invalidate(token)` drops a
 * token Vault refused, so the next `token()` logs in again. `close()` stops the timers; `settled()` resolves when no
 * background renewal or login is in flight (for tests on a ManualClock).
 */
import { CertloopError, type Clock, type TimerHandle, throwIfAborted } from '@certloop/core';
import type { LoginFunction, LoginResult } from './auth/index.js';
import type { VaultClient } from './client.js';
import { vaultError } from './errors.js';
import type { VaultSignerEvent } from './events.js';

export interface TokenLifecycleOptions {
  readonly client: VaultClient;
  readonly login: LoginFunction;
  readonly method: string;
  readonly clock: Clock;
  readonly random: () => number;
  /** Share of the TTL after which the token is renewed (default 0.8). */
  readonly renewFraction?: number;
  readonly emit: (event: VaultSignerEvent) => void;
}

interface Current {
  readonly token: string;
  /** Epoch ms; undefined: the token does not expire. */
  expiresAt: number | undefined;
  readonly renewable: boolean;
  /** The TTL the token was issued with, seconds: a renewal that gives less has reached the max TTL. */
  readonly fullTtl: number;
}

/** A token within this margin of its expiry counts as expired (min of 5 s and 10 % of its TTL). */
const marginMs = (ttlSeconds: number) => Math.min(5000, ttlSeconds * 100);

export class TokenLifecycle {
  readonly #o: TokenLifecycleOptions;
  readonly #fraction: number;
  #current: Current | undefined;
  #login: Promise<Current> | undefined;
  #timer: TimerHandle | undefined;
  #background: Promise<void> | undefined;
  #closed = false;

  constructor(options: TokenLifecycleOptions) {
    this.#o = options;
    this.#fraction = options.renewFraction ?? 0.8;
    if (!(this.#fraction > 0 && this.#fraction < 1)) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'renewFraction must be in (0, 1)');
    }
  }

  /** A token that is not known to be expired, logging in when there is none. */
  async token(signal?: AbortSignal): Promise<string> {
    if (this.#closed) throw new CertloopError('CERTLOOP_CLOSED', 'the Vault signer is closed');
    throwIfAborted(signal);
    const current = this.#current;
    if (current && this.#usable(current)) return current.token;
    if (current) this.#drop(current.token);
    return (await this.#loginOnce()).token;
  }

  /** Drops `token` (Vault refused it) so the next {@link token} logs in again. */
  invalidate(token: string): void {
    this.#drop(token);
  }

  settled(): Promise<void> {
    return (this.#background ?? Promise.resolve()).then(() => (this.#background ? this.settled() : undefined));
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#current = undefined;
  }

  #usable(current: Current): boolean {
    if (current.expiresAt === undefined) return true;
    return this.#o.clock.now().getTime() < current.expiresAt - marginMs(current.fullTtl);
  }

  #drop(token: string): void {
    if (this.#current?.token !== token) return;
    this.#current = undefined;
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #loginOnce(): Promise<Current> {
    this.#login ??= this.#doLogin().finally(() => {
      this.#login = undefined;
    });
    return this.#login;
  }

  async #doLogin(): Promise<Current> {
    let result: LoginResult;
    try {
      result = await this.#o.login(this.#o.client);
    } catch (err) {
      const error = vaultError(err, 'login', 'login');
      this.#o.emit({ type: 'login-failed', method: this.#o.method, error });
      throw error;
    }
    const now = this.#o.clock.now().getTime();
    const current: Current = {
      token: result.token,
      expiresAt: result.ttlSeconds > 0 ? now + result.ttlSeconds * 1000 : undefined,
      renewable: result.renewable,
      fullTtl: result.ttlSeconds,
    };
    if (this.#closed) throw new CertloopError('CERTLOOP_CLOSED', 'the Vault signer is closed');
    this.#current = current;
    this.#o.emit({ type: 'login', method: this.#o.method, ttlSeconds: result.ttlSeconds, renewable: result.renewable });
    this.#schedule(current, result.ttlSeconds, current.renewable ? 'renew' : 'login');
    return current;
  }

  /** Arms the next action at about `fraction` of the `ttlSeconds` left (nothing for a token that never expires). */
  #schedule(current: Current, ttlSeconds: number, action: 'renew' | 'login'): void {
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (current.expiresAt === undefined || this.#closed) return;
    // jitter moves the action only earlier (up to 10 % of the delay), so 80 % is a promise
    const delay = ttlSeconds * 1000 * this.#fraction * (1 - 0.1 * this.#o.random());
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      const work = action === 'renew' ? this.#renew(current) : this.#relogin(current);
      this.#background = work.finally(() => {
        this.#background = undefined;
      });
    }, delay);
  }

  async #renew(current: Current): Promise<void> {
    if (this.#current !== current) return;
    try {
      const answer = await this.#o.client.tokenRenewSelf(current.token);
      const ttl = Number(answer.auth?.lease_duration ?? 0);
      if (this.#current !== current) return;
      current.expiresAt = this.#o.clock.now().getTime() + ttl * 1000;
      // a renewal that could not give the full TTL has hit the max TTL: log in again before it runs out
      const atMaxTtl = ttl < current.fullTtl || answer.auth?.renewable === false;
      this.#o.emit({ type: 'token-renewed', ttlSeconds: ttl, atMaxTtl });
      this.#schedule(current, ttl, atMaxTtl ? 'login' : 'renew');
    } catch (err) {
      this.#o.emit({ type: 'token-renewal-failed', error: vaultError(err, 'auth/token/renew-self') });
      await this.#relogin(current);
    }
  }

  async #relogin(current: Current): Promise<void> {
    if (this.#current !== current || this.#closed) return;
    this.#drop(current.token);
    // a failed login leaves no token: the next call logs in (and reports) itself
    await this.#loginOnce().catch(() => undefined);
  }
}
