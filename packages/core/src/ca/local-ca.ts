/**
 * `@certloop/core` LocalCertificateAuthority: a CA whose certificate and key are in this process.
 *
 * It signs CSRs (checking proof of possession, identity binding, its {@link IssuancePolicy} and its own name
 * constraints) and issues key pairs it generates itself. With a revocation store it also revokes and publishes CRLs
 * ({@link RevokingAuthority}). The issuer's name, key identifier and imported key are prepared once, so each
 * issuance costs about one signature verification plus one signature.
 */

import { type Clock, systemClock } from '../clock/index.js';
import { CertloopError, throwIfAborted } from '../errors.js';
import { bytesEqual, parseCertificate } from '../x509/certificate.js';
import {
  buildCertificate,
  buildCertificatePemSync,
  type PreparedIssuer,
  prepareIssuer,
  profileExtensions,
  randomSerialNumber,
  serialHex,
  wholeSeconds,
} from '../x509/certificate-builder.js';
import { type CryptoEngine, type ExternalPrivateKey, nodeCryptoEngine } from '../x509/crypto-engine.js';
import { createCsr, type DecodedCsr, readCsrPem, verifyDecodedCsr, verifyDecodedCsrSync } from '../x509/csr.js';
import { parseDer } from '../x509/der.js';
import { type DerTree, encodeDer } from '../x509/der-tree.js';
import { extension as encodeExtension, keyIdentifierOfKey } from '../x509/extensions-writer.js';
import { isEmptyAltNames } from '../x509/general-names.js';
import { generateKeyPair } from '../x509/keys.js';
import { nameTree } from '../x509/name.js';
import {
  altNames,
  type CnFallback,
  checkNameConstraints,
  constrainedTags,
  decodeNameConstraints,
  type NameConstraints,
  subjectNames,
} from '../x509/name-constraints.js';
import { OID } from '../x509/oids.js';
import { optionalClock, optionalEngine } from '../x509/options.js';
import { splitCertificates } from '../x509/pem.js';
import { canonicalSpki } from '../x509/spki.js';
import type { KeyAlgorithm } from '../x509/types.js';
import { type CaMaterial, loadCaMaterial } from './ca-material.js';
import { checkIdentityBinding } from './identity-binding.js';
import {
  checkKeyPolicy,
  checkNamePolicy,
  type IssuancePolicyInput,
  type ResolvedPolicy,
  resolveIssuancePolicy,
} from './policy.js';
import { RevocationLedger, type RevocationStoreOptions } from './revocation.js';
import type {
  CaCallOptions,
  CertificateProfile,
  IssuanceLedger,
  KeyIssuingAuthority,
  PublishedCrl,
  RevokeRequest,
  RevokeResult,
  RevokingAuthority,
  SignRequest,
  SignResult,
} from './types.js';

export interface LocalCertificateAuthorityOptions {
  /** The CA certificate, PEM; may be followed by its own chain. */
  readonly certificatePem: string;
  /**
   * The CA's private key: PKCS#8, PKCS#1 or SEC1 PEM; or an {@link ExternalPrivateKey} (a key on a PKCS#11 token,
   * say) that signs every certificate and CRL this CA makes, its private half never in this process.
   */
  readonly privateKeyPem: string | ExternalPrivateKey;
  /** Intermediates above this CA, issuer first (roots are dropped from what `sign` returns). */
  readonly chainPem?: string | undefined;
  /** The roots relying parties trust, returned by `trustBundle()` and in every `SignResult`. */
  readonly trustBundlePem: string;
  readonly policy?: IssuancePolicyInput | undefined;
  readonly clock?: Clock | undefined;
  readonly engine?: CryptoEngine | undefined;
  /** Key algorithm `issue` generates when the request names none. Default ECDSA-P256. */
  readonly issueKeyAlgorithm?: KeyAlgorithm | undefined;
  /**
   * Where revocations and the CRL are kept: the store and the name of the secret holding this CA (its keys
   * `ca.revocations` and `ca.crl` are written beside `tls.key`). Without it the CA cannot revoke (`canRevoke` false).
   */
  readonly revocation?: RevocationStoreOptions | undefined;
  /**
   * Where every leaf it signs is recorded (serial, this CA's key id, holder, notAfter) before `sign` resolves, so a
   * CA rotation's drain can count the leaves still live under this CA. Without it nothing is recorded.
   */
  readonly ledger?: IssuanceLedger | undefined;
}

