/**
 * `certloop` progress: a spinner line on a terminal for waits longer than a second (key generation, a slow store),
 * cleared when the wait ends. Off a terminal it prints nothing.
 */
import type { OutputStream } from './context.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Resolves `work`, showing `label` with a spinner on `stream` once it has taken more than `afterMs`. */
export async function withProgress<T>(
  stream: OutputStream,
  label: string,
  work: Promise<T>,
  afterMs = 1000,
): Promise<T> {
  if (stream.isTTY !== true) return work;
  let frame = 0;
  let shown = false;
  let ticker: NodeJS.Timeout | undefined;
  const start = setTimeout(() => {
    shown = true;
    const draw = () => stream.write(`\r${FRAMES[frame++ % FRAMES.length]} ${label}`);
    draw();
    ticker = setInterval(draw, 100);
  }, afterMs);
  try {
    return await work;
  } finally {
    clearTimeout(start);
    if (ticker) clearInterval(ticker);
    if (shown) stream.write('\r\x1b[2K');
  }
}
