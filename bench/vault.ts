/**
 * Bench: CSRs signed per second through `VaultCertificateAuthority` against the Vault emulator over loopback HTTP
 * (wall time, the emulator in this process: its signing is most of each round trip), interleaved in one run with
 * the same call made raw: a kept-alive `node:http` request with the signer's path, headers and body (the bound), and
 * for reference a raw `fetch`, node-vault's `write`, and the signer on node-vault's own axios layer. Every share
 * printed is against the raw `node:http` request of this run. The target of issue 16 item 7 (the signer's overhead
 * under 10 % of a raw request) is judged in CPU time of the client alone, in bench/vault-client-cpu.ts.
 *
 * Run alone: `node --conditions=source --import tsx bench/vault.ts`.
 */
import { Agent } from 'node:http';
import { pathToFileURL } from 'node:url';
import { VaultCertificateAuthority } from '@certloop/vault-signer';
import { setupAppRole, setupPki, startVaultEmulator } from '@certloop/vault-signer/testing';
import nodeVault from 'node-vault';
import { type BenchResult, formatResults, type MeasureOptions, measureInterleaved } from './types.js';
import { appRoleToken, benchCsrs, rawSign, signBody } from './vault-support.js';

export async function benchVault(options: MeasureOptions = {}): Promise<BenchResult[]> {
  const emulator = await startVaultEmulator();
  const root = { endpoint: emulator.endpoint, token: emulator.rootToken };
  try {
    const pki = await setupPki(root);
    const approle = await setupAppRole({ ...root, role: 'bench', policies: ['pki'] });
    const signer = new VaultCertificateAuthority({
      endpoint: emulator.endpoint,
      auth: { method: 'approle', ...approle },
      mount: pki.mount,
      role: pki.role,
    });
    const signerOnAxios = new VaultCertificateAuthority({
      endpoint: emulator.endpoint,
      auth: { method: 'approle', ...approle },
      mount: pki.mount,
      role: pki.role,
      httpLayer: 'node-vault',
    });
    const csrs = await benchCsrs((i) => `agent-${String(i).padStart(4, '0')}`);
    // a token for the raw calls, from the same AppRole
    const token = await appRoleToken(root, approle);
    const url = `${emulator.endpoint}/v1/${pki.mount}/sign/${pki.role}`;
    // node-vault alone on the same call (what the signer is built on), to split client cost from the signer's checks
    const client = nodeVault({
      endpoint: emulator.endpoint,
      token,
      noCustomHTTPVerbs: true,
      requestOptions: { httpAgent: new Agent({ keepAlive: true }) },
    });
    const body = signBody;
    let i = 0;
    let j = 0;
    let k = 0;
    let h = 0;
    let r = 0;
    const rawAgent = new Agent({ keepAlive: true });
    const target = new URL(url);
    const [viaSigner, viaFetch, viaNodeVault, viaHttp, viaAxiosSigner] = await measureInterleaved(
      [
        {
          name: 'vault: CSR signed via VaultCertificateAuthority (HTTP)',
          op: () => signer.sign({ csrPem: csrs[i++ % csrs.length]!, lifetimeSeconds: 3600, profile: 'server+client' }),
        },
        {
          name: 'vault: raw fetch of the same sign endpoint',
          op: async () => {
            const response = await fetch(url, {
              method: 'POST',
              headers: { 'X-Vault-Token': token, 'Content-Type': 'application/json' },
              body: JSON.stringify(body(csrs[j++ % csrs.length]!)),
            });
            if (response.status !== 200) throw new Error(`sign answered ${response.status}`);
            await response.json();
          },
        },
        {
          name: 'vault: node-vault write of the same sign endpoint',
          op: () => client.write(`${pki.mount}/sign/${pki.role}`, body(csrs[k++ % csrs.length]!)),
        },
        {
          name: 'vault: raw node:http request (kept-alive) of the same call (the bound)',
          op: () => rawSign(target, rawAgent, token, body(csrs[r++ % csrs.length]!)),
        },
        {
          name: "vault: before: the signer on node-vault's own HTTP layer (axios)",
          op: () =>
            signerOnAxios.sign({ csrPem: csrs[h++ % csrs.length]!, lifetimeSeconds: 3600, profile: 'server+client' }),
        },
      ],
      { warmupMs: options.warmupMs ?? 500, durationMs: options.durationMs ?? 2500 },
    );
    signer.close();
    signerOnAxios.close();
    rawAgent.destroy();
    const perSigner = 1000 / viaSigner!.opsPerSecond;
    const perFetch = 1000 / viaFetch!.opsPerSecond;
    const perHttp = 1000 / viaHttp!.opsPerSecond;
    const perNodeVault = 1000 / viaNodeVault!.opsPerSecond;
    const perBefore = 1000 / viaAxiosSigner!.opsPerSecond;
    /** `(ms - bound) / bound` in %, the bound being this run's raw node:http request. */
    const over = (ms: number) => ((ms - perHttp) / perHttp) * 100;
    return [
      viaSigner!,
      viaHttp!,
      viaFetch!,
      viaNodeVault!,
      viaAxiosSigner!,
      {
        name: 'vault (wall time): the signer over the raw node:http request of the same call',
        value: over(perSigner),
        unit: '%',
      },
      { name: 'vault (wall time): raw fetch over the raw node:http request', value: over(perFetch), unit: '%' },
      {
        name: 'vault (wall time): node-vault write over the raw node:http request',
        value: over(perNodeVault),
        unit: '%',
      },
      {
        name: "vault (wall time): the signer on node-vault's axios layer over the raw node:http request",
        value: over(perBefore),
        unit: '%',
      },
    ];
  } finally {
    await emulator.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(formatResults(await benchVault()));
}
