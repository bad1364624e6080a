/**
 * `@certloop/vault-signer/testing` internal: Vault ACL policy documents (contract section 8), in HCL or JSON (either
 * possibly base64): `path "<glob>" { capabilities = [...] }` blocks, and the old `policy = "read"` form. Only what an
 * ACL decision needs is kept; parameter constraints and wrapping TTLs are accepted and ignored.
 */

export type Capability = 'create' | 'read' | 'update' | 'patch' | 'delete' | 'list' | 'sudo' | 'deny';

export const CAPABILITIES: readonly Capability[] = [
  'create',
  'read',
  'update',
  'patch',
  'delete',
  'list',
  'sudo',
  'deny',
];

/** The old `policy = "…"` values as capability sets, as Vault expands them. */
const OLD_POLICY: Record<string, readonly Capability[]> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'patch', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo'],
};

const PATH_KEYS = new Set([
  'comment',
  'policy',
  'capabilities',
  'allowed_parameters',
  'denied_parameters',
  'required_parameters',
  'min_wrapping_ttl',
  'max_wrapping_ttl',
  'mfa_methods',
  'control_group',
  'subscribe_event_types',
]);

export interface PathRule {
  readonly path: string;
  readonly capabilities: ReadonlySet<Capability>;
}

export class PolicyParseError extends Error {}

type Value = string | number | boolean | Value[] | { [key: string]: Value } | Block[];
interface Block {
  readonly labels: string[];
  readonly body: Body;
  readonly line: number;
}
interface Body {
  readonly attributes: Map<string, { value: Value; line: number }>;
  readonly blocks: Map<string, Block[]>;
}

interface Token {
  readonly kind: 'string' | 'ident' | 'number' | 'punct';
  readonly text: string;
  readonly line: number;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) i++;
    else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new PolicyParseError(`At ${line}: comment not terminated`);
      line += text.slice(i, end).split('\n').length - 1;
      i = end + 2;
    } else if (c === '"') {
      let value = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\n') throw new PolicyParseError(`At ${line}: literal not terminated`);
        if (text[j] === '\\') {
          j++;
          const e = text[j];
          value += e === 'n' ? '\n' : e === 't' ? '\t' : (e ?? '');
        } else value += text[j];
      }
      if (j >= text.length) throw new PolicyParseError(`At ${line}: literal not terminated`);
      tokens.push({ kind: 'string', text: value, line });
      i = j + 1;
    } else if ('{}[]=,:'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, line });
      i++;
    } else {
      const match = /^[A-Za-z0-9_.-]+/.exec(text.slice(i));
      if (!match) throw new PolicyParseError(`At ${line}: illegal char ${JSON.stringify(c)}`);
      tokens.push({ kind: /^[0-9]/.test(match[0]) ? 'number' : 'ident', text: match[0], line });
      i += match[0].length;
    }
  }
  return tokens;
}

/** A small HCL (v1, as Vault's policies use it) reader: attributes, labelled blocks, lists, objects. */
function parseHcl(text: string): Body {
  const tokens = tokenize(text);
  let at = 0;
  const peek = () => tokens[at];
  const expect = (punct: string) => {
    const t = tokens[at++];
    if (t?.kind !== 'punct' || t.text !== punct) {
      throw new PolicyParseError(`At ${t?.line ?? 'end'}: expected ${JSON.stringify(punct)}`);
    }
  };
  const value = (): Value => {
    const t = tokens[at++];
    if (!t) throw new PolicyParseError('unexpected end of input');
    if (t.kind === 'string') return t.text;
    if (t.kind === 'number') return Number(t.text);
    if (t.kind === 'ident' && (t.text === 'true' || t.text === 'false')) return t.text === 'true';
    if (t.kind === 'punct' && t.text === '[') {
      const list: Value[] = [];
      while (peek()?.text !== ']') {
        list.push(value());
        if (peek()?.text === ',') at++;
        else break;
      }
      expect(']');
      return list;
    }
    if (t.kind === 'punct' && t.text === '{') {
      at--;
      return bodyToObject(block());
    }
    throw new PolicyParseError(`At ${t.line}: unexpected ${JSON.stringify(t.text)}`);
  };
  const block = (): Body => {
    expect('{');
    const body = items('}');
    expect('}');
    return body;
  };
  const items = (end: string | undefined): Body => {
    const body: Body = { attributes: new Map(), blocks: new Map() };
    while (at < tokens.length && peek()?.text !== end) {
      const key = tokens[at++]!;
      if (key.kind !== 'ident' && key.kind !== 'string') {
        throw new PolicyParseError(`At ${key.line}: unexpected ${JSON.stringify(key.text)}`);
      }
      if (peek()?.text === '=' || peek()?.text === ':') {
        at++;
        body.attributes.set(key.text, { value: value(), line: key.line });
      } else {
        const labels: string[] = [];
        while (peek()?.kind === 'string') labels.push(tokens[at++]!.text);
        const list = body.blocks.get(key.text) ?? [];
        list.push({ labels, body: block(), line: key.line });
        body.blocks.set(key.text, list);
      }
      if (peek()?.text === ',') at++;
    }
    return body;
  };
  const body = items(undefined);
  if (at < tokens.length)
    throw new PolicyParseError(`At ${tokens[at]!.line}: unexpected ${JSON.stringify(tokens[at]!.text)}`);
  return body;
}

