/**
 * Every name a package README documents is exported (issue 14, item 5: `exportPkcs12` was documented and not
 * exported). For each package under packages/:
 * - every name in an `import { ... } from '@certloop/<package>[/subpath]'` of the README's code must be exported
 *   by that entry point (read from its source barrel, `export * from` followed);
 * - every API-looking name in backticks (`PascalCase` words such as `LocalCertificateAuthority`, or a call such as
 *   `validateChain()`) must be exported by some @certloop entry point, unless it is on the short list below of
 *   names that are not meant to be (methods of exported classes, Node's own classes), and every name on that list
 *   must still occur in its README, so the list cannot rot.
 * For @certloop/core the imported values are also checked at run time, against the module itself.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PACKAGES = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Backticked names in READMEs that are not exports, by package: methods and fields, Node and web platform classes. */
const NOT_EXPORTS: Readonly<Record<string, readonly string[]>> = {
  core: [
    'now()',
    'monotonicNow()',
    'runNext()',
    'ready()',
    'secureContext()',
    'secureContextOptions()',
    'list()',
    'X509Certificate',
    // CaRotation's methods
    'confirm()',
    'resume()',
    'status()',
  ],
  'k8s-store': ['AbortSignal', 'cutAll()'],
  // ParseDurationSecond: Vault's Go function
  'vault-signer': ['trustBundle()', 'AbortSignal', 'close()', 'ParseDurationSecond'],
  // BootstrapRequest, RenewRequest, RenewNow, TrustBundle: messages of the shipped .proto; MutualChannel: the agent's own
  // connection (internal); WeakMap: JavaScript's
  'agent-rotator': [
    'BootstrapRequest',
    'RenewRequest',
    'RenewNow',
    'TrustBundle',
    'MutualChannel',
    'WeakMap',
    'observations()',
    'disableRenegotiation()',
    'agent()',
    'monotonicNow()',
    'connections()',
    'metrics()',
    'health()',
    'status()',
  ],
  cli: ['RenewNow'],
};

/** The names a source module exports, following `export * from` and re-exports; types included. */
function exportsOf(file: string, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  if (seen.has(file)) return out;
  seen.add(file);
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
  const target = (spec: string) => {
    const direct = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
    return existsSync(direct) ? direct : resolve(dirname(file), spec.replace(/\.js$/, ''), 'index.ts');
  };
  for (const m of text.matchAll(/export\s+\*\s+from\s+'([^']+)'/g)) {
    for (const name of exportsOf(target(m[1]!), seen)) out.add(name);
  }
  for (const m of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of m[1]!.split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop()!
        .trim();
      if (name) out.add(name);
    }
  }
  const declaration =
    /export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\*?|class|interface|type|const|let|enum)\s+([A-Za-z_$][\w$]*)/g;
  for (const m of text.matchAll(declaration)) out.add(m[1]!);
  return out;
}

function entryPoints(): Map<string, { file: string; names: Set<string> }> {
  const entries = new Map<string, { file: string; names: Set<string> }>();
  for (const dir of readdirSync(PACKAGES)) {
    const manifest = join(PACKAGES, dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string; exports?: Record<string, unknown> };
    for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
      const source = (target as { source?: string } | string) && (target as { source?: string }).source;
      if (!source) continue;
      const file = join(PACKAGES, dir, source);
      entries.set(subpath === '.' ? pkg.name : `${pkg.name}${subpath.slice(1)}`, { file, names: exportsOf(file) });
    }
  }
  return entries;
}

interface Documented {
  readonly imports: { readonly from: string; readonly name: string; readonly type: boolean }[];
  readonly prose: Set<string>;
}

function documented(readme: string): Documented {
  const imports: Documented['imports'] = [];
  for (const m of readme.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s+from\s+'(@certloop\/[^']+)'/g)) {
    for (const part of m[2]!.split(',')) {
      const raw = part.trim();
      if (!raw) continue;
      const type = Boolean(m[1]) || raw.startsWith('type ');
      imports.push({
        from: m[3]!,
        name: raw
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)[0]!
          .trim(),
        type,
      });
    }
  }
  const prose = new Set<string>();
  for (const m of readme.matchAll(/`([A-Za-z_$][\w$]*)(\(\))?`/g)) {
    const name = m[1]!;
    if (m[2]) prose.add(`${name}()`);
    else if (/^[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*$/.test(name)) prose.add(name);
  }
  return { imports, prose };
}

const packages = readdirSync(PACKAGES).filter((dir) => existsSync(join(PACKAGES, dir, 'README.md')));

describe('every name a package README documents is exported', () => {
  const entries = entryPoints();
  const everything = new Set([...entries.values()].flatMap((e) => [...e.names]));

  it('the README parser finds what it should (guards the check itself)', () => {
    const found = documented(
      "```ts\nimport { a, type B, c as d } from '@certloop/core';\n```\nUse `LocalCertificateAuthority`, `sign()`, `CERTLOOP_X`, `word`.",
    );
    expect(found.imports.map((i) => `${i.name}:${i.type}`)).toEqual(['a:false', 'B:true', 'c:false']);
    expect([...found.prose].sort()).toEqual(['LocalCertificateAuthority', 'sign()']);
    expect(entries.get('@certloop/core')!.names.has('validateChain')).toBe(true);
    expect(entries.get('@certloop/core')!.names.has('ValidateChainOptions')).toBe(true);
  });

  for (const dir of packages) {
    it(`packages/${dir}/README.md`, () => {
      const readme = readFileSync(join(PACKAGES, dir, 'README.md'), 'utf8');
      const { imports, prose } = documented(readme);
      const missing: string[] = [];
      for (const { from, name } of imports) {
        const entry = entries.get(from);
        if (!entry?.names.has(name)) missing.push(`${name} (imported from ${from})`);
      }
      const allowed = new Set(NOT_EXPORTS[dir] ?? []);
      for (const name of prose) {
        if (allowed.has(name)) continue;
        if (!everything.has(name.replace(/\(\)$/, ''))) missing.push(`${name} (in the text)`);
      }
      expect(missing).toEqual([]);
      // the list of known non-exports stays true: each name still occurs in the README and is still not exported
      for (const name of allowed) {
        expect(prose.has(name), `${name} is no longer in the README: drop it from NOT_EXPORTS`).toBe(true);
        expect(everything.has(name.replace(/\(\)$/, '')), `${name} is exported now: drop it from NOT_EXPORTS`).toBe(
          false,
        );
      }
    });
  }

  it('@certloop/core: the values its README imports exist at run time', async () => {
    const modules: Record<string, Record<string, unknown>> = {
      '@certloop/core': await import('./index.js'),
      '@certloop/core/testing': await import('./testing/index.js'),
    };
    const readme = readFileSync(join(PACKAGES, 'core', 'README.md'), 'utf8');
    const absent = documented(readme)
      .imports.filter((i) => !i.type && modules[i.from] !== undefined)
      .filter((i) => modules[i.from]![i.name] === undefined)
      .map((i) => `${i.from}: ${i.name}`);
    expect(absent).toEqual([]);
    expect(typeof modules['@certloop/core']!.exportPkcs12).toBe('function');
  });
});
