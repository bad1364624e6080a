import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Packages resolve to their TypeScript sources through the `source` export condition, so tests never need a build.
const conditions = ['source', 'node', 'import', 'module', 'default'];

// `npm test` runs the fast suite (time on injected clocks). Files named `*.e2e.test.ts` are the few end-to-end runs
// that must stay in real time (demo runs, SIGSTOP past a real bound, fleets of processes): `npm run test:e2e` runs
// them (CERTLOOP_E2E=1), and only them.
const e2e = process.env.CERTLOOP_E2E === '1';

// One vitest project per folder under packages/ (its tests beside the code, in src/), found rather than listed, so a
// new package is tested as soon as it exists.
const packages = readdirSync(new URL('./packages', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(new URL(`./packages/${entry.name}/src`, import.meta.url)))
  .map((entry) => entry.name)
  .sort();

// At least two test files at a time: much of the suite waits on real sockets, child processes and the file system,
// and vitest's default (one fewer than the cores) would run a 2-core machine's files one by one.
const maxWorkers = Math.max(2, availableParallelism() - 1);

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    maxWorkers,
    projects: packages.map((name) => ({
      extends: true,
      test: {
        name,
        root: `packages/${name}`,
        include: e2e ? ['src/**/*.e2e.test.ts'] : ['src/**/*.test.ts'],
        exclude: e2e ? [] : ['src/**/*.e2e.test.ts'],
        testTimeout: e2e ? 180_000 : 30_000,
        hookTimeout: e2e ? 180_000 : 30_000,
      },
    })),
  },
});
