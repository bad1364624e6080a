/** Types of publish-manifest.mjs, for the test that imports it. */
export function publishManifest(pkg: Record<string, unknown>): Record<string, unknown>;
export function main(step: string | undefined): void;
