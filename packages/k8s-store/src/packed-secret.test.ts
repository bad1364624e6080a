import { describe, expect, it } from 'vitest';
import { ownPacked, packedVersion, packKubeSecret, unpackSecret } from './packed-secret.js';
import { fromKubeSecret, type KubeSecret } from './secret-mapping.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

const secret = (over: Partial<KubeSecret> = {}): KubeSecret => ({
  metadata: {
    name: 'relay-client',
    resourceVersion: '4711',
    labels: { 'app.kubernetes.io/name': 'relay', 'ünïcode/ℓ': 'välue' },
    annotations: { 'certloop.io/role': 'client', 'certloop.io/write-id': 'ab12' },
  },
  type: 'kubernetes.io/tls',
  data: { 'tls.crt': b64('-----BEGIN CERTIFICATE-----\nMIIB\n'), 'tls.key': b64('key'), 'ca.crt': '' },
  ...over,
});

describe('packed Secret', () => {
  it('unpacks to what fromKubeSecret decodes (write-id hidden, types defaulted), for every shape', () => {
    const shapes: KubeSecret[] = [
      secret(),
      secret({ type: undefined }),
      secret({ type: 'Opaque', data: undefined }),
      { metadata: { name: 'bare' } },
      secret({ data: { big: Buffer.alloc(70_000, 7).toString('base64') } }),
    ];
    for (const shape of shapes) {
      const packed = ownPacked(packKubeSecret(shape));
      expect(unpackSecret(shape.metadata.name, packed)).toEqual(fromKubeSecret(shape));
      expect(packedVersion(packed)).toBe(shape.metadata.resourceVersion ?? '');
    }
  });

  it('the scratch is reused: a packed view is valid until the next pack, an own copy for ever', () => {
    const first = packKubeSecret(secret());
    const kept = ownPacked(first);
    const second = packKubeSecret(secret({ metadata: { name: 'other', resourceVersion: '9' } }));
    expect(second.buffer).toBe(first.buffer);
    expect(kept.buffer).not.toBe(first.buffer);
    expect(kept.buffer.byteLength).toBe(kept.length);
    expect(unpackSecret('relay-client', kept).version).toBe('4711');
  });

  it('data values are views of the packed buffer, in key order, without copies', () => {
    const packed = ownPacked(packKubeSecret(secret()));
    const { data } = unpackSecret('relay-client', packed);
    expect(Object.keys(data)).toEqual(['tls.crt', 'tls.key', 'ca.crt']);
    for (const value of Object.values(data)) expect(value.buffer).toBe(packed.buffer);
    expect(Buffer.from(data['tls.key']!).toString()).toBe('key');
    expect(data['ca.crt']!.byteLength).toBe(0);
  });
});