export type LocalIssueRequest = Parameters<KeyIssuingAuthority['issue']>[0] & {
  readonly ipAddresses?: readonly string[];
  readonly uris?: readonly string[];
  readonly keyAlgorithm?: KeyAlgorithm;
};

const PROFILES: readonly CertificateProfile[] = ['server', 'client', 'server+client', 'intermediate'];

function rejectProfile(message: string, details?: Record<string, unknown>): never {
  throw new CertloopError('CERTLOOP_POLICY_PROFILE_REJECTED', message, details ? { details } : {});
}

/**
 * Contract: as {@link KeyIssuingAuthority}. `sign` is safe for concurrent use and shares nothing mutable between
 * calls except the issuer's prepared key. The chain it returns is what a TLS peer sends after the leaf: this CA's
 * certificate and its `chainPem`, issuer first, without self-signed roots or certificates already in the trust
 * bundle (so a root CA signing directly returns an empty chain).
 */
export class LocalCertificateAuthority implements KeyIssuingAuthority, RevokingAuthority {
  readonly #material: CaMaterial;
  readonly #constraints: readonly NameConstraints[];
  readonly #constrainedTags: ReadonlySet<number>;
  readonly #ledger: RevocationLedger | undefined;
  readonly #policy: ResolvedPolicy;
  readonly #clock: Clock;
  readonly #engine: CryptoEngine | undefined;
  readonly #issueKeyAlgorithm: KeyAlgorithm;
  #issuer: Promise<PreparedIssuer> | undefined;
  /** The prepared issuer once its promise has settled (spares the hot path an await). */
  #issuerReady: PreparedIssuer | undefined;
  readonly #o: LocalCertificateAuthorityOptions;

