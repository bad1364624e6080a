// Where a process's memory is, for the Kubernetes RSS bench (bench/k8s-watch-child.mjs with CERTLOOP_BENCH_DETAIL=1):
// V8's heap spaces (committed and used), the process's mappings from /proc/self/smaps summed by kind (the
// malloc heap, anonymous mappings: V8's pages, malloc's other arenas and ArrayBuffers; the node binary; other
// files), and the peak RSS. With CERTLOOP_BENCH_HEAP_SNAPSHOT=<file> it also writes a heap snapshot and sums its
// nodes' self sizes by constructor name (the top 15).
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';

const MiB = 1024 * 1024;
const mib = (bytes) => Math.round((bytes / MiB) * 10) / 10;

export function memoryDetail() {
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics())
    spaces[s.space_name] = { committed: mib(s.physical_space_size), used: mib(s.space_used_size) };
  const mappings = {};
  let kind = 'other';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const path = head[1];
      kind =
        path === ''
          ? 'anonymous'
          : path.startsWith('[')
            ? path
            : path === process.execPath
              ? 'node binary'
              : 'other files';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) mappings[kind] = (mappings[kind] ?? 0) + Number(rss[1]) * 1024;
  }
  for (const key of Object.keys(mappings)) mappings[key] = mib(mappings[key]);
  return { spaces, mappings, maxRssMiB: mib(process.resourceUsage().maxRSS * 1024) };
}

export async function heapSnapshotSummary(file) {
  v8.writeHeapSnapshot(file);
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const sums = new Map();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]];
    const name = type === 'object' || type === 'native' ? snapshot.strings[snapshot.nodes[i + nameAt]] : '';
    const key = `${type}${name ? ` ${name}` : ''}`;
    const entry = sums.get(key) ?? { count: 0, size: 0 };
    entry.count += 1;
    entry.size += snapshot.nodes[i + sizeAt];
    sums.set(key, entry);
  }
  return [...sums.entries()]
    .sort((a, b) => b[1].size - a[1].size)
    .slice(0, 15)
    .map(([key, { count, size }]) => `${key}: ${mib(size)} MiB (${count})`);
}
