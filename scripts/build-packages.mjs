// `npm run build`: builds every package under packages/ in dependency order (a package's @certloop dependencies
// first), since each package's declaration build reads the declarations of the packages it imports.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const packages = new Map();
for (const entry of readdirSync('packages', { withFileTypes: true })) {
  const file = `packages/${entry.name}/package.json`;
  if (!entry.isDirectory() || !existsSync(file)) continue;
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  if (!manifest.scripts?.build) continue;
  const deps = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.devDependencies });
  packages.set(manifest.name, { dir: `packages/${entry.name}`, deps });
}

const built = new Set();
const visit = (name, path = []) => {
  if (built.has(name)) return;
  if (path.includes(name)) throw new Error(`dependency cycle: ${[...path, name].join(' -> ')}`);
  const pkg = packages.get(name);
  for (const dep of pkg.deps) if (packages.has(dep)) visit(dep, [...path, name]);
  console.log(`\n== build ${pkg.dir}`);
  execFileSync('npm', ['run', 'build', '-w', pkg.dir], { stdio: 'inherit' });
  built.add(name);
};
for (const name of [...packages.keys()].sort()) visit(name);
