export { type Clock, sleep, systemClock, type TimerHandle, toEpochSeconds } from './clock.js';
export { ManualClock, type ManualClockOptions } from './manual-clock.js';
