/**
 * Internal (`@certloop/core` ca-rotation): re-issuing the managed server certificate under the signing CA in force
 * (activate, and abort after activate), so the server's own chain follows the switch at once.
 */
import type { IssuanceLedger } from '../ca/types.js';
import type { Clock } from '../clock/clock.js';
import { throwIfAborted } from '../errors.js';
import { isManagedSecret, issuedTlsSecret, readTlsMaterial } from '../secret/tls-layout.js';
import type { SecretStore } from '../store/types.js';
import { inspectCertificate } from '../x509/inspect.js';
import { inferAlgorithm } from './record-model.js';
import { isAuthorityBackend } from './store-backend.js';
import type { CaKeyBackend } from './types.js';

export interface ReissueServerInput {
  readonly backend: CaKeyBackend;
  readonly store: SecretStore;
  /** The server secret (`relay-server-tls-secret`). */
  readonly name: string;
  readonly ledger: IssuanceLedger | undefined;
  readonly clock: Clock;
  readonly signal: AbortSignal;
}

/**
 * Re-issues the server certificate when its issuer is not the signing CA in force: same names, same lifetime, a new
 * key; compare-and-swap on the secret. Idempotent (a certificate already under the signing CA is left alone). Does
 * nothing for a bring-your-own or missing secret, or a backend that cannot sign here (Vault: the server's own
 * rotator renews it). Resolves what it issued.
 */
export async function reissueServer(
  input: ReissueServerInput,
): Promise<{ readonly serialNumber: string; readonly issuerKeyId: string } | undefined> {
  const { backend, store, signal } = input;
  if (!isAuthorityBackend(backend)) return undefined;
  const server = await store.get(input.name, { signal });
  if (!server || !isManagedSecret(server)) return undefined;
  const signing = await backend.current('signing', { signal });
  if (!signing) return undefined;
  const issuerKeyId = inspectCertificate(signing.certificatePem).subjectKeyId ?? '';
  const m = readTlsMaterial(server);
  const leaf = m.certificatePem ? inspectCertificate(m.certificatePem) : undefined;
  if (!leaf || leaf.authorityKeyId === issuerKeyId) return undefined;
  const ca = await backend.authority(signing, { signal });
  const lifetimeSeconds = Math.max(3600, Math.round((leaf.notAfter.getTime() - leaf.notBefore.getTime()) / 1000));
  const holder = leaf.subject.commonName ?? 'relay-server';
  const issued = await ca.issue(
    {
      commonName: holder,
      dnsNames: leaf.sans.dnsNames,
      ipAddresses: leaf.sans.ipAddresses,
      profile: 'server',
      lifetimeSeconds,
      keyAlgorithm: inferAlgorithm(leaf.certificatePem),
    },
    { signal },
  );
  throwIfAborted(signal);
  const secret = issuedTlsSecret({ role: 'server', privateKeyPem: issued.privateKeyPem, result: issued });
  await store.put(
    input.name,
    { ...secret, labels: server.labels, annotations: { ...server.annotations, ...secret.annotations } },
    { expectedVersion: server.version, signal },
  );
  // recorded once stored: a certificate that lost the compare-and-swap was never used
  await input.ledger?.record(
    { serialNumber: issued.serialNumber, issuerKeyId, holder, notAfter: issued.notAfter, issuedAt: input.clock.now() },
    { signal },
  );
  return { serialNumber: issued.serialNumber, issuerKeyId };
}
