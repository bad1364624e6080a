/**
 * `@certloop/agent-rotator` the TLS connection under a server call: why TLS did not verify its client certificate.
 *
 * The server asks for a client certificate without requiring one (Bootstrap has none), so a certificate OpenSSL
 * refused still reaches the handler, with an empty auth context. The refusal stays a refusal; this module only
 * reads OpenSSL's reason (`TLSSocket.authorizationError`) to say which it was: expired, not yet valid, from an
 * unknown CA, or not for client use. Nothing here accepts a certificate TLS refused.
 */
import type { TLSSocket } from 'node:tls';
import { CertloopError, type CertloopErrorCode } from '@certloop/core';

// OpenSSL's verify results (X509_V_ERR_*, as Node names them) by what they mean for the caller
const TLS_REASONS: Readonly<Record<string, CertloopErrorCode>> = {
  CERT_HAS_EXPIRED: 'CERTLOOP_CHAIN_EXPIRED',
  CERT_NOT_YET_VALID: 'CERTLOOP_CHAIN_NOT_YET_VALID',
  INVALID_PURPOSE: 'CERTLOOP_CHAIN_EXT_KEY_USAGE',
  CERT_REVOKED: 'CERTLOOP_CHAIN_REVOKED',
  UNABLE_TO_GET_ISSUER_CERT: 'CERTLOOP_CHAIN_UNTRUSTED',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'CERTLOOP_CHAIN_UNTRUSTED',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'CERTLOOP_CHAIN_UNTRUSTED',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'CERTLOOP_CHAIN_UNTRUSTED',
  SELF_SIGNED_CERT_IN_CHAIN: 'CERTLOOP_CHAIN_UNTRUSTED',
  CERT_UNTRUSTED: 'CERTLOOP_CHAIN_UNTRUSTED',
  CERT_SIGNATURE_FAILURE: 'CERTLOOP_CHAIN_SIGNATURE_INVALID',
  INVALID_CA: 'CERTLOOP_CHAIN_ISSUER_NOT_CA',
  PATH_LENGTH_EXCEEDED: 'CERTLOOP_CHAIN_PATH_LENGTH_EXCEEDED',
  CERT_CHAIN_TOO_LONG: 'CERTLOOP_CHAIN_TOO_LONG',
};

/**
 * Why TLS refused the client certificate of this connection, as a typed refusal (`CERTLOOP_CHAIN_EXPIRED`,
 * `CERTLOOP_CHAIN_UNTRUSTED`, `CERTLOOP_CHAIN_EXT_KEY_USAGE`, ...; `details.tls` holds OpenSSL's reason), or
 * `CERTLOOP_UNAUTHENTICATED` when there was no certificate or the reason is unknown.
 */
export function tlsRefusal(socket: TLSSocket | undefined): CertloopError {
  const reason = socket?.authorized === false ? socket.authorizationError : undefined;
  const presented = reason !== undefined && socket?.getPeerCertificate()?.raw !== undefined;
  if (!reason || !presented) {
    return new CertloopError('CERTLOOP_UNAUTHENTICATED', 'a valid client certificate is required');
  }
  const name = typeof reason === 'string' ? reason : ((reason as { code?: string }).code ?? String(reason));
  const code = TLS_REASONS[name] ?? 'CERTLOOP_UNAUTHENTICATED';
  return new CertloopError(code, `TLS refused the client certificate (${name})`, { details: { tls: name } });
}
