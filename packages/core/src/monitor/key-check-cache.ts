/**
 * `@certloop/core` KeyCheckCache: whether a private key belongs to a certificate, computed once per key and
 * certificate. Importing a key is the costly part of a status check (an RSA key takes milliseconds), and the same
 * material comes back under new versions (a metadata edit, a re-list, a resync), so a monitor over 10,000 secrets
 * checks each key once. Bounded (least recently used out), keyed by a SHA-256 of the bytes, never the bytes.
 */
import { createHash } from 'node:crypto';
import { privateKeyMatchesCertificate } from '../x509/key-match.js';

export interface KeyCheckCacheOptions {
  /** How many results to keep (default 16,384). */
  readonly limit?: number;
  /** The check itself (default `privateKeyMatchesCertificate`). */
  readonly check?: (privateKeyPem: string, certificateDer: Uint8Array) => boolean;
}

export class KeyCheckCache {
  readonly #limit: number;
  readonly #check: (privateKeyPem: string, certificateDer: Uint8Array) => boolean;
  readonly #results = new Map<string, boolean>();

  constructor(options: KeyCheckCacheOptions = {}) {
    this.#limit = Math.max(1, options.limit ?? 16_384);
    this.#check = options.check ?? privateKeyMatchesCertificate;
  }

  get size(): number {
    return this.#results.size;
  }

  /** True when the key belongs to the certificate; a failing check throws (and is not cached). */
  matches(privateKeyPem: string, certificateDer: Uint8Array): boolean {
    const id = createHash('sha256').update(privateKeyPem).update('\0').update(certificateDer).digest('base64');
    const known = this.#results.get(id);
    if (known !== undefined) {
      this.#results.delete(id);
      this.#results.set(id, known);
      return known;
    }
    const result = this.#check(privateKeyPem, certificateDer);
    this.#results.set(id, result);
    if (this.#results.size > this.#limit) this.#results.delete(this.#results.keys().next().value as string);
    return result;
  }
}
