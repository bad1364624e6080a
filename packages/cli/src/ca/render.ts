/**
 * `certloop ca` text output: one block per CA (in force, due, rotation phase, convergence, drain), and the record
 * a step leaves behind.
 */
import type { CaRotationRecord, ConvergenceFigures } from '@certloop/core';
import type { OutputStyle } from '../lib/globals.js';
import type { CaStatusView } from './rotation-context.js';

const short = (hex: string | undefined) => (hex ? hex.slice(0, 12) : '-');

function convergenceLines(figures: ConvergenceFigures, label: string): string[] {
  const lines = [`  ${label}: ${figures.summary}`];
  for (const w of figures.waiting.slice(0, 10)) {
    lines.push(
      `    waiting: ${w.kind} ${w.consumer}${w.lastSeen ? ` (last seen ${w.lastSeen})` : ' (never reported)'}${
        w.bundleDigest ? ` holds ${short(w.bundleDigest)}` : ''
      }`,
    );
  }
  return lines;
}

function recordLines(record: CaRotationRecord): string[] {
  const lines = [
    `  rotation ${record.id} (${record.mode}${record.reason ? `: ${record.reason}` : ''}): ${record.phase} since ${record.timestamps.phaseSince}`,
    `  A: ${record.old.subject} key ${short(record.old.keyId)} until ${record.old.notAfter}`,
  ];
  if (record.new) lines.push(`  B: ${record.new.subject} key ${short(record.new.keyId)} until ${record.new.notAfter}`);
  if (record.newIntermediate)
    lines.push(`  B's intermediate: ${record.newIntermediate.subject} key ${short(record.newIntermediate.keyId)}`);
  const b = record.bundles;
  lines.push(`  bundles: before ${short(b.before)}, during ${short(b.during)}, after ${short(b.after)}`);
  if (record.convergence) lines.push(...convergenceLines(record.convergence, 'convergence (last check)'));
  if (record.drain) {
    lines.push(
      `  drain: ${record.drain.liveUnderOld} leaves live under A (${record.drain.counting}), ${record.drain.notified} agents told to renew under ${short(record.drain.activeIssuerKeyId)}`,
    );
  }
  for (const f of record.forced ?? [])
    lines.push(`  forced: ${f.refusal} at ${f.at}${f.reason ? ` (${f.reason})` : ''}`);
  return lines;
}

export function renderCaStatus(views: readonly CaStatusView[], style: OutputStyle): string {
  const c = style.colors;
  const out: string[] = [];
  for (const v of views) {
    const flag = v.stuck ? c.red('STUCK') : v.due ? c.red('DUE') : v.underWay ? c.yellow('rotating') : c.green('ok');
    out.push(`${c.bold(v.ca)} ${flag}: ${v.summary}`);
    if (v.current) {
      out.push(
        `  in force: ${v.current.subject} serial ${short(v.current.serialNumber)} until ${v.current.notAfter}; renewal window from ${v.renewAt?.toISOString() ?? '-'}`,
      );
    }
    if (v.record && v.underWay) out.push(...recordLines(v.record));
    else if (v.record)
      out.push(`  last rotation ${v.record.id}: ${v.record.phase} at ${v.record.timestamps.updatedAt}`);
    if (v.liveConvergence) out.push(...convergenceLines(v.liveConvergence, 'convergence (now)'));
  }
  return `${out.join('\n')}\n`;
}

export function renderRecord(record: CaRotationRecord, style: OutputStyle): string {
  return `${style.colors.bold(`${record.ca} rotation`)}\n${recordLines(record).join('\n')}\n`;
}
