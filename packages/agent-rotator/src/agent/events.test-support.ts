/**
 * Test support (not published): what an agent emits, recorded in order for a test to assert on.
 */
import type { RelayAgentEvent } from './relay-agent.js';

/** Subscribes to `agent` and returns the array its events are pushed to, as they come. */
export function recordAgentEvents(agent: {
  subscribe(l: (e: RelayAgentEvent) => void): () => void;
}): RelayAgentEvent[] {
  const events: RelayAgentEvent[] = [];
  agent.subscribe((e) => events.push(e));
  return events;
}
