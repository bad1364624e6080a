import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { schemaChecker } from './schema-check.js';

// node-vault's own command schemas, checked by the subset as tv4 checks them
const commands = createRequire(import.meta.url)('node-vault/src/commands.js') as Record<
  string,
  { schema?: { req?: object; query?: object } }
>;

describe('schemaChecker: the subset of tv4 node-vault needs', () => {
  it('knows every keyword of every node-vault schema', () => {
    const keywords = new Set<string>();
    const walk = (schema: unknown) => {
      if (!schema || typeof schema !== 'object') return;
      for (const [k, v] of Object.entries(schema)) {
        keywords.add(k);
        if (k === 'properties') for (const sub of Object.values(v as object)) walk(sub);
        if (k === 'items') walk(v);
      }
    };
    for (const command of Object.values(commands)) {
      walk(command.schema?.req);
      walk(command.schema?.query);
    }
    expect([...keywords].sort()).toEqual(expect.arrayContaining(['properties', 'type']));
    // JSON-schema keywords tv4 acts on; other keys (node-vault has a few stray ones) are ignored by both
    const tv4Keywords = new Set(
      'type enum const multipleOf maximum exclusiveMaximum minimum exclusiveMinimum maxLength minLength pattern format items additionalItems maxItems minItems uniqueItems maxProperties minProperties required properties patternProperties additionalProperties dependencies allOf anyOf oneOf not $ref'.split(
        ' ',
      ),
    );
    const supported = ['type', 'properties', 'required', 'items', 'minItems', 'uniqueItems', 'minimum'];
    expect([...keywords].filter((k) => tv4Keywords.has(k) && !supported.includes(k))).toEqual([]);
  });

  it.each([
    [{ path: '/x', method: 'GET' }, true],
    [{ path: '/x' }, false],
    [{ path: 1, method: 'GET' }, false],
    [{ path: '/x', method: 'GET', agent: { deep: { cyclic: true } } }, true],
  ])('request options %j: %s', (value, ok) => {
    const checker = schemaChecker();
    const schema = {
      type: 'object',
      properties: { path: { type: 'string' }, method: { type: 'string' } },
      required: ['path', 'method'],
    };
    expect(checker.validate(value, schema)).toBe(ok);
    expect(checker.error === null).toBe(ok);
  });

  it('nested types, integers, minimum and array items', () => {
    const checker = schemaChecker();
    const schema = {
      type: 'object',
      properties: {
        ttl: { type: 'integer', minimum: 1 },
        policies: { type: 'array', items: { type: 'string' } },
      },
    };
    expect(checker.validate({ ttl: 5, policies: ['a'] }, schema)).toBe(true);
    expect(checker.validate({ ttl: 1.5 }, schema)).toBe(false);
    expect(checker.validate({ ttl: 0 }, schema)).toBe(false);
    expect(checker.validate({ policies: ['a', 2] }, schema)).toBe(false);
    expect(checker.error?.dataPath).toBe('/policies/1');
    expect(checker.validate(['a', 'a'], { type: 'array', uniqueItems: true })).toBe(false);
    expect(checker.validate(['a', 'b'], { type: 'array', uniqueItems: true })).toBe(true);
    expect(checker.validate([], { type: 'array', minItems: 1 })).toBe(false);
  });
});