function bodyToObject(body: Body): { [key: string]: Value } {
  const out: { [key: string]: Value } = {};
  for (const [k, v] of body.attributes) out[k] = v.value;
  for (const [k, blocks] of body.blocks) out[k] = blocks;
  return out;
}

function capabilitiesOf(path: string, fields: Record<string, unknown>, line: number | undefined): Set<Capability> {
  for (const key of Object.keys(fields)) {
    if (!PATH_KEYS.has(key)) {
      throw new PolicyParseError(
        `path ${JSON.stringify(path)}: invalid key ${JSON.stringify(key)}${line ? ` on line ${line}` : ''}`,
      );
    }
  }
  const caps = new Set<Capability>();
  if (fields.policy !== undefined) {
    const expanded = OLD_POLICY[String(fields.policy)];
    if (!expanded)
      throw new PolicyParseError(`path ${JSON.stringify(path)}: invalid policy ${JSON.stringify(fields.policy)}`);
    for (const c of expanded) caps.add(c);
  }
  if (fields.capabilities !== undefined) {
    if (!Array.isArray(fields.capabilities)) {
      throw new PolicyParseError(`path ${JSON.stringify(path)}: capabilities must be a list`);
    }
    for (const raw of fields.capabilities) {
      const c = String(raw).toLowerCase() as Capability;
      if (!CAPABILITIES.includes(c)) {
        throw new PolicyParseError(`path ${JSON.stringify(path)}: invalid capability ${JSON.stringify(String(raw))}`);
      }
      caps.add(c);
    }
  }
  // deny in a path's capabilities wins over everything else listed beside it
  return caps.has('deny') ? new Set<Capability>(['deny']) : caps;
}

function rulesFromJson(doc: unknown): PathRule[] {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new PolicyParseError('policy must be an object');
  const rules: PathRule[] = [];
  const addAll = (paths: unknown) => {
    if (Array.isArray(paths)) {
      for (const p of paths) addAll(p);
      return;
    }
    if (!paths || typeof paths !== 'object') throw new PolicyParseError('"path" must be an object');
    for (const [path, fields] of Object.entries(paths as Record<string, unknown>)) {
      const object = Array.isArray(fields) ? Object.assign({}, ...fields) : fields;
      rules.push({ path, capabilities: capabilitiesOf(path, (object ?? {}) as Record<string, unknown>, undefined) });
    }
  };
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (key === 'path') addAll(value);
    else if (key !== 'name') throw new PolicyParseError(`invalid key ${JSON.stringify(key)}`);
  }
  return rules;
}

/** The path rules of a policy document (HCL or JSON, plain or base64); throws {@link PolicyParseError}. */
export function parsePolicy(text: string): PathRule[] {
  let source = text.trim();
  if (!source.startsWith('{') && !source.includes('"') && /^[A-Za-z0-9+/=\s]+$/.test(source)) {
    const decoded = Buffer.from(source, 'base64').toString('utf8');
    if (decoded.includes('path')) source = decoded.trim();
  }
  if (source.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(source);
    } catch (err) {
      throw new PolicyParseError((err as Error).message);
    }
    return rulesFromJson(doc);
  }
  const body = parseHcl(source);
  for (const [key, { line }] of body.attributes) {
    if (key !== 'name') throw new PolicyParseError(`invalid key ${JSON.stringify(key)} on line ${line}`);
  }
  const rules: PathRule[] = [];
  for (const [key, blocks] of body.blocks) {
    if (key !== 'path') throw new PolicyParseError(`invalid key ${JSON.stringify(key)} on line ${blocks[0]!.line}`);
    for (const block of blocks) {
      const path = block.labels[0];
      if (block.labels.length !== 1 || path === undefined) {
        throw new PolicyParseError(`path block on line ${block.line} needs exactly one path`);
      }
      const fields: Record<string, unknown> = {};
      for (const [k, v] of block.body.attributes) fields[k] = v.value;
      for (const [k, b] of block.body.blocks) fields[k] = b;
      rules.push({ path, capabilities: capabilitiesOf(path, fields, block.line) });
    }
  }
  return rules;
}
