/**
 * Internal test support (not published): test relays ({@link startTestRelay}) started by a test, and the gRPC clients
 * it opened against them, all ended after each test.
 */
import type * as grpc from '@grpc/grpc-js';
import { afterEach } from 'vitest';
import { startTestRelay, type TestRelay, type TestRelayOptions } from './testing/index.js';

export interface RelayPerTest {
  /** Clients a test opens; closed after it, before its relays stop. */
  readonly clients: grpc.Client[];
  /** Starts a test relay ({@link startTestRelay}), stopped after the test. */
  startRelay(options?: TestRelayOptions): Promise<TestRelay>;
}

/**
 * Registers, in the calling test file, the end after each test of the gRPC clients it opened (closed first) and the
 * test relays it started (stopped, with their agents).
 */
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
