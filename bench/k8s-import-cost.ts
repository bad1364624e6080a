/**
 * Bench: what importing `@kubernetes/client-node` costs a process, and where it goes. Each variant runs in a fresh
 * child: bare Node; the package entry; `dist/config.js` alone (KubeConfig, a deep import: the package has no
 * `exports` map); and the modules KubeConfig's loading and auth are made of without the generated API
 * (config_types, exec/file/azure/gcp/oidc auth, js-yaml). For each: RSS, V8 heap used, code space, and a heap
 * snapshot summed by node type (code, strings, objects, closures...). `dist/config.js` statically imports
 * `./gen/index.js`, the barrel of the whole generated API (every model and API class), which is why a deep import
 * of KubeConfig costs as much as the whole entry point.
 * Alone: `node bench/k8s-import-cost.ts` (through tsx, as the other benches).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { BenchResult } from './types.js';

const VARIANTS: Record<string, string[]> = {
  'bare node': [],
  "client-node's entry point": ['@kubernetes/client-node'],
  'client-node dist/config.js (KubeConfig) alone': ['@kubernetes/client-node/dist/config.js'],
  "client-node's config and auth modules without the generated API": [
    '@kubernetes/client-node/dist/config_types.js',
    '@kubernetes/client-node/dist/exec_auth.js',
    '@kubernetes/client-node/dist/file_auth.js',
    '@kubernetes/client-node/dist/azure_auth.js',
    '@kubernetes/client-node/dist/gcp_auth.js',
    '@kubernetes/client-node/dist/oidc_auth.js',
    'js-yaml',
  ],
};

// runs in the child: import, settle, GC, then measure and summarise a heap snapshot by node type
const CHILD = `
const modules = JSON.parse(process.argv[1]);
for (const m of modules) await import(m);
await new Promise((r) => setTimeout(r, 200));
globalThis.gc();
const v8 = await import('node:v8');
const { rss, heapUsed } = process.memoryUsage();
const code = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'code_space')?.space_used_size ?? 0;
const chunks = [];
for await (const chunk of v8.getHeapSnapshot()) chunks.push(chunk);
const snapshot = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const fields = snapshot.snapshot.meta.node_fields;
const types = snapshot.snapshot.meta.node_types[0];
const width = fields.length;
const typeAt = fields.indexOf('type');
const sizeAt = fields.indexOf('self_size');
const byType = {};
for (let i = 0; i < snapshot.nodes.length; i += width) {
  const type = types[snapshot.nodes[i + typeAt]];
  byType[type] = (byType[type] ?? 0) + snapshot.nodes[i + sizeAt];
}
process.stdout.write(JSON.stringify({ rss, heapUsed, code, byType }));
`;

interface Cost {
  readonly rss: number;
  readonly heapUsed: number;
  readonly code: number;
  readonly byType: Record<string, number>;
}

async function measure(modules: string[]): Promise<Cost> {
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD, JSON.stringify(modules)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`the import child exited with ${code}`);
  return JSON.parse(out) as Cost;
}

const mib = (bytes: number) => bytes / (1024 * 1024);

export async function benchImportCost(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  let bare: Cost | undefined;
  for (const [label, modules] of Object.entries(VARIANTS)) {
    const cost = await measure(modules);
    bare ??= cost;
    const top = Object.entries(cost.byType)
      .map(([type, size]) => [type, size - (bare!.byType[type] ?? 0)] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([type, size]) => `${type} ${mib(size).toFixed(1)}`)
      .join(', ');
    results.push({
      name: `import cost, ${label}: heap ${mib(cost.heapUsed).toFixed(1)} MiB, code space ${mib(cost.code).toFixed(1)} MiB${label === 'bare node' ? '' : `; heap snapshot growth by node type (MiB): ${top}`}`,
      value: mib(cost.rss),
      unit: ' MiB RSS',
    });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatResults } = await import('./types.js');
  console.log(formatResults(await benchImportCost()));
}
