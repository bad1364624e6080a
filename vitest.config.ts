import { existsSync, readdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Packages resolve to their TypeScript sources through the `source` export condition, so tests never need a build.
const conditions = ['source', 'node', 'import', 'module', 'default'];

// One vitest project per folder under packages/ (its tests beside the code, in src/), found rather than listed, so a
// new package is tested as soon as it exists.
const packages = readdirSync(new URL('./packages', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(new URL(`./packages/${entry.name}/src`, import.meta.url)))
  .map((entry) => entry.name)
  .sort();

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    projects: packages.map((name) => ({
      extends: true,
      test: {
        name,
        root: `packages/${name}`,
        include: ['src/**/*.test.ts'],
        testTimeout: 30_000,
        hookTimeout: 30_000,
      },
    })),
  },
});
