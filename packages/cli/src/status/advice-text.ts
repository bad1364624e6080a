/**
 * `certloop status` advice as text, under the table: one entry per secret that needs something, with the command.
 */
import type { Colors } from '../lib/terminal.js';
import { type AdviceContext, adviceList } from './advice.js';
import type { SecretStatus } from './board.js';

export function renderAdvice(rows: readonly SecretStatus[], ctx: AdviceContext, c: Colors): string {
  const list = adviceList(rows, ctx);
  if (list.length === 0) return '';
  const lines = ['', c.bold('what to do:')];
  for (const { row, advice } of list) {
    lines.push(`  ${row.role} (${row.name}, ${row.state}): ${advice.text}`);
    if (advice.command) lines.push(`    ${c.cyan(advice.command)}`);
  }
  return `${lines.join('\n')}\n`;
}
