// Lints every published package under packages/ as users get it (after `npm run build`): packs it with `npm pack`
// (its prepack writes the publish-clean package.json, see publish-manifest.mjs), then runs publint and
// @arethetypeswrong/cli (profile esm-only: ESM with a `default` condition, which Node >= 20.19 also loads by
// `require`) on the tarball, and checks that no `source` condition, no src/ and no test files are published.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs = readdirSync('packages', { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => `packages/${entry.name}`)
  .filter((dir) => {
    try {
      return !JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')).private;
    } catch {
      return false;
    }
  });

const out = mkdtempSync(join(tmpdir(), 'certloop-lint-packages-'));
const problems = [];
try {
  for (const dir of dirs) {
    console.log(`\n== ${dir}`);
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir, encoding: 'utf8' }),
    )[0];
    const tarball = join(out, packed.filename);
    const files = packed.files.map((f) => f.path);
    const leaked = files.filter((f) => f.startsWith('src/') || /\.test\.[cm]?[jt]s$/.test(f));
    if (leaked.length) problems.push(`${dir}: publishes ${leaked.join(', ')}`);
    const manifest = execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' });
    if (/"source"\s*:/.test(manifest)) problems.push(`${dir}: the published package.json keeps a source condition`);
    execFileSync('npx', ['publint', tarball], { stdio: 'inherit' });
    // Exports that are plain files, not modules (the relay's .proto), have no types to check.
    const dataExports = Object.entries(JSON.parse(manifest).exports ?? {})
      .filter(([key, target]) => typeof target === 'string' && !/\.[cm]?js$/.test(target) && key !== './package.json')
      .map(([key]) => key);
    const exclude = dataExports.length ? ['--exclude-entrypoints', ...dataExports] : [];
    execFileSync('npx', ['attw', tarball, '--profile', 'esm-only', '--format', 'table-flipped', ...exclude], {
      stdio: 'inherit',
    });
  }
} catch (err) {
  problems.push(String(err.message ?? err));
} finally {
  rmSync(out, { recursive: true, force: true });
}
if (problems.length) {
  for (const p of problems) console.error(`lint-packages: ${p}`);
  process.exit(1);
}
console.log(`\nlint-packages: ${dirs.length} packages clean (publint, arethetypeswrong, no source condition, no src/)`);
