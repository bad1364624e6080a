/**
 * Adapters load only when asked (issue 16, item 3): `@certloop/k8s-store` (and with it `@kubernetes/client-node` and
 * axios) only for `--store kubernetes` or `--leader-election kubernetes`, `@certloop/vault-signer` (node-vault) only
 * for `--ca vault`, through dynamic `import()` in the store, CA and elector factories. Every source file of the
 * command and of the packages it stands on is read: a value import of an adapter anywhere but inside the adapter
 * package itself (or its `testing/` emulator, or a test) fails, naming the file. `import type` is erased and allowed.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packages = fileURLToPath(new URL('../../', import.meta.url));
const ADAPTERS = ['@certloop/k8s-store', '@certloop/vault-signer', '@kubernetes/client-node', 'node-vault', 'axios'];
// where an adapter may be imported eagerly: inside its own package
const OWNERS: Record<string, string> = {
  '@kubernetes/client-node': 'k8s-store/',
  axios: 'k8s-store/',
  'node-vault': 'vault-signer/',
};

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'testing' && entry.name !== 'dist')
        out.push(...(await sources(path)));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) {
      out.push(path);
    }
  }
  return out;
}

/** `import X from 'm'`, `import { a } from 'm'`, `export { a } from 'm'`, `import 'm'`: not `import type`. */
function eagerImports(text: string): string[] {
  const found: string[] = [];
  const re = /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) found.push(m[1]!);
  return found;
}

describe('adapters are imported lazily', () => {
  it('no entry point or module of cli, core or agent-rotator imports an adapter eagerly', async () => {
    const offenders: string[] = [];
    for (const pkg of ['cli', 'core', 'agent-rotator', 'k8s-store', 'vault-signer']) {
      for (const file of await sources(join(packages, pkg, 'src'))) {
        const rel = relative(packages, file);
        for (const spec of eagerImports(await readFile(file, 'utf8'))) {
          const adapter = ADAPTERS.find((a) => spec === a || spec.startsWith(`${a}/`));
          if (!adapter) continue;
          const owner = OWNERS[adapter];
          if (owner && rel.startsWith(owner)) continue;
          offenders.push(`${rel}: ${spec}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the store, CA and elector factories load their adapter with import()', async () => {
    for (const [file, adapter] of [
      ['store-factory.ts', '@certloop/k8s-store'],
      ['ca-factory.ts', '@certloop/vault-signer'],
      ['relay/leader.ts', '@certloop/k8s-store'],
    ] as const) {
      const text = await readFile(join(packages, 'cli', 'src', file), 'utf8');
      expect(text, file).toContain(`await import('${adapter}')`);
    }
  });
});
