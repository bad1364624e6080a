// Runs publint on every published package under packages/ (after `npm run build`).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

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
for (const dir of dirs) {
  console.log(`publint ${dir}`);
  execFileSync('npx', ['publint', dir], { stdio: 'inherit' });
}
