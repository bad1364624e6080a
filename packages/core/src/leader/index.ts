export type { LeaderElector, LeaderEvent } from './types.js';
