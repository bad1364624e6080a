import { createCsr, createSelfSignedCa, LocalCertificateAuthority } from '@certloop/core';
import { describeCertificateAuthorityContract } from '@certloop/core/testing';
import { createSoftHsmToken } from './testing/index.js';
import { Pkcs11Token } from './token.js';

describeCertificateAuthorityContract('LocalCertificateAuthority with its key on SoftHSM2', async () => {
  const hsm = await createSoftHsmToken();
  const token = await Pkcs11Token.open({ uri: hsm.uri() });
  const rootKey = await token.generateKey({ label: 'root', algorithm: 'ECDSA-P384' });
  const root = await createSelfSignedCa({
    privateKeyPem: rootKey,
    subject: { commonName: 'contract root' },
    lifetimeSeconds: 86_400,
    pathLength: 1,
  });
  const rootCa = new LocalCertificateAuthority({
    certificatePem: root.certificatePem,
    privateKeyPem: rootKey,
    trustBundlePem: root.certificatePem,
  });
  const signingKey = await token.generateKey({ label: 'signing', algorithm: 'ECDSA-P256' });
  const { csrPem } = await createCsr({ privateKeyPem: signingKey, subject: { commonName: 'contract signing CA' } });
  const intermediate = await rootCa.sign({ csrPem, lifetimeSeconds: 43_200, profile: 'intermediate', pathLength: 0 });
  const ca = new LocalCertificateAuthority({
    certificatePem: intermediate.certificatePem,
    privateKeyPem: signingKey,
    chainPem: intermediate.chainPem,
    trustBundlePem: root.certificatePem,
  });
  return { ca, cleanup: () => token.close() };
});
