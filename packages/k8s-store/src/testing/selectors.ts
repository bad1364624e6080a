/**
 * `@certloop/k8s-store/testing` selectors: label selectors (`a=b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`)
 * and the field selectors a real server supports for Secrets and Leases.
 */
import type { KubeObject, ResourceKind } from './resources.js';
import { statusErrors } from './status.js';

export type Selector = (obj: KubeObject) => boolean;

const ALL: Selector = () => true;

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

export function parseLabelSelector(text: string | null): Selector {
  if (!text) return ALL;
  const tests = splitTopLevel(text).map((term): Selector => {
    const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (set) {
      const [, key, op, list] = set as unknown as [string, string, string, string];
      const values = new Set(list.split(',').map((v) => v.trim()));
      return (o) => {
        const v = o.metadata.labels?.[key];
        return op === 'in' ? v !== undefined && values.has(v) : v === undefined || !values.has(v);
      };
    }
    const cmp = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)$/.exec(term);
    if (cmp) {
      const [, key, op, value] = cmp as unknown as [string, string, string, string];
      return (o) => {
        const v = o.metadata.labels?.[key];
        return op === '!=' ? v !== value : v === value;
      };
    }
    if (/^![^\s!=]+$/.test(term)) return (o) => o.metadata.labels?.[term.slice(1)] === undefined;
    if (/^[^\s!=()]+$/.test(term)) return (o) => o.metadata.labels?.[term] !== undefined;
    throw statusErrors.badRequest(`unable to parse requirement: invalid label selector "${text}"`);
  });
  return (o) => tests.every((t) => t(o));
}

export function parseFieldSelector(r: ResourceKind, text: string | null): Selector {
  if (!text) return ALL;
  const fields: Record<string, (o: KubeObject) => string> = {
    'metadata.name': (o) => o.metadata.name,
    'metadata.namespace': (o) => o.metadata.namespace,
    ...(r.plural === 'secrets' && { type: (o: KubeObject) => String(o.type ?? '') }),
  };
  const tests = splitTopLevel(text).map((term): Selector => {
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(term);
    if (!m) throw statusErrors.badRequest(`invalid field selector: "${term}"`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const read = fields[field];
    if (!read) {
      throw statusErrors.badRequest(
        `"${field}" is not a known field selector: only "${Object.keys(fields).join('", "')}"`,
      );
    }
    return (o) => (op === '!=' ? read(o) !== value : read(o) === value);
  });
  return (o) => tests.every((t) => t(o));
}
