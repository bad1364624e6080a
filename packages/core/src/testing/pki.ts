/**
 * `@certloop/core/testing` createTestPki: a root and an intermediate CA in memory, and a one-call way to issue
 * leaf certificates and TLS secrets from them, for tests of anything that consumes certificates.
 */
import { LocalCertificateAuthority } from '../ca/local-ca.js';
import type { IssuancePolicyInput } from '../ca/policy.js';
import type { CertificateProfile } from '../ca/types.js';
import type { Clock } from '../clock/clock.js';
import { issuedTlsSecret, type SecretRole } from '../secret/tls-layout.js';
import type { SecretInput } from '../store/types.js';
import { generateKeyPair } from '../x509/keys.js';
import { joinPemBundle } from '../x509/pem.js';
import { createSelfSignedCa } from '../x509/self-signed.js';
import type { KeyAlgorithm } from '../x509/types.js';

export interface TestPkiOptions {
  readonly clock?: Clock;
  readonly algorithm?: KeyAlgorithm;
  /** Issuance policy of the intermediate (e.g. `{ backdateSeconds: 0 }` for exact lifetimes). */
  readonly policy?: IssuancePolicyInput;
  readonly rootLifetimeSeconds?: number;
  readonly rootCommonName?: string;
}

export interface TestLeafRequest {
  readonly commonName: string;
  readonly dnsNames?: string[];
  readonly ipAddresses?: string[];
  readonly profile?: CertificateProfile;
  readonly lifetimeSeconds?: number;
  /** certloop's annotations on the secret (default: managed, role from the profile); `false` for bring-your-own. */
  readonly role?: SecretRole | false;
}

export interface TestLeaf {
  /** Leaf then intermediate, PEM. */
  readonly certificatePem: string;
  readonly leafPem: string;
  readonly privateKeyPem: string;
  readonly trustBundlePem: string;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** A TLS secret ready to `put`. */
  readonly secret: SecretInput;
}

export interface TestPki {
  readonly rootPem: string;
  readonly rootKeyPem: string;
  /** The intermediate CA that issues leaves, and its key. */
  readonly ca: LocalCertificateAuthority;
  readonly intermediateKeyPem: string;
  readonly trustBundlePem: string;
  issue(request: TestLeafRequest): Promise<TestLeaf>;
}

const YEAR = 365 * 86_400;

export async function createTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  const algorithm = options.algorithm ?? 'ECDSA-P256';
  const rootKey = await generateKeyPair({ algorithm });
  const root = await createSelfSignedCa({
    privateKeyPem: rootKey.privateKeyPem,
    subject: { commonName: options.rootCommonName ?? 'certloop test root' },
    lifetimeSeconds: options.rootLifetimeSeconds ?? 10 * YEAR,
    pathLength: 1,
    clock: options.clock,
  });
  const rootCa = new LocalCertificateAuthority({
    certificatePem: root.certificatePem,
    privateKeyPem: rootKey.privateKeyPem,
    trustBundlePem: root.certificatePem,
    clock: options.clock,
  });
  const inter = await rootCa.issue({
    commonName: 'certloop test intermediate',
    keyAlgorithm: algorithm,
    lifetimeSeconds: 5 * YEAR,
    profile: 'intermediate',
    pathLength: 0,
  });
  const ca = new LocalCertificateAuthority({
    certificatePem: inter.certificatePem,
    privateKeyPem: inter.privateKeyPem,
    trustBundlePem: root.certificatePem,
    clock: options.clock,
    policy: options.policy,
  });
  return {
    rootPem: root.certificatePem,
    rootKeyPem: rootKey.privateKeyPem,
    ca,
    intermediateKeyPem: inter.privateKeyPem,
    trustBundlePem: root.certificatePem,
    async issue(request) {
      const profile = request.profile ?? 'server';
      const result = await ca.issue({
        commonName: request.commonName,
        dnsNames: request.dnsNames,
        ipAddresses: request.ipAddresses,
        keyAlgorithm: algorithm,
        lifetimeSeconds: request.lifetimeSeconds ?? 30 * 86_400,
        profile,
      });
      const certificatePem = joinPemBundle([result.certificatePem, result.chainPem]);
      const role = request.role ?? (profile === 'client' ? 'client' : 'server');
      return {
        certificatePem,
        leafPem: result.certificatePem,
        privateKeyPem: result.privateKeyPem,
        trustBundlePem: result.trustBundlePem,
        serialNumber: result.serialNumber,
        notBefore: result.notBefore,
        notAfter: result.notAfter,
        secret:
          role === false
            ? { ...issuedTlsSecret({ role: 'client', privateKeyPem: result.privateKeyPem, result }), annotations: {} }
            : issuedTlsSecret({ role, privateKeyPem: result.privateKeyPem, result }),
      };
    },
  };
}
