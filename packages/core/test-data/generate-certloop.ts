/**
 * Seed corpus for the DER differential tests, made by certloop itself: roots of every key type, an intermediate,
 * leaves of every profile with every SAN kind certloop writes, CSRs and private keys.
 *
 * Run: node --conditions=source --import tsx packages/core/test-data/generate-certloop.ts
 * (rewrites packages/core/test-data/certloop/).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createCsr,
  createSelfSignedCa,
  generateKeyPair,
  KEY_ALGORITHMS,
  LocalCertificateAuthority,
} from '../src/index.js';

const out = join(import.meta.dirname, 'certloop');
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const write = (name: string, text: string) => writeFile(join(out, name), text);

for (const algorithm of KEY_ALGORITHMS) {
  const slug = algorithm.toLowerCase();
  const rootKey = await generateKeyPair({ algorithm });
  const root = await createSelfSignedCa({
    privateKeyPem: rootKey.privateKeyPem,
    subject: { commonName: `certloop root ${algorithm}`, organization: 'certloop corpus', country: 'DE' },
    lifetimeSeconds: 40 * 365 * 86_400, // past 2050: GeneralizedTime
  });
  await write(`root-${slug}.pem`, root.certificatePem);
  await write(`key-${slug}.pem`, rootKey.privateKeyPem);
  const ca = new LocalCertificateAuthority({
    certificatePem: root.certificatePem,
    privateKeyPem: rootKey.privateKeyPem,
    trustBundlePem: root.certificatePem,
    policy: { maxLifetimeSeconds: { intermediate: 10 * 365 * 86_400 } },
  });
  const leafKey = await generateKeyPair({ algorithm });
  const { csrPem } = await createCsr({
    privateKeyPem: leafKey.privateKeyPem,
    subject: { commonName: `agent ${slug}`, organization: 'certloop corpus', organizationalUnit: 'ünïcödé 名前' },
    dnsNames: ['agent.example.test', '*.agents.example.test'],
    ipAddresses: ['10.0.0.7', '2001:db8::7'],
    uris: [`spiffe://certloop.test/agent/${slug}`],
    emails: ['agent@example.test'],
  });
  await write(`csr-${slug}.pem`, csrPem);
  await write(`leaf-key-${slug}.pem`, leafKey.privateKeyPem);
  for (const profile of ['server', 'client', 'server+client'] as const) {
    const issued = await ca.sign({ csrPem, lifetimeSeconds: 86_400, profile });
    await write(`leaf-${slug}-${profile.replace('+', '-')}.pem`, issued.certificatePem);
  }
  const interKey = await generateKeyPair({ algorithm });
  const interCsr = await createCsr({ privateKeyPem: interKey.privateKeyPem, subject: { commonName: `inter ${slug}` } });
  const inter = await ca.sign({
    csrPem: interCsr.csrPem,
    lifetimeSeconds: 86_400,
    profile: 'intermediate',
    pathLength: 0,
  });
  await write(`intermediate-${slug}.pem`, inter.certificatePem);
}
