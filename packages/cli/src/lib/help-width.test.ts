/**
 * `--help` wrapped to the terminal's width (issue 17, item 7), not hard-wrapped in the sources; 80 off a terminal.
 */
import { describe, expect, it } from 'vitest';
import { runInProcess } from '../testing/in-process.js';
import { reflow } from './help-width.js';

const description = (help: string) =>
  help
    .split(/\n\n(?:Options|Arguments):/)[0]!
    .split('\n')
    .slice(2);

describe('--help width', () => {
  it('reflows paragraphs and keeps indented blocks as written', () => {
    expect(reflow('one\ntwo\n\nthree\nfour')).toBe('one two\n\nthree four');
    expect(reflow('a table:\n  x  1\n  y  2')).toBe('a table:\n  x  1\n  y  2');
  });

  it('wraps descriptions to a wide terminal, a narrow one, and 80 columns off a terminal', async () => {
    const wide = await runInProcess(['status', '--help'], { columns: 200 });
    expect(wide.code).toBe(0);
    expect(Math.max(...description(wide.stdout).map((l) => l.length))).toBeGreaterThan(120);
    const narrow = await runInProcess(['rotate', '--help'], { columns: 50 });
    for (const line of description(narrow.stdout)) expect(line.length).toBeLessThanOrEqual(50);
    const piped = await runInProcess(['inspect', '--help']);
    const lines = description(piped.stdout);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(Math.max(...lines.map((l) => l.length))).toBeGreaterThan(70);
  });
});
