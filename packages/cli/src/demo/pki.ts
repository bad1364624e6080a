/**
 * `certloop demo` PKI: the relay PKI bootstrapped in the demo's store, signing either with the local intermediate
 * or (`--ca vault`) through an embedded Vault emulator whose PKI mount is set up by Vault's own API, or
 * (`--ca pkcs11`) with the root and intermediate keys on a SoftHSM2 token made for the demo; and the two
 * operator moves the demo makes: a bring-your-own client secret for the second cluster (as cert-manager would
 * write it: no certloop annotation) and a replacement server certificate.
 */
import type { SigningKeyResolver } from '@certloop/agent-rotator';
import {
  authorityFromSecret,
  bootstrapRelayPki,
  type CaKeySource,
  type CertificateAuthority,
  createCsr,
  DEFAULT_RELAY_SECRET_NAMES,
  type ExternalPrivateKey,
  generateKeyPair,
  issuedTlsSecret,
  joinPemBundle,
  type LocalCertificateAuthority,
  parseCertificate,
  pemDecode,
  readTlsMaterial,
  type Secret,
  type SecretStore,
  splitPemBundle,
  tlsSecretData,
} from '@certloop/core';
import { cliError } from '../lib/errors.js';
import { loadPkcs11 } from '../pkcs11.js';

const names = DEFAULT_RELAY_SECRET_NAMES;

export interface DemoPki {
  /** The CA agents' CSRs are signed by (and the operator's own copy, for the moves below). */
  readonly ca: CertificateAuthority;
  /** Given to the RelayServer when the signing CA is not the store's own. */
  readonly serverCa: CertificateAuthority | undefined;
  /**
   * With PKCS#11: the RelayServer's signing key, found on the token by the certificate in force (so the intermediate
   * a CA rotation makes on the token signs once it is active).
   */
  readonly signingKey?: ExternalPrivateKey | SigningKeyResolver | undefined;
  /** With PKCS#11: where a CA rotation makes the new CA's key (the token). */
  readonly keys?: CaKeySource | undefined;
  /** With Vault: its intermediate, which agents' certificates chain through to the root. */
  readonly clientIntermediatesPem: string | undefined;
  readonly description: string;
  readonly created: readonly string[];
  close(): Promise<void>;
}

