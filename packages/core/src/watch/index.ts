export type { WatchEvent, Watcher, WatchOptions } from './types.js';
