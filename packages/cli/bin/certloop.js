#!/usr/bin/env node
// The `certloop` command in a clone of the repository (the workspace's `bin`; the published package's `bin` is
// dist/bin.js, see publishConfig.bin). Runs the built dist/bin.js when there is one, else the TypeScript sources
// (src/bin.ts) under tsx with the workspace's `source` export condition, so `npx certloop` works right after
// `npm ci`, before any build. CERTLOOP_FROM_SOURCE=1 runs the sources even when a build is there (a stale build is
// easy to forget while editing them).
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const built = new URL('../dist/bin.js', import.meta.url);
if (existsSync(built) && process.env.CERTLOOP_FROM_SOURCE !== '1') {
  await import(built.href);
} else {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    process.stderr.write(
      'certloop: CERTLOOP_NOT_IMPLEMENTED: no build (dist/bin.js) and no tsx to run the sources; run `npm ci` then `npm run build` in the repository\n',
    );
    process.exit(70);
  }
  tsx.register();
  // registered last, so it runs first: every import resolves the workspace packages to their sources
  register(
    `data:text/javascript,${encodeURIComponent(
      'export async function resolve(s, c, next) { return next(s, { ...c, conditions: ["source", ...c.conditions] }); }',
    )}`,
  );
  await import(new URL('../src/bin.ts', import.meta.url).href);
}
