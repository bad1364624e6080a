import { describe, expect, it } from 'vitest';
import { withProgress } from './progress.js';

describe('withProgress', () => {
  it('shows a spinner on a terminal once the wait is long enough, and clears it at the end', async () => {
    const written: string[] = [];
    let firstDraw!: () => void;
    const drawn = new Promise<void>((resolve) => {
      firstDraw = resolve;
    });
    const stream = {
      isTTY: true,
      write(chunk: string) {
        written.push(chunk);
        firstDraw();
      },
    };
    // the work ends only after the spinner was drawn: no sleeping, the order is forced
    const result = await withProgress(
      stream,
      'making a key',
      drawn.then(() => 42),
      0,
    );
    expect(result).toBe(42);
    expect(written[0]).toMatch(/^\r. making a key$/);
    expect(written.at(-1)).toBe('\r\x1b[2K');
  });

  it('prints nothing off a terminal, and passes failures through', async () => {
    const written: string[] = [];
    const stream = { isTTY: false, write: (c: string) => written.push(c) };
    await expect(withProgress(stream, 'x', Promise.reject(new Error('boom')), 0)).rejects.toThrow('boom');
    expect(await withProgress(stream, 'x', Promise.resolve('ok'), 0)).toBe('ok');
    expect(written).toEqual([]);
  });
});
