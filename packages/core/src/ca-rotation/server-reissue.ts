/**
 * Internal (`@certloop/core` ca-rotation): re-issuing the managed server certificate under the signing CA in force
 * (activate, and abort after activate), so the server's own chain follows the switch at once.
 */
import type { CertificateAuthority, IssuanceLedger, SignResult } from '../ca/types.js';
import type { Clock } from '../clock/clock.js';
import { CertloopError, throwIfAborted } from '../errors.js';
import { isManagedSecret, issuedTlsSecret, readTlsMaterial } from '../secret/tls-layout.js';
import type { SecretStore } from '../store/types.js';
import type { CryptoEngine } from '../x509/crypto-engine.js';
import { createCsr } from '../x509/csr.js';
import { inspectCertificate } from '../x509/inspect.js';
import { generateKeyPair } from '../x509/keys.js';
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
  /** Signs under the signing CA in force when the backend cannot sign locally (CSR only; the key is made here). */
  readonly signer?: CertificateAuthority | undefined;
  readonly engine?: CryptoEngine | undefined;
  readonly signal: AbortSignal;
}

/**
 * Re-issues the server certificate when its issuer is not the signing CA in force: same names, same lifetime, a new
 * key; compare-and-swap on the secret. Idempotent (a certificate already under the signing CA is left alone). Does
 * nothing for a bring-your-own or missing secret, or a backend that cannot sign here and no `signer` (Vault without
 * one: the server's own rotator renews it). Resolves what it issued.
 */
export async function reissueServer(
  input: ReissueServerInput,
): Promise<{ readonly serialNumber: string; readonly issuerKeyId: string } | undefined> {
  const { backend, store, signal } = input;
  if (!isAuthorityBackend(backend) && !input.signer) return undefined;
  const server = await store.get(input.name, { signal });
  if (!server || !isManagedSecret(server)) return undefined;
  const signing = await backend.current('signing', { signal });
  if (!signing) return undefined;
  const issuerKeyId = inspectCertificate(signing.certificatePem).subjectKeyId ?? '';
  const m = readTlsMaterial(server);
  const leaf = m.certificatePem ? inspectCertificate(m.certificatePem) : undefined;
  if (!leaf || leaf.authorityKeyId === issuerKeyId) return undefined;
  const lifetimeSeconds = Math.max(3600, Math.round((leaf.notAfter.getTime() - leaf.notBefore.getTime()) / 1000));
  const holder = leaf.subject.commonName ?? 'relay-server';
  const names = { commonName: holder, dnsNames: leaf.sans.dnsNames, ipAddresses: leaf.sans.ipAddresses };
  const keyAlgorithm = inferAlgorithm(leaf.certificatePem);
  let issued: SignResult & { readonly privateKeyPem: string };
  if (isAuthorityBackend(backend)) {
    const ca = await backend.authority(signing, { signal });
    issued = await ca.issue({ ...names, profile: 'server', lifetimeSeconds, keyAlgorithm }, { signal });
  } else {
    const key = await generateKeyPair({ algorithm: keyAlgorithm, engine: input.engine });
    const { csrPem } = await createCsr({
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: holder },
      dnsNames: names.dnsNames,
      ipAddresses: names.ipAddresses,
      engine: input.engine,
    });
    const signed = await input.signer!.sign({ csrPem, profile: 'server', lifetimeSeconds }, { signal });
    const by = inspectCertificate(signed.certificatePem).authorityKeyId;
    if (by !== issuerKeyId) {
      throw new CertloopError(
        'CERTLOOP_CA_ROTATION_SIGNER_MISMATCH',
        `the server signer issued under ${by ?? 'an unknown key'}, not under the signing CA in force (${issuerKeyId})`,
      );
    }
    issued = { ...signed, privateKeyPem: key.privateKeyPem };
  }
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
