/**
 * `@certloop/vault-signer` internal: the issuer's chain read from Vault (`issuer/{ref}/json`, else `cert/ca_chain`),
 * its roots plus every other root published in the mount (several while a CA rotation overlaps them) kept as the
 * trust bundle, cached, and refreshed when an issued chain names a certificate it does not know (an issuer rotated
 * in Vault).
 */
import { createHash } from 'node:crypto';
import { CertloopError, inspectCertificate, pemDecode, splitPemBundle } from '@certloop/core';
import type { VaultClient } from './client.js';
import type { VaultSignerEvent } from './events.js';

export interface TrustBundleSource {
  readonly client: VaultClient;
  readonly mount: string;
  readonly issuer: string | undefined;
  /** A bundle given by the user: used as it is, never fetched. */
  readonly fixedPem: string | undefined;
  readonly emit: (event: VaultSignerEvent) => void;
}

interface Snapshot {
  readonly pem: string;
  /** SHA-256 of every certificate of the issuer's chain. */
  readonly known: ReadonlySet<string>;
}

const fingerprints = new Map<string, string>();

/**
 * SHA-256 of a certificate's DER, remembered by PEM text: Vault sends the same few issuer certificates with every
 * answer. Bounded.
 */
export function fingerprint(pem: string): string {
  let known = fingerprints.get(pem);
  if (known === undefined) {
    known = createHash('sha256')
      .update(pemDecode(pem, ['CERTIFICATE']).der)
      .digest('hex');
    if (fingerprints.size >= 256) fingerprints.clear();
    fingerprints.set(pem, known);
  }
  return known;
}

export class TrustBundleCache {
  readonly #source: TrustBundleSource;
  #snapshot: Promise<Snapshot> | undefined;
  /** The load `#loaded` came from, and its result once it resolved. */
  #loading: Promise<Snapshot> | undefined;
  #loaded: Snapshot | undefined;

  constructor(source: TrustBundleSource) {
    this.#source = source;
  }

  async get(signal?: AbortSignal): Promise<string> {
    return (await this.#load(signal)).pem;
  }

  /**
   * The cached bundle when it is loaded and knows every certificate of `chain` (what the signer asks after each
   * answer, without waiting); otherwise undefined: ask {@link knows}, {@link refresh} and {@link get}.
   */
  knownBundle(chain: readonly string[]): string | undefined {
    const loaded = this.#loaded;
    if (loaded === undefined || this.#snapshot !== this.#loading) return undefined;
    if (this.#source.fixedPem) return loaded.pem;
    return chain.every((pem) => loaded.known.has(fingerprint(pem))) ? loaded.pem : undefined;
  }

  /** True when every certificate of `chain` is one the cached issuer chain holds. */
  async knows(chain: readonly string[], signal?: AbortSignal): Promise<boolean> {
    if (this.#source.fixedPem) return true;
    const { known } = await this.#load(signal);
    return chain.every((pem) => known.has(fingerprint(pem)));
  }

  /** Reads the chain from Vault again. */
  async refresh(signal?: AbortSignal): Promise<string> {
    this.#snapshot = undefined;
    const snapshot = await this.#load(signal);
    this.#source.emit({ type: 'trust-bundle-refreshed', roots: splitPemBundle(snapshot.pem).length });
    return snapshot.pem;
  }

  #load(signal?: AbortSignal): Promise<Snapshot> {
    if (!this.#snapshot) {
      const loading = this.#fetch(signal);
      this.#snapshot = loading;
      this.#loading = loading;
      this.#loaded = undefined;
      loading.then(
        (snapshot) => {
          if (this.#snapshot === loading) this.#loaded = snapshot;
        },
        () => {
          if (this.#snapshot === loading) this.#snapshot = undefined;
        },
      );
    }
    return this.#snapshot;
  }

  async #fetch(signal?: AbortSignal): Promise<Snapshot> {
    const { client, mount, issuer, fixedPem } = this.#source;
    if (fixedPem) return { pem: fixedPem, known: new Set() };
    const path = issuer ? `${mount}/issuer/${issuer}/json` : `${mount}/cert/ca_chain`;
    const answer = await client.read(path, { signal });
    const data = (answer.data ?? answer) as { ca_chain?: unknown; certificate?: unknown };
    const raw = Array.isArray(data.ca_chain)
      ? data.ca_chain.join('\n')
      : String(data.ca_chain ?? data.certificate ?? '');
    const chain = raw.trim() ? splitPemBundle(raw).map((p) => p.trim()) : [];
    if (chain.length === 0) {
      throw new CertloopError('CERTLOOP_CA_RESPONSE_INVALID', `vault returned no CA chain at ${path}`, {
        details: { path },
      });
    }
    const roots = chain.filter((pem) => inspectCertificate(pem).selfSigned);
    const known = new Set(chain.map(fingerprint));
    // during a CA rotation several roots are published in the mount: each is trusted
    for (const pem of await this.#publishedRoots(known, signal)) {
      roots.push(pem);
      known.add(fingerprint(pem));
    }
    // an issuer whose root lives elsewhere: its last certificate is the anchor Vault knows
    const anchors = roots.length > 0 ? roots : [chain[chain.length - 1]!];
    return { pem: `${anchors.join('\n')}\n`, known };
  }

  /**
   * The self-signed issuers of the mount beyond `known` (`LIST {mount}/issuers`, then each one's `json`, both readable
   * without a token). A Vault without the multi-issuer API (before 1.11) or an empty list gives none.
   */
  async #publishedRoots(known: ReadonlySet<string>, signal: AbortSignal | undefined): Promise<string[]> {
    const { client, mount } = this.#source;
    let ids: unknown;
    try {
      ids = ((await client.list(`${mount}/issuers`, { signal })).data as { keys?: unknown } | null)?.keys;
    } catch (err) {
      if (signal?.aborted) throw err;
      return [];
    }
    if (!Array.isArray(ids)) return [];
    const roots: string[] = [];
    for (const id of ids) {
      const data = (await client.read(`${mount}/issuer/${encodeURIComponent(String(id))}/json`, { signal })).data as {
        certificate?: unknown;
      } | null;
      const pem = typeof data?.certificate === 'string' ? data.certificate.trim() : '';
      if (!pem.includes('BEGIN CERTIFICATE')) continue;
      let root: boolean;
      try {
        root = !known.has(fingerprint(pem)) && inspectCertificate(pem).selfSigned;
      } catch {
        throw new CertloopError('CERTLOOP_CA_RESPONSE_INVALID', `vault returned an unreadable issuer ${String(id)}`);
      }
      if (root) roots.push(pem);
    }
    return roots;
  }
}
