/**
 * examples/vault-backed (`npm run start:vault`): the relay's management server signs agents' CSRs through Vault's PKI
 * engine, so the signing key never leaves Vault (DESIGN.md flow 4).
 *
 * Bootstraps the relay with the signing CA in Vault (only the server certificate and the token are stored), starts an
 * mTLS management server whose certificate hot-reloads, and runs two agents that bootstrap with the token and then
 * rotate their client certificates through the server (and so through Vault) while sending requests. It uses an
 * embedded Vault emulator unless VAULT_ADDR is set (then: VAULT_TOKEN, or VAULT_ROLE_ID + VAULT_SECRET_ID, or
 * VAULT_K8S_ROLE; VAULT_PKI_MOUNT, VAULT_PKI_ROLE). It ends by itself; the exit code is non-zero when a request failed
 * or an agent did not rotate.
 */
import { bootstrapRelayPki, CredentialProvider, DEFAULT_RELAY_SECRET_NAMES, MemorySecretStore } from '@certloop/core';
import pc from 'picocolors';
import { Agent } from './agent.js';
import { startManagementServer } from './management-server.js';
import { connectVault } from './vault.js';

const started = Date.now();
const log = (who: string, what: string) =>
  console.log(`${pc.dim(`+${((Date.now() - started) / 1000).toFixed(1)}s`.padStart(7))}  ${who.padEnd(18)}${what}`);

async function main(): Promise<number> {
  const vault = await connectVault();
  console.log(pc.bold('certloop vault-backed: the relay CA lives in Vault'), pc.dim(vault.description));
  vault.signer.subscribe((e) => {
    if (e.type === 'login') log('vault', pc.dim(`logged in (token TTL ${e.ttlSeconds}s)`));
    if (e.type === 'warning') log('vault', pc.yellow(`warning: ${e.warnings.join('; ')}`));
    if (e.type === 'retry') log('vault', pc.yellow(`retrying ${e.path} (${e.error.code})`));
  });
  const store = new MemorySecretStore();
  const names = DEFAULT_RELAY_SECRET_NAMES;
  const pki = await bootstrapRelayPki({ store, signingCa: vault.signer });
  log('management-server', `bootstrapped ${pki.created.join(', ')}; no signing key stored (it stays in Vault)`);
  const token = new TextDecoder().decode((await store.get(names.token))!.data.token);

  const provider = new CredentialProvider({ name: names.server, watcher: store, usage: 'serverAuth' });
  await provider.start();
  const refusals: string[] = [];
  const { server, port } = await startManagementServer({
    provider,
    ca: vault.signer,
    token,
    onRequest: (path, ok, code) => {
      if (!ok && path !== '/hello') refusals.push(code ?? path);
    },
  });
  log('management-server', `mTLS on 127.0.0.1:${port}`);

  const agents = ['agent-1', 'agent-2'].map(
    (name) =>
      new Agent({
        name,
        store,
        serverPort: port,
        token,
        trustBundlePem: pki.trustBundlePem,
        lifetimeSeconds: vault.lifetimeSeconds,
        onRotation: (e) => {
          if (e.type === 'succeeded')
            log(
              name,
              pc.green(
                `rotated via Vault: certificate ${e.serialNumber.slice(0, 8)}, not after ${e.notAfter.toISOString().slice(11, 19)}`,
              ),
            );
          if (e.type === 'failed') log(name, pc.red(`rotation failed (${e.error.code}), backing off`));
        },
      }),
  );
  const rotations = new Map(agents.map((a) => [a.options.name, 0]));
  for (const agent of agents) {
    agent.rotator.subscribe((e) => {
      if (e.type === 'succeeded') rotations.set(agent.options.name, rotations.get(agent.options.name)! + 1);
    });
  }
  await Promise.all(agents.map((a) => a.start()));
  await new Promise((resolve) => setTimeout(resolve, vault.runSeconds * 1000));

  await Promise.all(agents.map((a) => a.stop()));
  provider.close();
  server.close();
  await vault.close();

  console.log(pc.bold('\nsummary'));
  let ok = refusals.length === 0;
  for (const agent of agents) {
    const count = rotations.get(agent.options.name)!;
    const good = count >= 3 && agent.stats.failed === 0 && agent.stats.ok > 0 && agent.stats.reloads >= 2;
    ok &&= good;
    console.log(
      `  ${agent.options.name}: ${count} certificates from Vault (bootstrap included), ${agent.stats.reloads} hot reloads, ${agent.stats.ok} requests ok, ${agent.stats.failed} failed ${good ? pc.green('ok') : pc.red('FAILED')}`,
    );
  }
  if (refusals.length) console.log(pc.red(`  management server refused: ${refusals.join(', ')}`));
  console.log(ok ? pc.green('vault-backed: ok') : pc.red('vault-backed: FAILED'));
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
