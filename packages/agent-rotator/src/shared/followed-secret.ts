/**
 * `@certloop/agent-rotator` followed secret: the latest state of one secret, kept current by a `Watcher`, with a
 * callback on every change. The server follows its signing and token secrets this way; the agent its token and
 * root secrets.
 */
import { CertloopError, isCertloopError, type Secret, type Watcher } from '@certloop/core';

export interface FollowedSecretOptions {
  readonly watcher: Watcher;
  readonly name: string;
  /** Called with every new state (undefined when the secret is missing or was deleted). */
  readonly onChange?: (secret: Secret | undefined) => void;
  /** Called when the watch reports a problem (it keeps trying by itself). */
  readonly onError?: (error: CertloopError) => void;
}

export class FollowedSecret {
  readonly name: string;
  readonly #options: FollowedSecretOptions;
  readonly #abort = new AbortController();
  #secret: Secret | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: FollowedSecretOptions) {
    this.name = options.name;
    this.#options = options;
  }

  /** Starts watching; resolves once the initial state is known. Idempotent. */
  async start(): Promise<void> {
    if (this.#loop) return;
    let resolveInitial!: () => void;
    const initial = new Promise<void>((resolve) => {
      resolveInitial = resolve;
    });
    this.#loop = (async () => {
      try {
        for await (const event of this.#options.watcher.watch(this.name, { signal: this.#abort.signal })) {
          if (event.type === 'error') {
            this.#options.onError?.(event.error);
            continue;
          }
          this.#secret = event.type === 'deleted' ? undefined : event.secret;
          this.#options.onChange?.(this.#secret);
          resolveInitial();
        }
      } catch (err) {
        if (!this.#abort.signal.aborted) {
          this.#options.onError?.(
            isCertloopError(err) ? err : new CertloopError('CERTLOOP_WATCH_FAILED', 'watch ended', { cause: err }),
          );
        }
      } finally {
        resolveInitial();
      }
    })();
    await initial;
  }

  /** The latest state, or undefined when missing (or before `start`). */
  current(): Secret | undefined {
    return this.#secret;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }
}
