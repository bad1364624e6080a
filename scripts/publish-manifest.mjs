// Publish-clean package.json for `npm pack` / `npm publish`, used by every package in one line:
//   "prepack": "node ../../scripts/publish-manifest.mjs prepack",
//   "postpack": "node ../../scripts/publish-manifest.mjs postpack"
// prepack keeps the workspace manifest aside (.package.workspace.json, never packed) and writes one without the
// `source` export condition (it points into src/, which is not published), without src/ in `files`, and with a
// `default` condition wherever only `import` was given, so `require()` of the ESM build works on Node >= 20.19, and
// with `publishConfig.bin` as its `bin`.
// postpack puts the workspace manifest back. Run from the package's folder (npm does).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const MANIFEST = 'package.json';
const SAVED = '.package.workspace.json';

/** An export target without `source`, with `default` standing in for a lone `import`. */
function cleanTarget(target) {
  if (target === null || typeof target !== 'object' || Array.isArray(target)) return target;
  const out = {};
  for (const [condition, value] of Object.entries(target)) {
    if (condition === 'source') continue;
    out[condition] = cleanTarget(value);
  }
  if (out.import !== undefined && out.default === undefined) {
    out.default = out.import;
    delete out.import;
  }
  return out;
}

export function publishManifest(pkg) {
  const out = structuredClone(pkg);
  if (out.exports) {
    out.exports = Object.fromEntries(Object.entries(out.exports).map(([key, value]) => [key, cleanTarget(value)]));
  }
  if (Array.isArray(out.files)) out.files = out.files.filter((entry) => !/^!?src(\/|$)/.test(entry));
  // the workspace's `bin` may be a launcher for clones (packages/cli/bin/certloop.js runs the sources when nothing is
  // built); the published one is `publishConfig.bin` (as pnpm reads it), the built file
  if (out.publishConfig?.bin) {
    out.bin = out.publishConfig.bin;
    delete out.publishConfig.bin;
  }
  if (out.scripts) {
    delete out.scripts.prepack;
    delete out.scripts.postpack;
    if (Object.keys(out.scripts).length === 0) delete out.scripts;
  }
  return out;
}

/** prepack / postpack in the package's folder (npm runs scripts there). */
export function main(step) {
  if (step === 'prepack') {
    if (existsSync(SAVED)) throw new Error(`${SAVED} exists: a previous pack did not finish; restore it first`);
    const text = readFileSync(MANIFEST, 'utf8');
    writeFileSync(SAVED, text);
    writeFileSync(MANIFEST, `${JSON.stringify(publishManifest(JSON.parse(text)), null, 2)}\n`);
  } else if (step === 'postpack') {
    if (existsSync(SAVED)) renameSync(SAVED, MANIFEST);
  } else {
    console.error('usage: publish-manifest.mjs prepack|postpack');
    process.exitCode = 2;
  }
}

// run only as a script, never on import (tests import publishManifest)
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv[2]);
