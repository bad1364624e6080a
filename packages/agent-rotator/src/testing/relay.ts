/**
 * `@certloop/agent-rotator/testing` startTestRelay: a relay PKI bootstrapped in a store (memory by default) and a
 * RelayServer on loopback, ready for agents; plus `until`, a bounded real-time wait for asynchronous effects.
 */
import {
  type BootstrapRelayResult,
  bootstrapRelayPki,
  type Clock,
  MemorySecretStore,
  readTlsMaterial,
  type SecretStore,
  systemClock,
  type Watcher,
} from '@certloop/core';
import { RelayAgent, type RelayAgentOptions } from '../agent/relay-agent.js';
import { RelayServer, type RelayServerOptions } from '../server/relay-server.js';

export interface TestRelayOptions extends Partial<Omit<RelayServerOptions, 'store'>> {
  /** Default: a fresh `MemorySecretStore`. */
  readonly store?: SecretStore & Watcher;
  readonly clock?: Clock;
  /** The bootstrap token (default a fixed test token). */
  readonly token?: string;
}

export interface TestRelay {
  readonly store: SecretStore & Watcher;
  readonly server: RelayServer;
  /** `127.0.0.1:port`. */
  readonly address: string;
  readonly token: string;
  /** The root agents trust the server with. */
  readonly trustBundlePem: string;
  readonly pki: BootstrapRelayResult;
  /** A RelayAgent for this relay: store, address and clock filled in. */
  agent(options: Partial<RelayAgentOptions> & { cluster: string }): RelayAgent;
  stop(): Promise<void>;
}

export const TEST_TOKEN = 'certloop-test-bootstrap-token-0123456789';

export async function startTestRelay(options: TestRelayOptions = {}): Promise<TestRelay> {
  const { store: given, token: givenToken, ...serverOptions } = options;
  const store = given ?? new MemorySecretStore();
  const token = givenToken ?? TEST_TOKEN;
  const pki = await bootstrapRelayPki({ store, token, ...(options.clock ? { clock: options.clock } : {}) });
  const server = new RelayServer({ address: '127.0.0.1:0', monitorExpiry: false, ...serverOptions, store });
  const address = await server.start();
  const root = await store.get(pki.names.root);
  const trustBundlePem = root ? (readTlsMaterial(root).trustBundlePem ?? pki.trustBundlePem) : pki.trustBundlePem;
  const agents: RelayAgent[] = [];
  return {
    store,
    server,
    address,
    token,
    trustBundlePem,
    pki,
    agent(agentOptions) {
      const agent = new RelayAgent({
        store,
        serverAddress: address,
        serverName: 'localhost',
        ratio: 0.1,
        ...(options.clock ? { clock: options.clock } : {}),
        ...agentOptions,
      });
      agents.push(agent);
      return agent;
    },
    async stop() {
      await Promise.all(agents.map((a) => a.stop()));
      await server.stop({ graceMs: 200 });
    },
  };
}

/** Waits (real time on the system's monotonic clock, polling every 5 ms) until `condition` holds; throws after `timeoutMs` (default 10 s). */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = systemClock.monotonicNow() + timeoutMs;
  while (!(await condition())) {
    if (systemClock.monotonicNow() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
