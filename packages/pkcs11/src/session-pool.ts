/**
 * Internal (`@certloop/pkcs11`): a pool of logged-in PKCS#11 sessions on one token.
 *
 * A PKCS#11 session runs one operation at a time, so a single session would serialise every signature. The pool
 * opens sessions on demand up to `maxSessions`; a caller takes one, runs its operation and gives it back. When the
 * token will open no more (CKR_SESSION_COUNT) the pool shrinks its bound to what it has and callers wait; when
 * more than `maxWaiting` callers wait, the next is refused with `CERTLOOP_PKCS11_SESSION_LIMIT`. A session that
 * failed in a way that breaks it (closed, token removed) is closed and not reused. Logging in once logs in every
 * session of this process on the token (PKCS#11 login state is per application and token).
 */
import { CertloopError, throwIfAborted } from '@certloop/core';
import { BROKEN_SESSION, ckrOf, pkcs11Error } from './errors.js';
import type { Handle, LoadedModule } from './module.js';

export interface SessionPoolOptions {
  readonly module: LoadedModule;
  readonly slot: Handle;
  /** Reads the user PIN when a login is needed (it is not kept). */
  readonly pin: () => Promise<string>;
  /** Most sessions open at once (default 8). */
  readonly maxSessions?: number;
  /** Most callers waiting for a session (default 1024). */
  readonly maxWaiting?: number;
}

export interface PoolStats {
  readonly open: number;
  readonly idle: number;
  readonly waiting: number;
  readonly maxSessions: number;
}

export class SessionPool {
  readonly #o: SessionPoolOptions;
  readonly #idle: Handle[] = [];
  readonly #waiters: { resolve: (session: Handle) => void; reject: (err: unknown) => void }[] = [];
  #open = 0;
  #opening = 0;
  #max: number;
  #loggedIn: Promise<void> | undefined;
  #closed = false;

  constructor(options: SessionPoolOptions) {
    this.#o = options;
    this.#max = Math.max(1, Math.floor(options.maxSessions ?? 8));
  }

  get stats(): PoolStats {
    return { open: this.#open, idle: this.#idle.length, waiting: this.#waiters.length, maxSessions: this.#max };
  }

  /** Runs `operation` on a session of its own, logged in as the user. */
  async use<T>(operation: (session: Handle) => Promise<T> | T, signal?: AbortSignal): Promise<T> {
    throwIfAborted(signal);
    const session = await this.#acquire();
    let broken = false;
    try {
      return await operation(session);
    } catch (err) {
      broken = BROKEN_SESSION.has(ckrOf(err) ?? '');
      throw err;
    } finally {
      this.#release(session, broken);
    }
  }

  /** Closes every session (idle ones now; busy ones when given back) and refuses new callers. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(new CertloopError('CERTLOOP_CLOSED', 'the PKCS#11 token was closed'));
    }
    for (const session of this.#idle.splice(0)) this.#closeSession(session);
  }

  async #acquire(): Promise<Handle> {
    if (this.#closed) throw new CertloopError('CERTLOOP_CLOSED', 'the PKCS#11 token was closed');
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#open + this.#opening < this.#max) {
      const opened = await this.#openSession();
      if (opened) return opened;
    }
    if (this.#waiters.length >= (this.#o.maxWaiting ?? 1024)) {
      throw new CertloopError('CERTLOOP_PKCS11_SESSION_LIMIT', 'too many callers wait for a PKCS#11 session', {
        details: { waiting: this.#waiters.length, open: this.#open },
      });
    }
    return new Promise<Handle>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Opens and logs in a session; undefined when the token will open no more and others are open. */
  async #openSession(): Promise<Handle | undefined> {
    const { lib, api } = this.#o.module;
    this.#opening++;
    let session: Handle;
    try {
      session = lib.C_OpenSession(this.#o.slot, api.CKF_SERIAL_SESSION | api.CKF_RW_SESSION);
    } catch (err) {
      this.#opening--;
      if (ckrOf(err) === 'CKR_SESSION_COUNT' && this.#open > 0) {
        this.#max = this.#open; // the token's own bound: wait for a session instead
        return undefined;
      }
      throw pkcs11Error(err, 'C_OpenSession');
    }
    // PKCS#11 logs the application out when its last session on the token closes: log in again then
    if (this.#open === 0 && this.#opening === 1) this.#loggedIn = undefined;
    try {
      await this.#login(session);
    } catch (err) {
      this.#opening--;
      this.#closeSession(session);
      throw err;
    }
    this.#opening--;
    this.#open++;
    return session;
  }

  #login(session: Handle): Promise<void> {
    this.#loggedIn ??= this.#loginOnce(session).catch((err) => {
      this.#loggedIn = undefined; // a wrong PIN is not remembered: the next caller may bring a right one
      throw err;
    });
    return this.#loggedIn;
  }

  async #loginOnce(session: Handle): Promise<void> {
    const { lib, api } = this.#o.module;
    // never try a PIN on a token that says the PIN is locked (each try may count against it)
    let flags = 0;
    try {
      flags = lib.C_GetTokenInfo(this.#o.slot).flags;
    } catch (err) {
      throw pkcs11Error(err, 'C_GetTokenInfo');
    }
    if (flags & api.CKF_USER_PIN_LOCKED) {
      throw new CertloopError('CERTLOOP_PKCS11_PIN_LOCKED', 'the user PIN of the token is locked');
    }
    const pin = await this.#o.pin();
    try {
      lib.C_Login(session, api.CKU_USER, pin);
    } catch (err) {
      if (ckrOf(err) === 'CKR_USER_ALREADY_LOGGED_IN') return;
      throw pkcs11Error(err, 'C_Login');
    }
  }

  #release(session: Handle, broken: boolean): void {
    if (broken || this.#closed) {
      this.#open--;
      this.#closeSession(session);
      if (broken) this.#wakeOne();
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(session);
    else this.#idle.push(session);
  }

  /** A broken session left room: a waiter may open a new one. */
  #wakeOne(): void {
    const waiter = this.#waiters.shift();
    if (!waiter) return;
    this.#openSession().then(
      (session) => (session ? waiter.resolve(session) : this.#waiters.unshift(waiter)),
      (err) => waiter.reject(err),
    );
  }

  #closeSession(session: Handle): void {
    try {
      this.#o.module.lib.C_CloseSession(session);
    } catch {
      // already closed by the token
    }
  }
}
