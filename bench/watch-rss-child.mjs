// Child of bench/watch-rss.ts: plain Node on the built package (what users run), no TypeScript loader.
import { setMaxListeners } from 'node:events';
import {
  bootstrapRelayPki,
  createCsr,
  generateKeyPair,
  joinPemBundle,
  MemorySecretStore,
  managedAnnotations,
  tlsSecretData,
} from '@certloop/core';

const count = Number(process.argv[2] ?? 10_000);
const baseline = process.memoryUsage().rss;
const pki = await bootstrapRelayPki({ store: new MemorySecretStore() });
const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
const { csrPem } = await createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName: 'watched' } });
const issued = await pki.signingCa.sign({ csrPem, lifetimeSeconds: 86_400, profile: 'client' });
const secret = {
  type: 'kubernetes.io/tls',
  data: tlsSecretData({
    certificatePem: joinPemBundle([issued.certificatePem, issued.chainPem]),
    privateKeyPem: key.privateKeyPem,
    trustBundlePem: issued.trustBundlePem,
  }),
  annotations: managedAnnotations({ role: 'client', serialNumber: issued.serialNumber, notAfter: issued.notAfter }),
};
const store = new MemorySecretStore();
for (let i = 0; i < count; i++) await store.put(`secret-${i}`, secret);
const abort = new AbortController();
setMaxListeners(0, abort.signal);
let seen = 0;
await new Promise((resolve) => {
  for (let i = 0; i < count; i++) {
    void (async () => {
      for await (const _event of store.watch(`secret-${i}`, { signal: abort.signal })) if (++seen === count) resolve();
    })();
  }
});
// one change each, so every watch has delivered a live event too
for (let i = 0; i < count; i++) await store.put(`secret-${i}`, secret);
await new Promise((r) => setTimeout(r, 300));
globalThis.gc?.();
await new Promise((r) => setTimeout(r, 100));
const { rss } = process.memoryUsage();
process.stdout.write(JSON.stringify({ rss, baseline, seen }));
abort.abort();
await store.close();
