/**
 * `@certloop/vault-signer` internal: token-bearing Vault calls for the administrative helpers ({@link VaultPkiAdmin},
 * `VaultCaRotationBackend`): one login shared by concurrent calls, renewal on the injected clock, bounded retries of
 * transient failures, and one fresh login on a 403 `invalid token`, as the signer does. `openVault` builds the
 * client and token lifecycle both run on.
 */
import { CertloopError, type Clock, systemClock, throwIfAborted } from '@certloop/core';
import { loginFor } from './auth/index.js';
import { type VaultAnswer, VaultClient } from './client.js';
import { isInvalidTokenError } from './errors.js';
import type { VaultSignerEvent } from './events.js';
import type { VaultSessionOptions } from './options.js';
import { withRetry } from './retry.js';
import { TokenLifecycle } from './token-lifecycle.js';

export type { VaultSessionOptions };

/**
 * The Vault client (node-vault, per-request timeout default 10 s) and the token lifecycle (login, renewal) that
 * `options` describe: what {@link VaultSession} and the signer run on.
 */
export function openVault(
  options: VaultSessionOptions,
  clock: Clock,
  random: () => number,
  emit: (event: VaultSignerEvent) => void,
): { readonly client: VaultClient; readonly tokens: TokenLifecycle } {
  const client = new VaultClient({
    endpoint: options.endpoint,
    namespace: options.namespace,
    timeoutMs: options.requestTimeoutMs ?? 10_000,
    requestOptions: options.requestOptions,
    httpLayer: options.httpLayer,
  });
  const tokens = new TokenLifecycle({
    client,
    login: loginFor(options.auth),
    method: options.auth.method,
    clock,
    random,
    renewFraction: options.renewFraction,
    emit,
  });
  return { client, tokens };
}

type Verb = 'read' | 'write' | 'list' | 'delete';

export class VaultSession {
  readonly #client: VaultClient;
  readonly #tokens: TokenLifecycle;
  readonly #retry: Parameters<typeof withRetry>[0];

  constructor(options: VaultSessionOptions) {
    if (!options.endpoint || !/^https?:\/\//.test(options.endpoint)) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'endpoint must be an http(s) URL');
    }
    if (!options.auth || !['token', 'kubernetes', 'approle'].includes(options.auth.method)) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'auth.method must be token, kubernetes or approle');
    }
    const clock = options.clock ?? systemClock;
    const random = options.random ?? Math.random;
    const emit = (event: VaultSignerEvent) => options.onEvent?.(event);
    const vault = openVault(options, clock, random, emit);
    this.#client = vault.client;
    this.#tokens = vault.tokens;
    this.#retry = { clock, random, retry: options.retry, emit };
  }

  read(path: string, signal?: AbortSignal): Promise<VaultAnswer> {
    return this.#call('read', path, undefined, signal);
  }

  write(path: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<VaultAnswer> {
    return this.#call('write', path, body, signal);
  }

  list(path: string, signal?: AbortSignal): Promise<VaultAnswer> {
    return this.#call('list', path, undefined, signal);
  }

  delete(path: string, signal?: AbortSignal): Promise<VaultAnswer> {
    return this.#call('delete', path, undefined, signal);
  }

  settled(): Promise<void> {
    return this.#tokens.settled();
  }

  close(): void {
    this.#tokens.close();
    this.#client.close();
  }

  async #call(
    verb: Verb,
    path: string,
    body: Record<string, unknown> | undefined,
    signal: AbortSignal | undefined,
  ): Promise<VaultAnswer> {
    throwIfAborted(signal);
    const once = (token: string) => {
      const options = { token, signal };
      switch (verb) {
        case 'read':
          return this.#client.read(path, options);
        case 'write':
          return this.#client.write(path, body ?? {}, options);
        case 'list':
          return this.#client.list(path, options);
        case 'delete':
          return this.#client.delete(path, options);
      }
    };
    let reloggedIn = false;
    return withRetry(this.#retry, path, signal, async () => {
      const token = await this.#tokens.token(signal);
      try {
        return await once(token);
      } catch (err) {
        if (!isInvalidTokenError(err) || reloggedIn) throw err;
        reloggedIn = true;
        this.#tokens.invalidate(token);
        return once(await this.#tokens.token(signal));
      }
    });
  }
}
