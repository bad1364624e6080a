/**
 * Runs only the RSS part of bench/k8s.ts (10,000 watched Secrets, emulator in another process) `runs` times:
 * `npm run build -w @certloop/core -w @certloop/k8s-store && node --conditions=source --import tsx bench/k8s-rss.ts 3`.
 */
import { benchWatchedRss } from './k8s.js';
import { benchImportCost } from './k8s-import-cost.js';
import { formatResults } from './types.js';

const runs = Number(process.argv[2] ?? 1);
for (let i = 0; i < runs; i++) console.log(formatResults(await benchWatchedRss()));
console.log(formatResults(await benchImportCost()));
