/**
 * Test support: the relay secrets' side of a CA rotation done by hand (what core's `CaRotation` writes), so the
 * relay's convergence and drain are tested on their own: prepare publishes {A, B} in every `ca.crt`, activate
 * installs the new signing CA (and a server certificate under it), retire publishes {B}.
 */
import {
  createSelfSignedCa,
  DEFAULT_RELAY_SECRET_NAMES,
  generateKeyPair,
  inspectCertificate,
  issuedTlsSecret,
  joinPemBundle,
  LocalCertificateAuthority,
  readTlsMaterial,
  type SecretStore,
  splitPemBundle,
} from '@certloop/core';

const names = DEFAULT_RELAY_SECRET_NAMES;
const encoder = new TextEncoder();

async function setBundle(store: SecretStore, name: string, bundlePem: string): Promise<void> {
  const secret = await store.get(name);
  if (!secret) return;
  await store.put(
    name,
    { ...secret, data: { ...secret.data, 'ca.crt': encoder.encode(bundlePem) } },
    { expectedVersion: secret.version },
  );
}

export interface HandRotation {
  readonly kind: 'root' | 'intermediate';
  readonly oldBundlePem: string;
  readonly duringBundlePem: string;
  readonly afterBundlePem: string;
  /** subjectKeyIdentifier of the new signing intermediate. */
  readonly activeIssuerKeyId: string;
  readonly newRootPem: string;
  activate(): Promise<void>;
  retire(): Promise<void>;
}

/** Prepare: a new root B and an intermediate under it (or a new intermediate under A), bundles {A, B}. */
export async function prepareHandRotation(store: SecretStore, kind: 'root' | 'intermediate'): Promise<HandRotation> {
  const root = await store.get(names.root);
  const rootMaterial = readTlsMaterial(root!);
  const oldRootPem = splitPemBundle(rootMaterial.certificatePem!)[0]!;
  const oldBundlePem = rootMaterial.trustBundlePem ?? oldRootPem;
  let newRootPem = oldRootPem;
  let newRootKey = rootMaterial.privateKeyPem!;
  if (kind === 'root') {
    const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
    const ca = await createSelfSignedCa({
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: 'certloop relay root CA B' },
      lifetimeSeconds: 10 * 365 * 86_400,
      pathLength: 1,
    });
    newRootPem = ca.certificatePem;
    newRootKey = key.privateKeyPem;
  }
  const duringBundlePem = kind === 'root' ? joinPemBundle([oldBundlePem, newRootPem]) : oldBundlePem;
  const afterBundlePem = kind === 'root' ? newRootPem : oldBundlePem;
  const rootCa = new LocalCertificateAuthority({
    certificatePem: newRootPem,
    privateKeyPem: newRootKey,
    trustBundlePem: afterBundlePem,
  });
  const intermediate = await rootCa.issue({
    commonName: 'certloop relay intermediate B',
    profile: 'intermediate',
    pathLength: 0,
    lifetimeSeconds: 5 * 365 * 86_400,
  });
  for (const name of [names.root, names.signing, names.server]) await setBundle(store, name, duringBundlePem);
  const activeIssuerKeyId = inspectCertificate(intermediate.certificatePem).subjectKeyId!;
  return {
    kind,
    oldBundlePem,
    duringBundlePem,
    afterBundlePem,
    activeIssuerKeyId,
    newRootPem,
    async activate() {
      const current = (await store.get(names.signing))!;
      const signingSecret = issuedTlsSecret({
        role: 'intermediate',
        privateKeyPem: intermediate.privateKeyPem,
        result: { ...intermediate, trustBundlePem: duringBundlePem },
      });
      await store.put(
        names.signing,
        { ...signingSecret, labels: current.labels },
        { expectedVersion: current.version },
      );
      const signer = new LocalCertificateAuthority({
        certificatePem: intermediate.certificatePem,
        privateKeyPem: intermediate.privateKeyPem,
        chainPem: intermediate.chainPem || undefined,
        trustBundlePem: duringBundlePem,
      });
      const server = await signer.issue({
        commonName: 'relay-server',
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
        profile: 'server',
        lifetimeSeconds: 86_400,
      });
      const serverSecret = await store.get(names.server);
      await store.put(
        names.server,
        issuedTlsSecret({ role: 'server', privateKeyPem: server.privateKeyPem, result: server }),
        { expectedVersion: serverSecret!.version },
      );
      if (kind === 'root') {
        const r = (await store.get(names.root))!;
        await store.put(
          names.root,
          issuedTlsSecret({
            role: 'root',
            privateKeyPem: newRootKey,
            result: {
              certificatePem: newRootPem,
              chainPem: '',
              trustBundlePem: duringBundlePem,
              serialNumber: inspectCertificate(newRootPem).serialNumber,
              notAfter: inspectCertificate(newRootPem).notAfter,
            },
          }),
          { expectedVersion: r.version },
        );
      }
    },
    async retire() {
      for (const name of [names.root, names.signing, names.server]) await setBundle(store, name, afterBundlePem);
    },
  };
}
