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
 *
 * Per connection: an agent renews and holds its stream over one mutual-TLS connection, so the verdict is also kept
 * for the connection (a `WeakMap` keyed by the TLS socket, gone with the socket): later calls on it skip reading and
 * hashing the peer certificate, and still check, on every call, that the verdict's validity window holds now and
 * that the serial is not revoked. The peer certificate of a connection cannot change under it: TLS 1.3 has no
 * renegotiation, and a TLS 1.2 connection has renegotiation disabled when it is first seen.
 *
 * Issued here: when the server's own CA (the key of the signing secret) issues a client certificate, `remember`
 * keeps the SHA-256 of its DER so that the agent's first call with it costs reading the
 * certificate, not a path validation (the server made that signature; it chains to an anchor by construction; each
 * certificate is presented once or twice in a fleet, so the cache never hit before). The certificate is read when it
 * is first presented, not at issuance: a renewed certificate is often not presented for a long time (the agent keeps
 * its connection), and many never are.
 *
 * Revocation: `setCrl` gives the CRL of the signing CA (`ca.crl` of the signing secret). A client certificate whose
 * issuer has a CRL here is validated with it (`CERTLOOP_CHAIN_REVOKED`, `CERTLOOP_CHAIN_CRL_EXPIRED` past its
 * nextUpdate plus the grace); one whose issuer has none is validated without (before the first revocation, there
 * is no CRL at all). A new CRL forgets every cached verdict, and a verdict holds no longer than the CRL it was made
 * with, so no cache ever hides a revocation. The last CRL of an issuer the signing secret no longer names (a
 * replaced intermediate) is kept (at most 8): its revoked certificates stay refused, and since nobody republishes
 * it any more, its nextUpdate is not enforced.
 */
import { createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import {
  CertloopError,
  type Clock,
  type CryptoEngine,
  decodeExtensions,
  decodeName,
  type Identity,
  type InspectedCertificate,
  inspectCertificate,
  isCertloopError,
  joinPemBundle,
  type ParsedCrl,
  parseCertificate,
  pemDecode,
  pemEncode,
  readCrls,
  type SubjectAltNames,
  splitPemBundle,
  validateChain,
} from '@certloop/core';

export interface CheckedClient {
  readonly identity: Identity;
  /** The cluster: the certificate's CN. */
  readonly cluster: string;
  readonly serialNumber: string;
  readonly notAfter: Date;
  /** The authorityKeyIdentifier of the client certificate (lower-case hex), when it has one. */
  readonly issuerKeyId?: string | undefined;
}

export interface ClientCheckOptions {
  readonly clock: Clock;
  readonly engine?: CryptoEngine | undefined;
  /** Most certificates remembered (default 20,000). */
  readonly cacheSize?: number | undefined;
  /** How long past its nextUpdate the signing CA's CRL is still accepted (default 300 s). */
  readonly crlGraceSeconds?: number | undefined;
}

/** A CRL the check holds: the signing CA's current one, or the last one of a replaced issuer. */
interface HeldCrl {
  readonly pem: string;
  readonly parsed: ParsedCrl;
  readonly retired: boolean;
}

// a retired issuer's CRL is never republished: accepted whatever its nextUpdate (about a century of grace)
const RETIRED_GRACE_SECONDS = 100 * 365 * 86_400;
const MAX_HELD_CRLS = 8;

interface Entry {
  readonly generation: number;
  /** The verdict once made (a plain object: no promise is kept per certificate). */
  verdict: CheckedClient | undefined;
  /** While the validation runs: concurrent calls with the same certificate share it. */
  pending: Promise<CheckedClient> | undefined;
  /** The window in which the verdict holds: the whole path's validity overlap. */
  notBefore: number;
  notAfter: number;
}

/** An anchor's validity (epoch ms) and its subject key id, for `remember`. */
interface AnchorWindow {
  /** The subject key id (lower-case hex): verdicts name their issuer with this one string, not a copy each. */
  readonly id: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

const NO_NAMES: readonly string[] = Object.freeze([]);

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
  readonly #crlGraceSeconds: number;
  /** Held CRLs by issuer (the CRL's authorityKeyIdentifier, else its issuer name bytes). */
  #crls = new Map<string, HeldCrl>();
  #currentCrlPem: string | undefined;
  #currentCrl: ParsedCrl | undefined;
  /** Verdicts by connection (the TLS socket), with the generation they were made in. */
  #bySocket = new WeakMap<TLSSocket, Entry>();
  /** Anchors by subject key id (validity, epoch ms), for `remember`. */
  #anchorWindows = new Map<string, AnchorWindow>();
  #rootsWindow = { notBefore: Number.NEGATIVE_INFINITY, notAfter: Number.POSITIVE_INFINITY };
  #connections = 0;
  #remembered = 0;
  /** Certificates the server's own CA issued, not yet presented: the generation they were issued in, by key. */
  #issued = new Map<string, number>();

  constructor(options: ClientCheckOptions) {
    this.#clock = options.clock;
    this.#engine = options.engine;
    this.#cacheSize = options.cacheSize ?? 20_000;
    this.#crlGraceSeconds = options.crlGraceSeconds ?? 300;
    if (!Number.isFinite(this.#crlGraceSeconds) || this.#crlGraceSeconds < 0) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'crlGraceSeconds must be a non-negative number');
    }
  }

  /**
   * Sets the signing CA's current CRL (PEM), or says there is none (`undefined`: the CRLs held so far are kept as
   * retired ones). Forgets every cached verdict when anything changed. Throws `CERTLOOP_CRL_INVALID` (nothing
   * changed) for a CRL that cannot be read. Returns whether anything changed.
   */
  setCrl(crlPem: string | undefined): boolean {
    if (crlPem === this.#currentCrlPem) return false;
    let parsed: ParsedCrl | undefined;
    if (crlPem !== undefined) {
      const all = readCrls(crlPem);
      if (all.length !== 1) throw new CertloopError('CERTLOOP_CRL_INVALID', 'ca.crl must hold exactly one CRL');
      parsed = all[0]!;
    }
    const next = new Map<string, HeldCrl>();
    for (const [issuer, held] of this.#crls) next.set(issuer, { ...held, retired: true });
    if (parsed) {
      const issuer = crlIssuerKey(parsed);
      next.delete(issuer);
      next.set(issuer, { pem: crlPem!, parsed, retired: false });
    }
    while (next.size > MAX_HELD_CRLS) next.delete(next.keys().next().value!);
    this.#crls = next;
    this.#currentCrlPem = crlPem;
    this.#generation++;
    this.#cache.clear();
    this.#issued.clear();
    this.#bySocket = new WeakMap();
    this.#currentCrl = parsed;
    return true;
  }

  /** The signing CA's current CRL, parsed (undefined when there is none). */
  get currentCrl(): ParsedCrl | undefined {
    return this.#currentCrl;
  }

  /** True when a held CRL of the certificate's issuer lists its serial (what ends an open stream). */
  isRevoked(client: { readonly serialNumber: string; readonly issuerKeyId?: string | undefined }): boolean {
    for (const held of this.#crls.values()) {
      const aki = held.parsed.authorityKeyId;
      if (aki !== undefined && client.issuerKeyId !== undefined && aki !== client.issuerKeyId) continue;
      if (held.parsed.revoked.has(client.serialNumber)) return true;
    }
    return false;
  }

  /** The CRLs a certificate issued under `issuerKeyId` is validated with (none when its issuer has none here). */
  #crlsFor(issuerKeyId: string | undefined): HeldCrl | undefined {
    for (const held of this.#crls.values()) {
      const aki = held.parsed.authorityKeyId;
      if (aki === undefined || issuerKeyId === undefined || aki === issuerKeyId) return held;
    }
    return undefined;
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
    const windows = new Map<string, AnchorWindow>();
    let roots = { notBefore: Number.NEGATIVE_INFINITY, notAfter: Number.POSITIVE_INFINITY };
    for (const pem of anchors) {
      try {
        const c = inspectCertificate(pem);
        const window = { id: c.subjectKeyId ?? '', notBefore: c.notBefore.getTime(), notAfter: c.notAfter.getTime() };
        if (c.subjectKeyId) windows.set(c.subjectKeyId, window);
        if (c.selfSigned) {
          roots = {
            notBefore: Math.max(roots.notBefore, window.notBefore),
            notAfter: Math.min(roots.notAfter, window.notAfter),
          };
        }
      } catch {
        // unreadable here means unusable for `remember` only; validateChain judges it on each check
      }
    }
    this.#anchorWindows = windows;
    this.#rootsWindow = roots;
    this.#generation++;
    this.#trustBundlePem = input.trustBundlePem;
    this.#intermediatesPem = input.intermediatesPem;
    this.#anchorsPem = joinPemBundle(anchors);
    this.#cache.clear();
    this.#issued.clear();
    this.#bySocket = new WeakMap();
  }

  get trustBundlePem(): string | undefined {
    return this.#trustBundlePem;
  }

  /**
   * Checks a call's client certificate on the connection `socket` (see the module doc: the verdict is kept per
   * connection). Same result and refusals as {@link check}; `tlsRefusal` says why TLS refused a certificate.
   */
  async checkCall(
    call: { getAuthContext(): PeerAuth | null | undefined },
    socket: TLSSocket | undefined,
    tlsRefusal?: () => CertloopError,
  ): Promise<CheckedClient> {
    if (socket) {
      const held = this.#bySocket.get(socket);
      const now = this.#clock.now().getTime();
      if (held && held.generation === this.#generation && now >= held.notBefore && now <= held.notAfter) {
        const checked = held.verdict ?? (await held.pending!);
        if (this.#crls.size > 0 && this.isRevoked(checked)) {
          throw new CertloopError('CERTLOOP_CHAIN_REVOKED', 'the client certificate is revoked', {
            details: { serialNumber: checked.serialNumber },
          });
        }
        return checked;
      }
    }
    const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
    if ((!raw || raw.length === 0) && tlsRefusal) throw tlsRefusal();
    // the certificate's key is computed once per connection (the lookup and the connection's verdict share it)
    const key = raw && raw.length > 0 ? certificateKey(raw) : '';
    const checked = await this.#checkRevoked(raw, key);
    if (socket) {
      const entry = key ? this.#cache.get(key) : undefined;
      if (entry && !this.#bySocket.has(socket)) {
        this.#connections++;
        // the certificate of this connection is fixed from now on (TLS 1.2 renegotiation could replace it)
        if (socket.getProtocol() !== 'TLSv1.3') socket.disableRenegotiation();
      }
      if (entry) this.#bySocket.set(socket, entry);
    }
    return checked;
  }

  /**
   * Remembers a certificate the server's own CA just issued (see the module doc). When it is first presented, its
   * verdict is taken without a path validation only if it is a clientAuth certificate with a CN whose
   * authorityKeyIdentifier names one of the anchors, not revoked, and neither the trust nor the CRL changed since;
   * anything else is left to the full check. Never throws.
   */
  remember(certificatePem: string): void {
    if (!this.#anchorsPem) return;
    try {
      // only the key now (a PEM decode and a hash); the certificate is read when an agent first presents it
      const der = pemDecode(certificatePem, ['CERTIFICATE']).der;
      const key = certificateKey(der);
      if (this.#issued.size >= this.#cacheSize) {
        const oldest = this.#issued.keys().next().value;
        if (oldest !== undefined) this.#issued.delete(oldest);
      }
      this.#issued.set(key, this.#generation);
      this.#remembered++;
    } catch {
      // not remembered: the first call with it is checked the long way
    }
  }

  /** A certificate remembered at issuance, presented for the first time: its verdict goes in the cache (or not). */
  #adoptIssued(key: string, der: Buffer): void {
    const generation = this.#issued.get(key);
    if (generation === undefined) return;
    this.#issued.delete(key);
    if (generation !== this.#generation) return; // a new trust bundle or CRL since: the long way
    try {
      // the presented bytes are the issued ones (same SHA-256); only what the verdict needs is read (no key
      // description, fingerprint or PEM as inspectCertificate makes: this runs once per agent connection)
      const leaf = parseCertificate(der);
      const ext = decodeExtensions(leaf.extensions);
      const issuer = ext.authorityKeyId ? this.#anchorWindows.get(ext.authorityKeyId) : undefined;
      const cluster = decodeName(leaf.subjectNode).dn.commonName;
      if (!issuer || !cluster || !ext.extKeyUsage?.includes('clientAuth')) return;
      const crl = this.#crls.size > 0 ? this.#crlsFor(issuer.id) : undefined;
      if (crl?.parsed.revoked.has(leaf.serialNumber)) return;
      const notAfter = Math.min(
        leaf.notAfter.getTime(),
        issuer.notAfter,
        this.#rootsWindow.notAfter,
        this.#crlLimit(crl),
      );
      const verdict = verdictOf(
        {
          serialNumber: leaf.serialNumber,
          notAfter: leaf.notAfter,
          sans: ext.subjectAltNames,
          authorityKeyId: issuer.id,
        },
        cluster,
      );
      if (this.#cache.size >= this.#cacheSize) {
        const oldest = this.#cache.keys().next().value;
        if (oldest !== undefined) this.#cache.delete(oldest);
      }
      this.#cache.set(key, {
        generation: this.#generation,
        verdict,
        pending: undefined,
        notBefore: Math.max(leaf.notBefore.getTime(), issuer.notBefore, this.#rootsWindow.notBefore),
        notAfter,
      });
    } catch {
      // not adopted: checked the long way
    }
  }

  /** Mutual-TLS connections seen (distinct sockets whose certificate passed), and verdicts filled at issuance. */
  get stats(): { readonly connections: number; readonly remembered: number } {
    return { connections: this.#connections, remembered: this.#remembered };
  }

  /**
   * Checks the call's client certificate. Throws `CERTLOOP_UNAUTHENTICATED` when there is none (or TLS did not
   * verify it: then `tlsRefusal`, when given, says why, e.g. `CERTLOOP_CHAIN_EXPIRED`), or the `CERTLOOP_CHAIN_*`
   * code of the failed check.
   */
  async check(auth: PeerAuth | null | undefined, tlsRefusal?: () => CertloopError): Promise<CheckedClient> {
    const raw = auth?.sslPeerCertificate?.raw;
    if ((!raw || raw.length === 0) && tlsRefusal) throw tlsRefusal();
    return this.#checkRevoked(raw, raw && raw.length > 0 ? certificateKey(raw) : '');
  }

  /** The check, then the serial looked up in the CRLs in force now (a verdict made while a new CRL arrived). */
  async #checkRevoked(raw: Buffer | undefined, key: string): Promise<CheckedClient> {
    const checked = await this.#check(raw, key);
    if (this.#crls.size > 0 && this.isRevoked(checked)) {
      throw new CertloopError('CERTLOOP_CHAIN_REVOKED', 'the client certificate is revoked', {
        details: { serialNumber: checked.serialNumber },
      });
    }
    return checked;
  }

  async #check(raw: Buffer | undefined, key: string): Promise<CheckedClient> {
    if (!raw || raw.length === 0) throw unauthenticated('a valid client certificate is required');
    const trust = this.#anchorsPem;
    if (!trust) throw new CertloopError('CERTLOOP_UNAVAILABLE', 'the server has no trust bundle yet');
    const now = this.#clock.now().getTime();
    if (this.#issued.size > 0) this.#adoptIssued(key, raw);
    const cached = this.#cache.get(key);
    if (cached && cached.generation === this.#generation) {
      if (now >= cached.notBefore && now <= cached.notAfter) {
        // least recently used first out: touch
        this.#cache.delete(key);
        this.#cache.set(key, cached);
        return cached.verdict ?? cached.pending!;
      }
      this.#cache.delete(key);
    }
    const entry: Entry = {
      generation: this.#generation,
      verdict: undefined,
      pending: undefined,
      // while pending, concurrent calls with the same certificate share the one validation
      notBefore: Number.NEGATIVE_INFINITY,
      notAfter: Number.POSITIVE_INFINITY,
    };
    entry.pending = this.#validate(raw, trust, now, entry);
    if (this.#cache.size >= this.#cacheSize) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, entry);
    try {
      const verdict = await entry.pending;
      entry.verdict = verdict;
      entry.pending = undefined;
      return verdict;
    } catch (err) {
      // a failed verdict is never reused
      if (this.#cache.get(key) === entry) this.#cache.delete(key);
      throw err;
    }
  }

  async #validate(raw: Buffer, trustBundlePem: string, now: number, entry: Entry): Promise<CheckedClient> {
    let chain: readonly InspectedCertificate[];
    let crl: HeldCrl | undefined;
    try {
      const leafPem = pemEncode('CERTIFICATE', raw);
      // which CRL applies depends on the issuer: read the leaf's AKI first (only when there are CRLs at all)
      crl = this.#crls.size > 0 ? this.#crlsFor(inspectCertificate(leafPem).authorityKeyId) : undefined;
      ({ chain } = await validateChain({
        leafPem,
        trustBundlePem,
        at: new Date(now),
        usage: 'clientAuth',
        engine: this.#engine,
        ...(crl ? { crls: crl.pem, crlGraceSeconds: crl.retired ? RETIRED_GRACE_SECONDS : this.#crlGraceSeconds } : {}),
      }));
    } catch (err) {
      if (isCertloopError(err)) throw err;
      throw unauthenticated('the client certificate could not be checked', err);
    }
    const leaf = chain[0]!;
    const cluster = leaf.subject.commonName;
    if (!cluster) throw unauthenticated('the client certificate names no cluster (CN)');
    entry.notBefore = Math.max(...chain.map((c) => c.notBefore.getTime()));
    // the verdict holds no longer than the CRL it was made with
    entry.notAfter = Math.min(...chain.map((c) => c.notAfter.getTime()), this.#crlLimit(crl));
    // the issuer named with the anchor's own string when it is one (one string for every agent it issued)
    const issuerKeyId = leaf.authorityKeyId
      ? (this.#anchorWindows.get(leaf.authorityKeyId)?.id ?? leaf.authorityKeyId)
      : undefined;
    return verdictOf(
      { serialNumber: leaf.serialNumber, notAfter: leaf.notAfter, sans: leaf.sans, authorityKeyId: issuerKeyId },
      cluster,
    );
  }

  /**
   * Until when (ms) a verdict made with `crl` may be reused: its nextUpdate plus the grace; no bound without a CRL,
   * or with a retired issuer's CRL (never republished) or one without nextUpdate.
   */
  #crlLimit(crl: HeldCrl | undefined): number {
    const crlNext = crl && !crl.retired ? crl.parsed.nextUpdate : undefined;
    return crlNext ? crlNext.getTime() + this.#crlGraceSeconds * 1000 : Number.POSITIVE_INFINITY;
  }

  /** How many CRLs are held (the current one and those of replaced issuers). */
  get heldCrls(): number {
    return this.#crls.size;
  }

  get cachedCertificates(): number {
    return this.#cache.size;
  }
}

/** The key certificates are cached by: the SHA-256 of the DER, base64. */
function certificateKey(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('base64');
}

/** A name list of the verdict: one shared empty array for the lists a client certificate leaves empty. */
function names(list: readonly string[] | undefined): readonly string[] {
  return list && list.length > 0 ? list : NO_NAMES;
}

/** The verdict for a client certificate whose path checked out: the cluster is its CN. */
function verdictOf(
  leaf: {
    readonly serialNumber: string;
    readonly notAfter: Date;
    readonly sans?: SubjectAltNames | undefined;
    readonly authorityKeyId?: string | undefined;
  },
  cluster: string,
): CheckedClient {
  return {
    identity: {
      commonName: cluster,
      dnsNames: names(leaf.sans?.dnsNames),
      ipAddresses: names(leaf.sans?.ipAddresses),
      uris: names(leaf.sans?.uris),
    },
    cluster,
    serialNumber: leaf.serialNumber,
    notAfter: leaf.notAfter,
    issuerKeyId: leaf.authorityKeyId,
  };
}

/** The issuer a CRL speaks for: its authorityKeyIdentifier, else its issuer name bytes. */
function crlIssuerKey(crl: ParsedCrl): string {
  return crl.authorityKeyId ?? `name:${Buffer.from(crl.issuerDer).toString('hex')}`;
}
