import { describeCertificateAuthorityContract } from '@certloop/core/testing';
import { pkiFixture } from './test-support.js';

describeCertificateAuthorityContract('VaultCertificateAuthority (Vault emulator)', async () => {
  const fx = await pkiFixture();
  const ca = await fx.signer();
  return { ca, cleanup: () => fx.close() };
});
