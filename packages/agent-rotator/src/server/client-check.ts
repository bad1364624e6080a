/**
 * `@certloop/agent-rotator` client-certificate check: the one place where the server decides whether the client
 * certificate of a call is good, on every call (TLS already checked it at the handshake; certloop checks again
 * with its own path validation, on its own clock, against the current trust bundle).
 *
 * Good means: it chains to the trust bundle (through the signing CA's intermediates), allows clientAuth, and is
 * inside its validity now. Results are cached by the certificate's bytes (bounded, least recently used first out),
 * so the hot path costs a map lookup and two time comparisons; a new trust bundle clears the cache. Entries keep
 * only the verdict (identity, serial, validity), keyed by a SHA-256 of the certificate, so 10,000 agents cost a
 * few megabytes.
 * Revocation (a CRL beside the signing secret) plugs in here once core's `validateChain` takes one.
 */
import { createHash } from 'node:crypto';
import {
  CertloopError,
  type Clock,
  type CryptoEngine,
  type Identity,
  type InspectedCertificate,
  isCertloopError,
  joinPemBundle,
  pemEncode,
  splitPemBundle,
  validateChain,
} from '@certloop/core';

export interface CheckedClient {
  readonly identity: Identity;
  /** The cluster: the certificate's CN. */
  readonly cluster: string;
  readonly serialNumber: string;
  readonly notAfter: Date;
}

export interface ClientCheckOptions {
  readonly clock: Clock;
  readonly engine?: CryptoEngine | undefined;
  /** Most certificates remembered (default 20,000). */
  readonly cacheSize?: number | undefined;
}

interface Entry {
  readonly generation: number;
  readonly result: Promise<CheckedClient>;
  /** The window in which the verdict holds: the whole path's validity overlap. */
  notBefore: number;
  notAfter: number;
}

/** What grpc-js's `call.getAuthContext()` gives: the verified peer certificate, when there is one. */
export interface PeerAuth {
  readonly sslPeerCertificate?: { readonly raw?: Buffer } | undefined;
}

function unauthenticated(message: string, cause?: unknown): CertloopError {
  return new CertloopError('CERTLOOP_UNAUTHENTICATED', message, cause === undefined ? {} : { cause });
}

export class ClientCertificateCheck {
  readonly #clock: Clock;
  readonly #engine: CryptoEngine | undefined;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, Entry>();
  #trustBundlePem: string | undefined;
  #intermediatesPem: string | undefined;
  #anchorsPem: string | undefined;
  #generation = 0;
  #requests = 0;

  constructor(options: ClientCheckOptions) {
    this.#clock = options.clock;
    this.#engine = options.engine;
    this.#cacheSize = options.cacheSize ?? 20_000;
  }

  /**
   * Sets the roots and the intermediates client paths may use; forgets every cached verdict. Intermediates are
   * validated to the roots here, once (an invalid one is dropped), and then serve as anchors beside the roots: a
   * client certificate costs one signature check and one key import, not one per certificate of its path.
   * Resolves when the new trust is in force.
   */
  async setTrust(input: { trustBundlePem: string; intermediatesPem?: string | undefined }): Promise<void> {
    if (input.trustBundlePem === this.#trustBundlePem && input.intermediatesPem === this.#intermediatesPem) return;
    const request = ++this.#requests;
    const anchors = [...splitPemBundle(input.trustBundlePem)];
    for (const pem of input.intermediatesPem ? splitPemBundle(input.intermediatesPem) : []) {
      try {
        await validateChain({
          leafPem: pem,
          intermediatesPem: input.intermediatesPem,
          trustBundlePem: input.trustBundlePem,
          at: this.#clock.now(),
          engine: this.#engine,
        });
        anchors.push(pem);
      } catch {
        // an intermediate that does not chain to the roots (or expired) vouches for nobody
      }
    }
    if (request !== this.#requests) return; // a newer setTrust won
    this.#generation++;
    this.#trustBundlePem = input.trustBundlePem;
    this.#intermediatesPem = input.intermediatesPem;
    this.#anchorsPem = joinPemBundle(anchors);
    this.#cache.clear();
  }

  get trustBundlePem(): string | undefined {
    return this.#trustBundlePem;
  }

  /**
   * Checks the call's client certificate. Throws `CERTLOOP_UNAUTHENTICATED` when there is none (or TLS did not
   * verify it), or the `CERTLOOP_CHAIN_*` code of the failed check.
   */
  async check(auth: PeerAuth | null | undefined): Promise<CheckedClient> {
    const raw = auth?.sslPeerCertificate?.raw;
    if (!raw || raw.length === 0) throw unauthenticated('a valid client certificate is required');
    const trust = this.#anchorsPem;
    if (!trust) throw new CertloopError('CERTLOOP_UNAVAILABLE', 'the server has no trust bundle yet');
    const key = createHash('sha256').update(raw).digest('base64');
    const now = this.#clock.now().getTime();
    const cached = this.#cache.get(key);
    if (cached && cached.generation === this.#generation) {
      if (now >= cached.notBefore && now <= cached.notAfter) {
        // least recently used first out: touch
        this.#cache.delete(key);
        this.#cache.set(key, cached);
        return cached.result;
      }
      this.#cache.delete(key);
    }
    const entry: Entry = {
      generation: this.#generation,
      // while pending, concurrent calls with the same certificate share the one validation
      notBefore: Number.NEGATIVE_INFINITY,
      notAfter: Number.POSITIVE_INFINITY,
      result: this.#validate(raw, trust, now, key),
    };
    if (this.#cache.size >= this.#cacheSize) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, entry);
    try {
      return await entry.result;
    } catch (err) {
      // a failed verdict is never reused
      if (this.#cache.get(key) === entry) this.#cache.delete(key);
      throw err;
    }
  }

  async #validate(raw: Buffer, trustBundlePem: string, now: number, key: string): Promise<CheckedClient> {
    let chain: readonly InspectedCertificate[];
    try {
      ({ chain } = await validateChain({
        leafPem: pemEncode('CERTIFICATE', raw),
        trustBundlePem,
        at: new Date(now),
        usage: 'clientAuth',
        engine: this.#engine,
      }));
    } catch (err) {
      if (isCertloopError(err)) throw err;
      throw unauthenticated('the client certificate could not be checked', err);
    }
    const leaf = chain[0]!;
    const cluster = leaf.subject.commonName;
    if (!cluster) throw unauthenticated('the client certificate names no cluster (CN)');
    const entry = this.#cache.get(key);
    if (entry) {
      entry.notBefore = Math.max(...chain.map((c) => c.notBefore.getTime()));
      entry.notAfter = Math.min(...chain.map((c) => c.notAfter.getTime()));
    }
    return {
      identity: {
        commonName: cluster,
        dnsNames: leaf.sans.dnsNames,
        ipAddresses: leaf.sans.ipAddresses,
        uris: leaf.sans.uris,
      },
      cluster,
      serialNumber: leaf.serialNumber,
      notAfter: leaf.notAfter,
    };
  }

  get cachedCertificates(): number {
    return this.#cache.size;
  }
}
