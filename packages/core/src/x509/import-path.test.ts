import { describe, expect, it } from 'vitest';
import {
  ALTERNATIVE,
  CALIBRATION_IMPORTS,
  ImportPathChooser,
  type ImportStep,
  RECHECK_EVERY,
  RECHECK_SAMPLES,
  SPKI,
  TIMED_ALTERNATIVE,
  TIMED_SPKI,
} from './import-path.js';

/** Runs `count` imports through the chooser, each timed one taking `cost` of its form; gives the steps taken. */
function drive(chooser: ImportPathChooser, count: number, cost: { spki: number; alternative: number }): ImportStep[] {
  const steps: ImportStep[] = [];
  for (let i = 0; i < count; i++) {
    const step = chooser.next();
    steps.push(step);
    if (step === TIMED_SPKI) chooser.record(step, cost.spki);
    if (step === TIMED_ALTERNATIVE) chooser.record(step, cost.alternative);
  }
  return steps;
}

describe('ImportPathChooser (the public key import form, chosen by timing, issue 16)', () => {
  it('starts with one untimed SPKI import, then times the two forms in turn and decides after the calibration', () => {
    const chooser = new ImportPathChooser();
    const steps = drive(chooser, CALIBRATION_IMPORTS - 1, { spki: 10, alternative: 5 });
    expect(steps.slice(0, 3)).toEqual([SPKI, TIMED_SPKI, TIMED_ALTERNATIVE]);
    expect(chooser.path).toBeUndefined();
    drive(chooser, 1, { spki: 10, alternative: 5 });
    expect(chooser.path).toBe('alternative');
  });

  it('keeps SPKI on a near tie (the alternative must be clearly faster)', () => {
    const chooser = new ImportPathChooser();
    drive(chooser, CALIBRATION_IMPORTS, { spki: 10, alternative: 9 });
    expect(chooser.path).toBe('spki');
  });

  it('ignores the first, cold imports of the calibration', () => {
    const chooser = new ImportPathChooser();
    // The cold imports make SPKI look slow; the rest show it faster.
    drive(chooser, 7, { spki: 100, alternative: 15 });
    drive(chooser, CALIBRATION_IMPORTS - 7, { spki: 10, alternative: 15 });
    expect(chooser.path).toBe('spki');
  });

  it('times one import in RECHECK_EVERY once decided, and otherwise takes the chosen form', () => {
    const chooser = new ImportPathChooser();
    drive(chooser, CALIBRATION_IMPORTS, { spki: 10, alternative: 15 });
    const steps = drive(chooser, 10 * RECHECK_EVERY, { spki: 10, alternative: 15 });
    expect(steps.filter((s) => s === TIMED_SPKI || s === TIMED_ALTERNATIVE)).toHaveLength(10);
    expect(steps.filter((s) => s === ALTERNATIVE)).toHaveLength(0);
    expect(chooser.path).toBe('spki');
  });

  it('mends a wrong choice made by a disturbed start within RECHECK_EVERY × RECHECK_SAMPLES imports', () => {
    const chooser = new ImportPathChooser();
    drive(chooser, CALIBRATION_IMPORTS, { spki: 30, alternative: 15 });
    expect(chooser.path).toBe('alternative');
    const steps = drive(chooser, RECHECK_EVERY * RECHECK_SAMPLES + 1, { spki: 10, alternative: 15 });
    expect(chooser.path).toBe('spki');
    expect(steps.at(-1)).toBe(SPKI);
  });

  it('keeps a right choice through the rechecks', () => {
    const chooser = new ImportPathChooser();
    drive(chooser, CALIBRATION_IMPORTS, { spki: 30, alternative: 10 });
    for (let i = 0; i < 5; i++) {
      drive(chooser, RECHECK_EVERY * RECHECK_SAMPLES, { spki: 30, alternative: 10 });
      expect(chooser.path).toBe('alternative');
    }
  });
});
