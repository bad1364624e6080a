/**
 * Internal test support for the relay server tests (`server/*.test.ts`): a fresh P-256 key and its CSR, and a relay
 * per test with the gRPC clients opened against it, closed after each test. Not exported from any barrel.
 */
import { createCsr, generateKeyPair } from '@certloop/core';
import type * as grpc from '@grpc/grpc-js';
import { afterEach } from 'vitest';
import { startTestRelay, type TestRelay, type TestRelayOptions } from '../testing/index.js';

/** A new ECDSA P-256 key and a CSR for `commonName` with `dnsNames` (by default the common name) as its SANs. */
export async function csrFor(
  commonName: string,
  dnsNames: string[] = [commonName],
): Promise<{ csrPem: string; privateKeyPem: string }> {
  const key = await generateKeyPair({ algorithm: 'ECDSA-P256' });
  const { csrPem } = await createCsr({ privateKeyPem: key.privateKeyPem, subject: { commonName }, dnsNames });
  return { csrPem, privateKeyPem: key.privateKeyPem };
}

export interface RelayPerTest {
  /** Clients a test opens; closed after it, before its relays stop. */
  readonly clients: grpc.Client[];
  /** Starts a test relay ({@link startTestRelay}), stopped after the test. */
  startRelay(options?: TestRelayOptions): Promise<TestRelay>;
}

/** Registers, in the calling test file, the end after each test of the clients and relays the test started. */
export function relayPerTest(): RelayPerTest {
  const clients: grpc.Client[] = [];
  const relays: TestRelay[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const relay of relays.splice(0)) await relay.stop();
  });
  return {
    clients,
    async startRelay(options) {
      const relay = await startTestRelay(options);
      relays.push(relay);
      return relay;
    },
  };
}
