/** Shared tsup configuration: every package builds ESM with declarations in one line. */
import type { Options } from 'tsup';

export function packageBuild(entry: Record<string, string>): Options {
  return {
    entry,
    format: ['esm'],
    // tsup's declaration build sets `baseUrl`, which TypeScript 6 flags as deprecated
    dts: { compilerOptions: { ignoreDeprecations: '6.0', customConditions: [] } },
    tsconfig: 'tsconfig.build.json',
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    splitting: true,
    treeshake: true,
  };
}
