/**
 * Bench: the client's CPU per CSR signed through Vault's sign endpoint, with the Vault emulator in a child process
 * so that `process.cpuUsage()` counts the client alone (CPU time, unlike wall time, holds steady on a shared,
 * loaded machine). Five clients of the same call, in alternating rounds in one process: a raw kept-alive `node:http`
 * request and a raw `fetch` (bounds), node-vault alone on certloop's HTTP layer, and `VaultCertificateAuthority`
 * (every check made: key, identity, serial, expiry, chain) on certloop's layer and on node-vault's own (axios, the
 * "before"). Issue 16 item 7: the signer's overhead under 10 % of a raw request doing the same call.
 *
 * Run alone: `node --conditions=source --import tsx bench/vault-client-cpu.ts`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent } from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { VaultCertificateAuthority } from '@certloop/vault-signer';
import { setupAppRole, setupPki } from '@certloop/vault-signer/testing';
import nodeVault from 'node-vault';
import type { BenchResult } from './types.js';
import { appRoleToken, benchCsrs, rawSign, signBody } from './vault-support.js';

export async function benchVaultClientCpu(
  options: { rounds?: number; perRound?: number } = {},
): Promise<BenchResult[]> {
  const script = fileURLToPath(new URL('./vault-emulator-child.ts', import.meta.url));
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const closers: (() => void)[] = [];
  try {
    let line = '';
    child.stdout.setEncoding('utf8');
    while (!line.includes('\n')) line += ((await once(child.stdout, 'data')) as [string])[0];
    const root = JSON.parse(line) as { endpoint: string; token: string };
    const pki = await setupPki(root);
    const approle = await setupAppRole({ ...root, role: 'bench', policies: ['pki'] });
    const token = await appRoleToken(root, approle);
    const csrs = await benchCsrs((i) => `agent-${i}`);
    const url = new URL(`${root.endpoint}/v1/${pki.mount}/sign/${pki.role}`);
    const body = signBody;
    const agent = new Agent({ keepAlive: true });
    closers.push(() => agent.destroy());
    const signer = (httpLayer: 'certloop' | 'node-vault') => {
      const ca = new VaultCertificateAuthority({
        endpoint: root.endpoint,
        auth: { method: 'approle', ...approle },
        mount: pki.mount,
        role: pki.role,
        httpLayer,
      });
      closers.push(() => ca.close());
      return (csr: string) => ca.sign({ csrPem: csr, lifetimeSeconds: 3600, profile: 'server+client' });
    };
    const { requestLayer } = await import('../packages/vault-signer/src/transport.js');
    const lean = nodeVault({
      endpoint: root.endpoint,
      token,
      noCustomHTTPVerbs: true,
      'request-promise': requestLayer,
      requestOptions: { httpAgent: agent },
    } as never);
    const clients: [string, (csr: string) => Promise<unknown>][] = [
      ['raw node:http (kept-alive)', (csr) => rawSign(url, agent, token, body(csr))],
      [
        'raw fetch',
        async (csr) => {
          const response = await fetch(url, {
            method: 'POST',
            headers: { 'X-Vault-Token': token, 'Content-Type': 'application/json' },
            body: JSON.stringify(body(csr)),
          });
          if (response.status !== 200) throw new Error(`sign answered ${response.status}`);
          return response.json();
        },
      ],
      ["node-vault write on certloop's layer", (csr) => lean.write(`${pki.mount}/sign/${pki.role}`, body(csr))],
      ['VaultCertificateAuthority.sign', signer('certloop')],
      ["before: VaultCertificateAuthority.sign on node-vault's axios layer", signer('node-vault')],
    ];
    const cpu = clients.map(() => 0);
    const ops = clients.map(() => 0);
    let n = 0;
    for (const [, op] of clients) for (let i = 0; i < 50; i++) await op(csrs[n++ % csrs.length]!); // warm up
    for (let round = 0; round < (options.rounds ?? 10); round++) {
      for (const [index, [, op]] of clients.entries()) {
        const start = process.cpuUsage();
        for (let i = 0; i < (options.perRound ?? 60); i++) await op(csrs[n++ % csrs.length]!);
        const used = process.cpuUsage(start);
        cpu[index]! += used.user + used.system;
        ops[index]! += options.perRound ?? 60;
      }
    }
    const perOp = cpu.map((c, i) => c / ops[i]! / 1000);
    const [rawHttp, rawFetch, , after, before] = perOp as [number, number, number, number, number];
    return [
      ...clients.map(([name], i) => ({ name: `vault client CPU per sign: ${name}`, value: perOp[i]!, unit: ' ms' })),
      {
        name: 'vault client CPU: signer overhead vs raw fetch (after)',
        value: ((after - rawFetch) / after) * 100,
        unit: '%',
        target: '< 10',
        ok: after - rawFetch < 0.1 * after,
      },
      {
        name: 'vault client CPU: signer overhead vs raw fetch (before)',
        value: ((before - rawFetch) / before) * 100,
        unit: '%',
      },
      {
        name: 'vault client CPU: signer overhead vs raw node:http (after)',
        value: ((after - rawHttp) / after) * 100,
        unit: '%',
      },
    ];
  } finally {
    for (const close of closers) close();
    child.stdin.end();
    await once(child, 'exit').catch(() => undefined);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { formatResults } = await import('./types.js');
  console.log(formatResults(await benchVaultClientCpu()));
}
