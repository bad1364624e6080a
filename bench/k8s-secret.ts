/**
 * A realistic relay client TLS Secret (leaf, chain, key, trust bundle, certloop annotations) for the Kubernetes
 * benches.
 */
import { randomBytes } from 'node:crypto';
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

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * `template` with bytes of its own: every PEM body line (between the BEGIN and END lines) rewritten with random
 * base64 characters of the same length. The sizes and shape of a real TLS Secret, distinct bytes per Secret (so no
 * two Secrets can share memory), without signing 10,000 certificates; nobody parses them (the informer does not).
 */
export function distinctSecret(template: SecretInput): SecretInput {
  const data: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(template.data)) {
    const lines = Buffer.from(value).toString('latin1').split('\n');
    const out = lines.map((line) => {
      if (line === '' || line.startsWith('-----')) return line;
      const noise = randomBytes(line.length);
      let body = '';
      for (let i = 0; i < line.length; i++) body += line[i] === '=' ? '=' : BASE64[noise[i]! & 63];
      return body;
    });
    data[key] = new Uint8Array(Buffer.from(out.join('\n'), 'latin1'));
  }
  return { ...template, data };
}
