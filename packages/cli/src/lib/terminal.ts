/**
 * `certloop` terminal output: colours only on a TTY and never with `NO_COLOR` (or `TERM=dumb`, or --no-color);
 * `FORCE_COLOR` forces them. Tables are fitted to a terminal's width; off a terminal nothing is cut.
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
  /** Never cut: as wide as its widest cell (times, states), so the names are cut first. */
  readonly keep?: boolean;
}

/**
 * Renders rows (plain text cells, then an optional colouring per cell) in columns `gap` spaces apart, no line wider
 * than `width`: flexible columns share what the fixed ones leave and cut their cells with an ellipsis. A width of
 * `Infinity` cuts nothing.
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
  const natural = (i: number) => Math.max(columns[i]!.header.length, ...rows.map((r) => (r[i] ?? '').length));
  let widths: number[];
  if (!Number.isFinite(options.width)) {
    // no width to fit (off a terminal, --wide): every cell whole
    widths = columns.map((c, i) => Math.max(c.width ?? 0, natural(i)));
  } else {
    const set = columns.map((c, i) => c.width ?? (c.keep ? natural(i) : undefined));
    const fixed = set.reduce((sum: number, w) => sum + (w ?? 0), 0) + gap * (columns.length - 1);
    // flexible columns share what is left: the narrow ones take their natural width, the rest split the remainder
    let left = Math.max(0, options.width - fixed);
    const flexible = columns.flatMap((_c, i) => (set[i] === undefined ? [i] : []));
    const share = new Map<number, number>();
    let open = [...flexible].sort((a, b) => natural(a) - natural(b));
    while (open.length > 0) {
      const fair = Math.floor(left / open.length);
      const narrow = open.filter((i) => natural(i) <= fair);
      if (narrow.length === 0) {
        for (const i of open) share.set(i, fair);
        break;
      }
      for (const i of narrow) {
        share.set(i, natural(i));
        left -= natural(i);
      }
      open = open.filter((i) => !narrow.includes(i));
    }
    widths = columns.map((c, i) => set[i] ?? Math.max(c.min ?? 4, share.get(i) ?? 0));
  }
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
