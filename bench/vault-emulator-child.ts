/**
 * Child of bench/vault-client-cpu.ts: the Vault emulator in its own process, so the parent's CPU time is the
 * client's alone. Prints `{ endpoint, token }` (the root token); ends when its stdin closes.
 */
import { startVaultEmulator } from '@certloop/vault-signer/testing';

const emulator = await startVaultEmulator();
process.stdout.write(`${JSON.stringify({ endpoint: emulator.endpoint, token: emulator.rootToken })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void emulator.close().then(() => process.exit(0));
});
