/**
 * `@certloop/k8s-store/testing` patches: JSON Patch (RFC 6902) and JSON Merge Patch (RFC 7386). For Secrets and
 * Leases a strategic merge patch behaves as a merge patch (neither has lists with merge keys).
 */
import { setOwn } from '../own-key.js';
import { StatusError, statusErrors } from './status.js';

type Json = unknown;

/** RFC 7386: objects merge recursively, `null` removes, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, Json> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else setOwn(out, key, mergePatch(Object.hasOwn(out, key) ? out[key] : undefined, value));
  }
  return out;
}

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw statusErrors.badRequest(`invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, tokens: string[]): { parent: Record<string, Json> | Json[]; key: string } {
  let node = doc;
  for (const token of tokens.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) throw missing(tokens);
    node = Object.hasOwn(node, token) ? (node as Record<string, Json>)[token] : undefined;
  }
  if (typeof node !== 'object' || node === null) throw missing(tokens);
  return { parent: node as Record<string, Json>, key: tokens.at(-1) ?? '' };
}

const missing = (tokens: string[]) =>
  statusErrors.custom(
    422,
    'Invalid',
    `the server rejected our request due to an error in our request: path /${tokens.join('/')} not found`,
  );

function getAt(doc: Json, tokens: string[]): Json {
  let node = doc;
  for (const token of tokens) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, token)) throw missing(tokens);
    node = (node as Record<string, Json>)[token];
  }
  return node;
}

function remove(doc: Json, tokens: string[]): Json {
  const { parent, key } = parentOf(doc, tokens);
  if (Array.isArray(parent)) {
    const index = Number(key);
    if (!(index >= 0 && index < parent.length)) throw missing(tokens);
    return parent.splice(index, 1)[0];
  }
  if (!Object.hasOwn(parent, key)) throw missing(tokens);
  const value = parent[key];
  delete parent[key];
  return value;
}

function add(doc: Json, tokens: string[], value: Json): Json {
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens);
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number(key);
    if (!(index >= 0 && index <= parent.length)) throw missing(tokens);
    parent.splice(index, 0, value);
  } else setOwn(parent, key, value);
  return doc;
}

/** Applies RFC 6902 operations to a copy of `doc`. A failed `test` is 422; a malformed patch is 400. */
export function jsonPatch(doc: Json, operations: Json): Json {
  if (!Array.isArray(operations)) throw statusErrors.badRequest('a JSON patch must be an array of operations');
  let out = structuredClone(doc);
  for (const raw of operations as Operation[]) {
    if (typeof raw !== 'object' || raw === null || typeof raw.path !== 'string') {
      throw statusErrors.badRequest('malformed JSON patch operation');
    }
    const tokens = pointer(raw.path);
    switch (raw.op) {
      case 'add':
        out = add(out, tokens, structuredClone(raw.value));
        break;
      case 'remove':
        remove(out, tokens);
        break;
      case 'replace':
        getAt(out, tokens);
        if (tokens.length === 0) out = structuredClone(raw.value);
        else {
          const { parent, key } = parentOf(out, tokens);
          setOwn(parent as Record<string, Json>, key, structuredClone(raw.value));
        }
        break;
      case 'move': {
        const value = remove(out, pointer(String(raw.from)));
        out = add(out, tokens, value);
        break;
      }
      case 'copy':
        out = add(out, tokens, structuredClone(getAt(out, pointer(String(raw.from)))));
        break;
      case 'test':
        if (JSON.stringify(getAt(out, tokens)) !== JSON.stringify(raw.value)) {
          throw statusErrors.custom(
            422,
            'Invalid',
            `the server rejected our request due to an error in our request: testing value /${tokens.join('/')} failed`,
          );
        }
        break;
      default:
        throw statusErrors.badRequest(`unknown JSON patch operation "${String(raw.op)}"`);
    }
  }
  return out;
}

export { StatusError };
