// Child of bench/file-watch-scale.ts: plain Node on the built package (what users run), no TypeScript loader.
// Watches the <count> secrets the parent laid out in <directory> through one FileSecretStore, updates some
// kubelet-style, and prints one JSON line of figures.
// Run: node --expose-gc file-watch-scale-child.mjs <directory> <count> <idleMs> <updates> <files as JSON>

import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSecretStore } from '@certloop/core';

const directory = process.argv[2];
const count = Number(process.argv[3] ?? 10_000);
const idleMs = Number(process.argv[4] ?? 25_000);
const updates = Number(process.argv[5] ?? 300);
const files = JSON.parse(process.argv[6]);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
globalThis.gc?.();
const baseline = process.memoryUsage().rss;

const store = new FileSecretStore({ directory });
const iterators = [];
const waiters = new Map();
let initial = 0;
const started = performance.now();
await new Promise((resolve) => {
  for (let i = 0; i < count; i++) {
    const name = `secret-${i}`;
    const iterator = store.watch(name);
    iterators.push(iterator);
    void (async () => {
      for await (const event of iterator) {
        if (event.type === 'initial') {
          if (++initial === count) resolve();
        } else if (event.type === 'updated') {
          waiters.get(name)?.(event.secret.version);
        }
      }
    })();
  }
});
const startMs = performance.now() - started;

// idle: nothing changes; the figure includes whatever the safety-net poll costs over the window
await sleep(1_000);
globalThis.gc?.();
const cpuBefore = process.cpuUsage();
const idleStart = performance.now();
await sleep(idleMs);
const cpu = process.cpuUsage(cpuBefore);
const idleCpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - idleStart)) * 100;
globalThis.gc?.();
const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();

// updates: a kubelet-style update of a random watched secret (new data directory, `..data` swapped by one
// rename), timed from the rename (the commit) to its watch event
const latencies = [];
for (let i = 0; i < updates; i++) {
  const name = `secret-${Math.floor(Math.random() * count)}`;
  const secretDir = join(directory, name);
  const dataDir = `..2026_01_01_00_00_01.u${i}`;
  mkdirSync(join(secretDir, dataDir));
  for (const [key, value] of Object.entries(files)) writeFileSync(join(secretDir, dataDir, key), `${value}${i}`);
  symlinkSync(dataDir, join(secretDir, '..data_tmp'));
  const arrived = new Promise((resolve) => waiters.set(name, resolve));
  const t0 = performance.now();
  renameSync(join(secretDir, '..data_tmp'), join(secretDir, '..data'));
  await Promise.race([arrived, sleep(5_000)]);
  latencies.push(performance.now() - t0);
  waiters.delete(name);
  await sleep(5 + Math.random() * 20);
}
latencies.sort((a, b) => a - b);
const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
for (const iterator of iterators) await iterator.return();
await store.close();
process.stdout.write(
  JSON.stringify({
    count,
    startMs,
    baseline,
    rss,
    heapUsed,
    heapTotal,
    external,
    arrayBuffers,
    idleCpuPercent,
    idleMs,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: latencies.at(-1),
  }),
);
