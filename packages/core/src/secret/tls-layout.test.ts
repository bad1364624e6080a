import { describe, expect, it } from 'vitest';
import { isCertManagerSecret, isManagedSecret, managedAnnotations, secretOwnership } from './tls-layout.js';

describe('secretOwnership', () => {
  const cases: Array<[string, Record<string, string>, 'managed' | 'bring-your-own']> = [
    ['certloop annotation', managedAnnotations({ role: 'client' }), 'managed'],
    ['no annotation at all (a person made it)', {}, 'bring-your-own'],
    ['another managed-by value', { 'certloop.io/managed-by': 'someone-else' }, 'bring-your-own'],
    [
      'cert-manager annotations',
      { 'cert-manager.io/certificate-name': 'web', 'cert-manager.io/issuer-name': 'ca' },
      'bring-your-own',
    ],
    [
      'certloop and cert-manager both: cert-manager wins',
      { ...managedAnnotations({ role: 'server' }), 'cert-manager.io/issuer-kind': 'Issuer' },
      'bring-your-own',
    ],
  ];
  for (const [name, annotations, expected] of cases) {
    it(name, () => {
      expect(secretOwnership({ annotations })).toBe(expected);
      expect(isManagedSecret({ annotations })).toBe(expected === 'managed');
    });
  }
  it('isCertManagerSecret looks at the cert-manager.io/ prefix only', () => {
    expect(isCertManagerSecret({ annotations: { 'cert-manager.io/alt-names': 'a' } })).toBe(true);
    expect(isCertManagerSecret({ annotations: { 'acme.cert-manager.io/http01': 'x' } })).toBe(false);
  });
});
