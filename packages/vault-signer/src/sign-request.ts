/**
 * `@certloop/vault-signer` internal: what the signer does with a CSR before Vault is asked. The CSR is read with
 * core's strict parser, its names checked against the caller's identity binding, and from it come the body of
 * `{mount}/sign/{role}` and the certificate the answer must be (this key, exactly these names, this profile).
 * Proof of possession is Vault's check (it refuses a CSR whose signature fails, 400 → `CERTLOOP_CSR_INVALID`).
 */
import { CertloopError, checkIdentityBinding, parseCsr, pemDecode, type SignRequest } from '@certloop/core';
import type { ExpectedCertificate } from './answer.js';

export interface PreparedSign {
  readonly body: Record<string, unknown>;
  readonly expected: ExpectedCertificate;
}

/** Reads `request.csrPem` (typed errors for an empty or malformed CSR, or names outside `request.identity`). */
export function prepareSign(request: SignRequest, sendCsrNames: boolean): PreparedSign {
  const { csrPem } = request;
  if (typeof csrPem !== 'string' || !csrPem.trim()) {
    throw new CertloopError('CERTLOOP_CSR_INVALID', 'csrPem is empty');
  }
  const csr = parseCsr(csrPem);
  if (request.identity) checkIdentityBinding(request.identity, csr.subject, csr.sans);
  const body: Record<string, unknown> = {
    csr: csrPem.trim(),
    ttl: `${Math.floor(request.lifetimeSeconds)}s`,
    format: 'pem',
    exclude_cn_from_sans: true,
  };
  if (sendCsrNames) {
    if (csr.subject.commonName) body.common_name = csr.subject.commonName;
    if (csr.sans.dnsNames.length) body.alt_names = csr.sans.dnsNames.join(',');
    if (csr.sans.ipAddresses.length) body.ip_sans = csr.sans.ipAddresses.join(',');
    if (csr.sans.uris.length) body.uri_sans = csr.sans.uris.join(',');
  }
  return {
    body,
    expected: {
      // the key parseCsr read (a short PEM): no second decode of the whole CSR
      publicKeySpki: Buffer.from(pemDecode(csr.publicKeyPem, ['PUBLIC KEY']).der),
      commonName: csr.subject.commonName,
      dnsNames: csr.sans.dnsNames,
      ipAddresses: csr.sans.ipAddresses,
      uris: csr.sans.uris,
      profile: request.profile,
    },
  };
}
