/**
 * A realistic relay client TLS Secret (leaf, chain, key, trust bundle, certloop annotations) for the Kubernetes
 * benches.
 */
import {
  bootstrapRelayPki,
  createCsr,
  generateKeyPair,
  joinPemBundle,
  MemorySecretStore,
  managedAnnotations,
  type SecretInput,
  tlsSecretData,
} from '@certloop/core';

export async function clientTlsSecrets(count: number): Promise<SecretInput[]> {
  const pki = await bootstrapRelayPki({ store: new MemorySecretStore() });
  const out: SecretInput[] = [];
  for (let i = 0; i < count; i++) {
    const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
    const { csrPem } = await createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName: `agent-${i}` } });
    const issued = await pki.signingCa.sign({ csrPem, lifetimeSeconds: 86_400, profile: 'client' });
    out.push({
      type: 'kubernetes.io/tls',
      data: tlsSecretData({
        certificatePem: joinPemBundle([issued.certificatePem, issued.chainPem]),
        privateKeyPem: key.privateKeyPem,
        trustBundlePem: issued.trustBundlePem,
      }),
      annotations: managedAnnotations({ role: 'client', serialNumber: issued.serialNumber, notAfter: issued.notAfter }),
    });
  }
  return out;
}
