import { describeCertificateAuthorityContract } from '../testing/ca-contract.js';
import { createTestPki } from '../testing/pki.js';

describeCertificateAuthorityContract('LocalCertificateAuthority (PEM key)', async () => {
  const pki = await createTestPki();
  return { ca: pki.ca };
});