  constructor(options: LocalCertificateAuthorityOptions) {
    this.#o = options;
    this.#material = loadCaMaterial(options);
    this.#policy = resolveIssuancePolicy(options.policy);
    this.#clock = optionalClock(options.clock) ?? systemClock;
    this.#engine = optionalEngine(options.engine);
    this.#issueKeyAlgorithm = options.issueKeyAlgorithm ?? 'ECDSA-P256';
    this.#constraints = ownNameConstraints(this.#material);
    this.#constrainedTags = constrainedTags(this.#constraints);
    this.#ledger = options.revocation
      ? new RevocationLedger(options.revocation, () => this.#prepared(), this.#clock)
      : undefined;
  }

  /** Whether this CA was given a revocation store (see {@link LocalCertificateAuthorityOptions.revocation}). */
  get canRevoke(): boolean {
    return this.#ledger !== undefined;
  }

  /** Revokes a serial and publishes the CRL that lists it (see {@link RevokingAuthority}). */
  async revoke(request: RevokeRequest, options: CaCallOptions = {}): Promise<RevokeResult> {
    throwIfAborted(options.signal);
    return this.#revocation().revoke(request, options);
  }

  /** Signs and stores a fresh CRL with the current entries. */
  async publishCrl(options: CaCallOptions = {}): Promise<PublishedCrl> {
    throwIfAborted(options.signal);
    return this.#revocation().publish(options);
  }

  /** The latest stored CRL, PEM, or undefined before the first. */
  async currentCrl(options: CaCallOptions = {}): Promise<string | undefined> {
    throwIfAborted(options.signal);
    return this.#revocation().current(options);
  }

  #revocation(): RevocationLedger {
    if (!this.#ledger) throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'this CA was given no revocation store');
    return this.#ledger;
  }

  /** The policy in force, defaults filled in. */
  get policy(): ResolvedPolicy {
    return this.#policy;
  }

  /** This CA's certificate, PEM. */
  get certificatePem(): string {
    return this.#material.certificatePem;
  }

  get notAfter(): Date {
    return this.#material.certificate.notAfter;
  }

  async trustBundle(options: CaCallOptions = {}): Promise<string> {
    throwIfAborted(options.signal);
    return this.#material.trustBundlePem;
  }

  async sign(request: SignRequest, options: CaCallOptions = {}): Promise<SignResult> {
    throwIfAborted(options?.signal);
    if (typeof request !== 'object' || request === null) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'sign needs a request object');
    }
    const policy = this.#policy;
    if (!PROFILES.includes(request.profile)) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'unknown certificate profile', {
        details: { profile: request.profile },
      });
    }
    if (!policy.allowedProfiles.includes(request.profile)) {
      rejectProfile('this CA does not issue that profile', { profile: request.profile });
    }
    const csr = this.#readCsr(request.csrPem);
    checkKeyPolicy(policy, csr.publicKey);
    const pathLength = this.#checkProfile(request, csr);
    checkNamePolicy(policy, csr.sans);
    if (request.identity) checkIdentityBinding(request.identity, csr.subject, csr.sans);
    const validity = this.#validity(request);
    // With the node engine (the default) verifying and signing run synchronously: no promise for either.
    if (this.#engine === undefined || this.#engine === nodeCryptoEngine) verifyDecodedCsrSync(csr);
    else await verifyDecodedCsr(csr, this.#engine);
    // The certificate carries the key as re-encoded from what was verified, never the CSR's bytes as sent.
    const spkiDer = this.#issuedKey(csr);
    throwIfAborted(options?.signal);
    const issuer = this.#issuerReady ?? (await this.#prepared());
    const isCa = request.profile === 'intermediate';
    // The subject is re-encoded from what was decoded (never the CSR's bytes as sent), as a tree written straight
    // into the certificate.
    let subject: DerTree;
    try {
      subject = nameTree(csr.subject);
    } catch (err) {
      throw new CertloopError('CERTLOOP_CSR_INVALID', 'the CSR subject cannot be issued', { cause: err });
    }
    const subjectEmpty = subject.contentLength === 0;
    if (this.#constraints.length > 0) {
      const cn = isCa ? 'none' : request.profile === 'client' ? 'hostname-like' : 'any';
      this.#checkOwnConstraints(encodeDer(subject), isCa ? undefined : csr.sans, cn);
    }
    const serialNumber = randomSerialNumber();
    const extensions = profileExtensions({
      profile: isCa ? 'ca' : (request.profile as Exclude<CertificateProfile, 'intermediate'>),
      subjectKey: csr.publicKey,
      subjectKeyIdentifier: keyIdentifierOfKey(csr.spkiParts.publicKeyBytes),
      authorityKeyIdentifier: this.#material.keyIdentifier,
      sans: isCa ? undefined : csr.sans,
      subjectEmpty,
      pathLength,
    });
    if (isCa && policy.intermediateNameConstraintsDer) {
      extensions.push(encodeExtension(OID.nameConstraints, true, policy.intermediateNameConstraintsDer));
    }
    const { notBefore, notAfter } = validity;
    const template = { serialNumber, notBefore, notAfter, subjectDer: subject, spkiDer, extensions };
    const pem =
      issuer.engine === nodeCryptoEngine
        ? buildCertificatePemSync(issuer, template)
        : (await buildCertificate(issuer, template)).pem;
    if (this.#o.ledger && !isCa) {
      await this.#o.ledger.record(
        {
          serialNumber: serialHex(serialNumber),
          issuerKeyId: Buffer.from(this.#material.keyIdentifier).toString('hex'),
          holder: csr.subject.commonName ?? csr.sans.dnsNames[0] ?? csr.sans.uris[0] ?? serialHex(serialNumber),
          notAfter: validity.notAfter,
          issuedAt: this.#clock.now(),
        },
        options,
      );
    }
    return {
      certificatePem: pem,
      chainPem: this.#material.chainPem,
      trustBundlePem: this.#material.trustBundlePem,
      notBefore: validity.notBefore,
      notAfter: validity.notAfter,
      serialNumber: serialHex(serialNumber),
    };
  }

  /** Generates a key pair (default {@link LocalCertificateAuthorityOptions.issueKeyAlgorithm}), then signs it. */
  async issue(
    request: LocalIssueRequest,
    options: CaCallOptions = {},
  ): Promise<SignResult & { readonly privateKeyPem: string }> {
    throwIfAborted(options?.signal);
    if (typeof request !== 'object' || request === null) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'issue needs a request object');
    }
    const { commonName, dnsNames, ipAddresses, uris, keyAlgorithm, ...rest } = request;
    const keyPair = await generateKeyPair({ algorithm: keyAlgorithm ?? this.#issueKeyAlgorithm, engine: this.#engine });
    const { csrPem } = await createCsr({
      privateKeyPem: keyPair.privateKeyPem,
      subject: { commonName },
      dnsNames,
      ipAddresses,
      uris,
      engine: this.#engine,
    });
    const result = await this.sign({ ...rest, csrPem }, options);
    return { ...result, privateKeyPem: keyPair.privateKeyPem };
  }

  /** Refuses, before signing, a certificate that would break this CA's (or its chain's) name constraints. */
  #checkOwnConstraints(subjectDer: Uint8Array, sans: DecodedCsr['sans'] | undefined, cn: CnFallback): void {
    const wanted = this.#constrainedTags;
    const names = sans ? altNames(sans, wanted) : [];
    subjectNames(parseDer(subjectDer), sans?.dnsNames.length ? 'none' : cn, wanted, names);
    for (const constraints of this.#constraints) {
      const failure = checkNameConstraints(names, constraints);
      if (failure) {
        throw new CertloopError(
          'CERTLOOP_POLICY_NAME_REJECTED',
          `outside this CA's name constraints: ${failure.message}`,
          {
            details: { ...failure.details, constraintCode: failure.code },
          },
        );
      }
    }
  }

  /** The CSR's key in its one DER form; a key that was not already in it is refused (`CERTLOOP_CSR_INVALID`). */
  #issuedKey(csr: DecodedCsr): Uint8Array {
    try {
      return canonicalSpki(csr.spkiDer, csr.spkiParts);
    } catch (err) {
      throw new CertloopError('CERTLOOP_CSR_INVALID', 'the CSR public key is not in its DER form', { cause: err });
    }
  }

  #readCsr(csrPem: string): DecodedCsr {
    try {
      return readCsrPem(csrPem, { maxBytes: this.#policy.maxCsrBytes });
    } catch (err) {
      if (err instanceof CertloopError && err.code === 'CERTLOOP_UNSUPPORTED_ALGORITHM') {
        throw new CertloopError('CERTLOOP_POLICY_KEY_REJECTED', 'the CSR uses an algorithm this CA does not accept', {
          cause: err,
          ...(err.details ? { details: err.details } : {}),
        });
      }
      throw err;
    }
  }

  /** Checks the profile against the CSR and this CA; gives the pathLenConstraint for an intermediate. */
  #checkProfile(request: SignRequest, csr: DecodedCsr): number | undefined {
    if (request.profile !== 'intermediate') {
      if (csr.basicConstraints?.ca) rejectProfile('the CSR asks for CA:TRUE under a leaf profile');
      if (!csr.subject.commonName && isEmptyAltNames(csr.sans)) {
        throw new CertloopError('CERTLOOP_CSR_INVALID', 'the CSR names no subject and no subject alternative name');
      }
      return undefined;
    }
    if (!csr.subject.commonName) throw new CertloopError('CERTLOOP_CSR_INVALID', 'an intermediate CA needs a CN');
    const own = this.#material.pathLength;
    if (own === 0) rejectProfile('this CA has pathLen 0 and cannot issue intermediates');
    const pathLength = request.pathLength ?? 0;
    if (!Number.isSafeInteger(pathLength) || pathLength < 0) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'pathLength must be a non-negative integer');
    }
    if (own !== undefined && pathLength > own - 1) {
      rejectProfile('the requested pathLength does not fit under this CA', { pathLength, caPathLength: own });
    }
    return pathLength;
  }

  #validity(request: SignRequest): { notBefore: Date; notAfter: Date } {
    const policy = this.#policy;
    const lifetime = request.lifetimeSeconds;
    if (typeof lifetime !== 'number' || !Number.isFinite(lifetime) || lifetime < 1) {
      throw new CertloopError('CERTLOOP_INVALID_ARGUMENT', 'lifetimeSeconds must be a positive number', {
        details: { lifetimeSeconds: lifetime },
      });
    }
    const max = policy.maxLifetimeSeconds[request.profile];
    if (lifetime > max) {
      throw new CertloopError(
        'CERTLOOP_POLICY_LIFETIME_EXCEEDED',
        `the requested lifetime of ${spelledSeconds(lifetime)} exceeds the policy's maximum of ${spelledSeconds(max)} for a ${request.profile} certificate; ask for ${spelledSeconds(max)} or less`,
        { details: { lifetimeSeconds: lifetime, maxLifetimeSeconds: max, profile: request.profile } },
      );
    }
    const ca = this.#material.certificate;
    const now = wholeSeconds(this.#clock.now());
    const earliest = Math.max(now.getTime() - policy.backdateSeconds * 1000, ca.notBefore.getTime());
    const notBefore = new Date(earliest);
    let notAfter = new Date(now.getTime() + Math.floor(lifetime) * 1000);
    if (notAfter.getTime() > ca.notAfter.getTime()) {
      if (policy.beyondCaNotAfter === 'error' || now.getTime() >= ca.notAfter.getTime()) {
        throw new CertloopError('CERTLOOP_CA_EXPIRES_TOO_SOON', 'the certificate would outlive the CA', {
          details: { requestedNotAfter: notAfter.toISOString(), caNotAfter: ca.notAfter.toISOString() },
        });
      }
      notAfter = ca.notAfter;
    }
    return { notBefore, notAfter };
  }

  #prepared(): Promise<PreparedIssuer> {
    this.#issuer ??= prepareIssuer({
      nameDer: this.#material.certificate.subjectDer,
      keyIdentifier: this.#material.keyIdentifier,
      pkcs8Der: this.#material.key.pkcs8Der,
      externalKey: this.#material.key.externalKey,
      info: this.#material.key.info,
      engine: this.#engine,
    }).then((issuer) => {
      this.#issuerReady = issuer;
      return issuer;
    });
    return this.#issuer;
  }
}

/** The name constraints of the CA certificate and of the CAs above it in its chain. */
function ownNameConstraints(material: CaMaterial): NameConstraints[] {
  const chain = material.chainPem ? splitCertificates(material.chainPem) : [];
  const certificates = [
    material.certificate,
    ...chain.filter((der) => !bytesEqual(der, material.certificate.der)).map((der) => parseCertificate(der)),
  ];
  const out: NameConstraints[] = [];
  for (const certificate of certificates) {
    const ext = certificate.extensions.find((e) => e.oid === OID.nameConstraints);
    if (ext) out.push(decodeNameConstraints(ext.value));
  }
  return out;
}

/** `31536000 s (365 days)`: exact seconds, and days or hours when whole, for messages. */
function spelledSeconds(seconds: number): string {
  const whole = Math.floor(seconds);
  if (whole % 86_400 === 0) return `${whole / 86_400} days`;
  if (whole % 3600 === 0) return `${whole / 3600} hours`;
  if (whole >= 86_400) return `${whole} s (${(whole / 86_400).toFixed(1)} days)`;
  return `${whole} s`;
}
