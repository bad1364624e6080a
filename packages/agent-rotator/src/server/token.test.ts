/**
 * Bootstrap token verifiers: constant-time comparison, shared and per-cluster tokens.
 */
import { describe, expect, it } from 'vitest';
import { perClusterTokenVerifier, sharedTokenVerifier, tokensEqual } from './token.js';

const req = (token: string, cluster = 'cluster-1') => ({ token, cluster, peer: '127.0.0.1' });

describe('tokens', () => {
  it('compares tokens of any length, and never matches an empty expected token', () => {
    expect(tokensEqual('abc', 'abc')).toBe(true);
    expect(tokensEqual('abc', 'abd')).toBe(false);
    expect(tokensEqual('abc', 'abcd')).toBe(false);
    expect(tokensEqual('', '')).toBe(false);
  });

  it('shared: the current token of the secret, none when the secret is missing', async () => {
    let current: string | undefined = 'token-one-0123456789';
    const verify = sharedTokenVerifier(() => current);
    expect(await verify(req('token-one-0123456789'), {})).toBe(true);
    current = 'token-two-0123456789';
    expect(await verify(req('token-one-0123456789'), {})).toBe(false);
    current = undefined;
    expect(await verify(req(''), {})).toBe(false);
  });

  it('per cluster: a token is good only for its own cluster', async () => {
    const verify = perClusterTokenVerifier(new Map([['cluster-a', 'aaaa-token-0123456789']]));
    expect(await verify(req('aaaa-token-0123456789', 'cluster-a'), {})).toBe(true);
    expect(await verify(req('aaaa-token-0123456789', 'cluster-b'), {})).toBe(false);
    expect(await verify(req('\u0000unknown', 'cluster-b'), {})).toBe(false);
  });
});
