/**
 * `certloop` terminal output: colours only on a TTY and never with `NO_COLOR` (or `TERM=dumb`, or --no-color);
 * `FORCE_COLOR` forces them. Tables are fitted to a width (80 columns off a terminal).
 */
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

export interface ColorDecision {
  readonly isTTY: boolean | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** false when --no-color was given. */
  readonly flag?: boolean;
}

/** Whether to colour a stream. */
export function useColor({ isTTY, env, flag }: ColorDecision): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  return isTTY === true && env.TERM !== 'dumb';
}

export function colors(enabled: boolean): Colors {
  return pc.createColors(enabled);
}

/** `text` cut to `width` visible characters with an ellipsis (plain text only). */
export function truncate(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(0, width);
  return `${text.slice(0, width - 1)}…`;
}

export interface Column {
  readonly header: string;
  /** Fixed width, or undefined to share the width left over between the flexible columns. */
  readonly width?: number;
  /** Smallest width of a flexible column. */
  readonly min?: number;
}

/**
 * Renders rows (plain text cells, then an optional colouring per cell) in columns `gap` spaces apart, no line wider
 * than `width`: flexible columns share what the fixed ones leave and cut their cells with an ellipsis.
 */
export function renderTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  options: {
    width: number;
    gap?: number;
    paint?: (row: number, column: number, text: string) => string;
    header?: (t: string) => string;
  },
): string {
  const gap = options.gap ?? 2;
  const fixed = columns.reduce((sum, c) => sum + (c.width ?? 0), 0) + gap * (columns.length - 1);
  const flexible = columns.filter((c) => c.width === undefined);
  const natural = (i: number) => Math.max(columns[i]!.header.length, ...rows.map((r) => (r[i] ?? '').length));
  const left = Math.max(0, options.width - fixed);
  const widths = columns.map((c, i) => {
    if (c.width !== undefined) return c.width;
    const share = Math.floor(left / flexible.length);
    return Math.max(c.min ?? 4, Math.min(natural(i), share));
  });
  const line = (cells: readonly string[], paint?: (column: number, text: string) => string) =>
    cells
      .map((cell, i) => {
        const text = truncate(cell, widths[i]!);
        const padded = i === cells.length - 1 ? text : text.padEnd(widths[i]!);
        return paint ? paint(i, padded) : padded;
      })
      .join(' '.repeat(gap))
      .trimEnd();
  const head = line(columns.map((c) => c.header));
  const out = [options.header ? options.header(head) : head];
  rows.forEach((row, r) => {
    out.push(line(row, options.paint ? (c, t) => options.paint!(r, c, t) : undefined));
  });
  return `${out.join('\n')}\n`;
}