export async function setUpPki(store: SecretStore, kind: 'local' | 'vault' | 'pkcs11'): Promise<DemoPki> {
  const server = { commonName: 'relay-server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
  if (kind === 'pkcs11') return setUpTokenPki(store, server);
  if (kind === 'local') {
    const result = await bootstrapRelayPki({ store, server });
    const signing = await store.get(names.signing);
    // short-lived demo certificates: backdate by one second only, so the whole lifetime is usable
    const ca = authorityFromSecret(signing!, { policy: { backdateSeconds: 1 } });
    return {
      ca,
      serverCa: undefined,
      clientIntermediatesPem: undefined,
      description: `local intermediate in ${names.signing}`,
      created: result.created,
      close: async () => {},
    };
  }
  // loaded only when asked: the emulator is the demo's embedded Vault
  const { setupPki, startVaultEmulator } = await import('@certloop/vault-signer/testing');
  const { VaultCertificateAuthority } = await import('@certloop/vault-signer');
  const vault = await startVaultEmulator();
  const pki = await setupPki({
    endpoint: vault.endpoint,
    token: vault.rootToken,
    mount: 'pki_int',
    role: 'relay',
    roleFields: { not_before_duration: '1s', max_ttl: '720h' },
  });
  const ca = new VaultCertificateAuthority({
    endpoint: vault.endpoint,
    auth: { method: 'token', token: vault.rootToken },
    mount: pki.mount,
    role: pki.role,
  });
  // the operator publishes Vault's root where agents look for the root that authenticates the server
  await store.put(names.root, { type: 'Opaque', data: { 'ca.crt': new TextEncoder().encode(pki.rootPem) } });
  const result = await bootstrapRelayPki({ store, signingCa: ca, server });
  return {
    ca,
    serverCa: ca,
    clientIntermediatesPem: pki.intermediatePem,
    description: `Vault emulator ${vault.endpoint} ${pki.mount}/sign/${pki.role}`,
    created: result.created,
    close: async () => {
      ca.close();
      await vault.close();
    },
  };
}

/** `--ca pkcs11`: a SoftHSM2 token made for the demo (loaded only when asked), the CA keys generated on it. */
async function setUpTokenPki(
  store: SecretStore,
  server: { commonName: string; dnsNames: string[]; ipAddresses: string[] },
): Promise<DemoPki> {
  const pkcs11 = await loadPkcs11();
  const { createSoftHsmToken } = await import('@certloop/pkcs11/testing');
  let hsm: Awaited<ReturnType<typeof createSoftHsmToken>>;
  try {
    hsm = await createSoftHsmToken({ label: 'certloop-demo' });
  } catch (err) {
    throw cliError('CERTLOOP_USAGE', 'demo --ca pkcs11 needs SoftHSM2', (err as Error).message, err);
  }
  const token = await pkcs11.Pkcs11Token.open({ uri: hsm.uri() });
  try {
    const result = await bootstrapRelayPki({ store, server, caKeys: pkcs11.pkcs11RelayCaKeys({ token }) });
    const signingKey = await token.key({ label: pkcs11.DEFAULT_RELAY_KEY_LABELS.intermediate });
    const signing = await store.get(names.signing);
    const ca = authorityFromSecret(signing!, { policy: { backdateSeconds: 1 }, privateKey: signingKey });
    return {
      ca,
      serverCa: undefined,
      signingKey: pkcs11.pkcs11SigningKeys(token),
      keys: pkcs11.pkcs11CaKeySource(token),
      clientIntermediatesPem: undefined,
      description: `local intermediate in ${names.signing}, its key on SoftHSM2 (${signingKey.description})`,
      created: result.created,
      close: async () => token.close(),
    };
  } catch (err) {
    token.close();
    throw err;
  }
}

/** The CA in a CA secret, its key from `tls.key` or, when the secret has none, found where `keys` keeps them. */
export async function signerFromSecret(
  secret: Secret,
  keys: CaKeySource | undefined,
): Promise<LocalCertificateAuthority> {
  const m = readTlsMaterial(secret);
  const [first] = splitPemBundle(m.certificatePem ?? '');
  const privateKey =
    !m.privateKeyPem && keys && first
      ? await keys.find(parseCertificate(pemDecode(first, ['CERTIFICATE']).der).spkiDer)
      : undefined;
  return authorityFromSecret(secret, { policy: { backdateSeconds: 1 }, ...(privateKey ? { privateKey } : {}) });
}

async function issue(
  ca: CertificateAuthority,
  request: {
    commonName: string;
    dnsNames: string[];
    ipAddresses?: string[];
    profile: 'client' | 'server';
    lifetimeSeconds: number;
  },
) {
  const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
  const { csrPem } = await createCsr({
    privateKeyPem: key.privateKeyPem,
    subject: { commonName: request.commonName },
    dnsNames: request.dnsNames,
    ipAddresses: request.ipAddresses ?? [],
  });
  const result = await ca.sign({ csrPem, lifetimeSeconds: request.lifetimeSeconds, profile: request.profile });
  return { key, result };
}

/** Writes `name` as cert-manager would: a kubernetes.io/tls secret with cert-manager's annotations, no certloop one. */
export async function writeBringYourOwnClient(
  store: SecretStore,
  ca: CertificateAuthority,
  name: string,
  cluster: string,
): Promise<{ serialNumber: string; version: string }> {
  const { key, result } = await issue(ca, {
    commonName: cluster,
    dnsNames: [cluster],
    profile: 'client',
    lifetimeSeconds: 3600,
  });
  const stored = await store.put(name, {
    type: 'kubernetes.io/tls',
    data: tlsSecretData({
      certificatePem: joinPemBundle([result.certificatePem, result.chainPem]),
      privateKeyPem: key.privateKeyPem,
      trustBundlePem: result.trustBundlePem,
    }),
    labels: { 'controller.cert-manager.io/fao': 'true' },
    annotations: {
      'cert-manager.io/certificate-name': name,
      'cert-manager.io/issuer-name': 'relay-issuer',
      'cert-manager.io/issuer-kind': 'Issuer',
      'cert-manager.io/common-name': cluster,
    },
  });
  return { serialNumber: result.serialNumber, version: stored.version };
}

/** Replaces the server secret with a new certificate for the same names (compare-and-swap on its version). */
export async function replaceServerCertificate(store: SecretStore, ca: CertificateAuthority): Promise<string> {
  const current = await store.get(names.server);
  if (!current) throw new Error(`${names.server} is missing`);
  const { key, result } = await issue(ca, {
    commonName: 'relay-server',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    profile: 'server',
    lifetimeSeconds: 3600,
  });
  const replacement = issuedTlsSecret({ role: 'server', privateKeyPem: key.privateKeyPem, result });
  // agents keep trusting the root they already trust
  const trust = current.data['ca.crt'] ?? replacement.data['ca.crt'];
  await store.put(
    names.server,
    { ...replacement, data: { ...replacement.data, ...(trust ? { 'ca.crt': trust } : {}) } },
    { expectedVersion: current.version },
  );
  return result.serialNumber;
}
