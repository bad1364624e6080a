/**
 * `@certloop/agent-rotator/testing`: a relay on loopback for tests of anything that talks to it.
 */
export { startTestRelay, TEST_TOKEN, type TestRelay, type TestRelayOptions, until } from './relay.js';
