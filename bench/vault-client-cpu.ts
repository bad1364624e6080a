/**
 * Bench: the Vault client's CPU per CSR signed through Vault's sign endpoint (issue 16 item 7: the signer's overhead
 * under 10 % of a raw request doing the same HTTP call). The Vault emulator runs in a child process, so that
 * `process.cpuUsage()` counts the client alone (CPU time, unlike wall time against an emulator on the same cores,
 * holds steady on a shared machine).
 *
 * The bound is the same HTTP call made raw: a kept-alive `node:http` POST of the same path with the same headers and
 * body on the same kind of agent, its JSON answer parsed and its status checked. Beside it, in the same rounds:
 * - the floor: the same raw request plus the signer's own checks, called as the signer calls them (the CSR read
 *   strictly before the call; after it, the certificate read strictly, its key, names, serial and expiry compared,
 *   its signature verified under the validated issuer chain): what no leaner plumbing can remove;
 * - `VaultCertificateAuthority.sign` (every check made);
 * - node-vault's `write` on certloop's request layer (the signer's write path before this round), raw `fetch` (the
 *   bound printed before this round) and the signer on node-vault's own axios layer, for reference.
 * Each round is `blocks` blocks; a block runs the bound, the floor and the signer (and in every third block the
 * references) `perBlock` times each in a row, in an order that rotates; each client's run starts after a minor GC
 * and ends with one (counted), so that it pays for collecting its own garbage and no one else's. A round's figure
 * is the median over its blocks; the median and the worst of the rounds are printed.
 *
 * Run alone: `node --conditions=source --import tsx bench/vault-client-cpu.ts`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Agent } from 'node:http';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { VaultCertificateAuthority } from '@certloop/vault-signer';
import { setupAppRole, setupPki } from '@certloop/vault-signer/testing';
import nodeVault from 'node-vault';
import { parseAnswer, ValidatedChains, verifyAnswer } from '../packages/vault-signer/src/answer.js';
import { prepareSign } from '../packages/vault-signer/src/sign-request.js';
import { requestLayer } from '../packages/vault-signer/src/transport.js';
import { fingerprint } from '../packages/vault-signer/src/trust-bundle.js';
import type { BenchResult } from './types.js';
import { appRoleToken, benchCsrs, rawSign, signBody } from './vault-support.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;
const minorGc = () => gc({ type: 'minor' });

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export async function benchVaultClientCpu(
  options: { rounds?: number; blocks?: number; perBlock?: number } = {},
): Promise<BenchResult[]> {
  const rounds = options.rounds ?? 5;
  const blocks = options.blocks ?? 9;
  const perBlock = options.perBlock ?? 30;
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
    const lean = nodeVault({
      endpoint: root.endpoint,
      token,
      noCustomHTTPVerbs: true,
      'request-promise': requestLayer,
      requestOptions: { httpAgent: agent },
    } as never);
    // the floor's checks, as the signer makes them (the trust bundle read once, as the signer caches it)
    const trustBundlePem = await new VaultCertificateAuthority({
      endpoint: root.endpoint,
      auth: { method: 'token', token },
      mount: pki.mount,
      role: pki.role,
    }).trustBundle();
    const bundleDigest = createHash('sha256').update(trustBundlePem).digest('hex');
    const validated = new ValidatedChains();
    const rawAndChecks = async (csr: string) => {
      const { body, expected } = prepareSign({ csrPem: csr, lifetimeSeconds: 3600, profile: 'server+client' }, false);
      const answer = parseAnswer((await rawSign(url, agent, token, body)).data as Record<string, unknown>);
      return verifyAnswer({
        answer,
        expected,
        trustBundlePem,
        includeRoot: false,
        at: new Date(),
        validated,
        chainKey: [...answer.caChain.map(fingerprint), bundleDigest].join(','),
      });
    };
    const clients: [string, (csr: string) => Promise<unknown>][] = [
      ['raw node:http request (the bound)', (csr) => rawSign(url, agent, token, signBody(csr))],
      ["raw request + the signer's checks (the floor)", rawAndChecks],
      ['VaultCertificateAuthority.sign', signer('certloop')],
      ["node-vault write on certloop's layer", (csr) => lean.write(`${pki.mount}/sign/${pki.role}`, signBody(csr))],
      [
        'raw fetch',
        async (csr) => {
          const response = await fetch(url, {
            method: 'POST',
            headers: { 'X-Vault-Token': token, 'Content-Type': 'application/json' },
            body: JSON.stringify(signBody(csr)),
          });
          if (response.status !== 200) throw new Error(`sign answered ${response.status}`);
          return response.json();
        },
      ],
      ["the signer on node-vault's axios layer", signer('node-vault')],
    ];
    /** CPU ms per call, per client, per round, per block. */
    const perOp: number[][][] = clients.map(() => Array.from({ length: rounds }, () => []));
    let n = 0;
    for (const [, op] of clients) for (let i = 0; i < 200; i++) await op(csrs[n++ % csrs.length]!); // warm up
    const load = loadavg()[0]!;
    for (let round = 0; round < rounds; round++) {
      for (let block = 0; block < blocks; block++) {
        // the bound, the floor and the signer in every block, the references (for comparison only) in every third
        const inBlock = clients.map((_, i) => i).filter((i) => i < 3 || block % 3 === 0);
        for (let k = 0; k < inBlock.length; k++) {
          const index = inBlock[(block + k) % inBlock.length]!;
          const op = clients[index]![1];
          // each block starts on an empty young generation and pays for collecting its own garbage, no one else's
          minorGc();
          const start = process.cpuUsage();
          for (let i = 0; i < perBlock; i++) await op(csrs[n++ % csrs.length]!);
          minorGc();
          const used = process.cpuUsage(start);
          perOp[index]![round]!.push((used.user + used.system) / perBlock / 1000);
        }
      }
    }
    const [bound, floor, signerMs, , fetchMs] = perOp as [number[][], number[][], number[][], number[][], number[][]];
    /** Per round, the median over its blocks of `(a - b) / bound`, in %. */
    const share = (a: number[][], b: number[][]) =>
      a.map((blocksOf, r) => median(blocksOf.map((x, j) => ((x - b[r]![j]!) / bound[r]![j]!) * 100)));
    const overhead = share(signerMs, bound);
    const checks = share(floor, bound);
    const plumbing = share(signerMs, floor);
    // fetch ran in every third block: against the signer in those blocks
    const vsFetch = fetchMs.map((blocksOf, r) =>
      median(blocksOf.map((f, j) => ((signerMs[r]![j * 3]! - f) / f) * 100)),
    );
    const worst = (values: number[]) => Math.max(...values);
    return [
      ...clients.map(([name], i) => ({
        name: `vault client CPU per sign (median of ${perOp[i]!.flat().length} blocks): ${name}`,
        value: median(perOp[i]!.flat()),
        unit: ' ms',
      })),
      {
        name: "vault client CPU: the signer's overhead over the raw request, median round",
        value: median(overhead),
        unit: '%',
        target: '< 10',
        ok: median(overhead) < 10,
      },
      {
        name: "vault client CPU: the signer's overhead over the raw request, worst round",
        value: worst(overhead),
        unit: '%',
        target: '< 10',
        ok: worst(overhead) < 10,
      },
      {
        name: "vault client CPU: of which the signer's checks (floor - bound), median round",
        value: median(checks),
        unit: '%',
      },
      {
        name: 'vault client CPU: of which the rest (signer - floor, share of the bound), median round',
        value: median(plumbing),
        unit: '%',
        target: '< 10',
        ok: median(plumbing) < 10,
      },
      {
        name: 'vault client CPU: the rest (signer - floor, share of the bound), worst round',
        value: worst(plumbing),
        unit: '%',
        target: '< 10',
        ok: worst(plumbing) < 10,
      },
      {
        name: 'vault client CPU: the signer against raw fetch (the bound before), median round',
        value: median(vsFetch),
        unit: '%',
      },
      { name: 'vault client CPU: load average (1 min) at the start of the rounds', value: load, unit: '' },
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
