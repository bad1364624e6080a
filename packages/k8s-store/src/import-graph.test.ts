/**
 * A process that only watches Secrets does not load core's X.509 engine (issue 16, item 6): every module that
 * `@certloop/k8s-store`'s entry point loads eagerly, followed through relative imports and into core through
 * `@certloop/core/base`, is read; none may import `@certloop/core`'s root entry (which loads asn1js and pkijs,
 * about 12 MiB of RSS), asn1js, pkijs, or client-node's entry point. `import type` is erased and allowed.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packages = fileURLToPath(new URL('../../', import.meta.url));
const FORBIDDEN = ['@certloop/core', 'asn1js', 'pkijs', '@kubernetes/client-node'];

/** `import X from 'm'`, `import { a } from 'm'`, `export ... from 'm'`, `import 'm'`: not `import type`. */
function eagerImports(text: string): string[] {
  const re = /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  return [...text.matchAll(re)].map((m) => m[1]!);
}

function graph(entry: string): { files: string[]; external: Map<string, string> } {
  const files: string[] = [];
  const external = new Map<string, string>();
  const visit = (file: string) => {
    if (files.includes(file)) return;
    files.push(file);
    for (const spec of eagerImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) visit(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (spec === '@certloop/core/base') visit(join(packages, 'core', 'src', 'base.ts'));
      else external.set(spec, relative(packages, file));
    }
  };
  visit(entry);
  return { files, external };
}

describe('what @certloop/k8s-store loads', () => {
  it('no module it loads eagerly imports core’s root entry, asn1js, pkijs or client-node’s entry point', () => {
    const { files, external } = graph(join(packages, 'k8s-store', 'src', 'index.ts'));
    expect(files.length).toBeGreaterThan(10);
    expect(files).toContain(join(packages, 'core', 'src', 'errors.ts'));
    const offenders = [...external].filter(([spec]) => FORBIDDEN.includes(spec)).map(([s, f]) => `${f}: ${s}`);
    expect(offenders).toEqual([]);
    // client-node only through the three deep modules kubeconfig.ts reads (none loads the generated API)
    const clientNode = [...external.keys()].filter((s) => s.startsWith('@kubernetes/client-node/')).sort();
    expect(clientNode).toEqual([
      '@kubernetes/client-node/dist/config_types.js',
      '@kubernetes/client-node/dist/exec_auth.js',
      '@kubernetes/client-node/dist/file_auth.js',
    ]);
  });

  it('core/base exports the same CertloopError class as core', async () => {
    const [base, core] = await Promise.all([import('@certloop/core/base'), import('@certloop/core')]);
    expect(base.CertloopError).toBe(core.CertloopError);
    expect(base.isCertloopError(new core.CertloopError('CERTLOOP_CONFLICT', 'x'), 'CERTLOOP_CONFLICT')).toBe(true);
  });
});
