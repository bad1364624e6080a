/**
 * `@certloop/vault-signer` internal: the JSON-schema checks node-vault makes before each request, handed to it in
 * place of `tv4` (its `tv4` option). tv4 walked every request's options (agents included) on every call; node-vault's
 * schemas use only `type`, `properties`, `required`, `items`, `minItems`, `uniqueItems` and `minimum`, which this checks the same way.
 */

interface Schema {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly items?: Schema;
  readonly minimum?: number;
  readonly uniqueItems?: boolean;
  readonly minItems?: number;
}

interface SchemaError {
  readonly message: string;
  readonly dataPath: string;
}

function typeOk(type: string | undefined, value: unknown): boolean {
  switch (type) {
    case undefined:
      return true;
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return false; // a keyword this subset does not know: refuse rather than pass unchecked
  }
}

function check(value: unknown, schema: Schema, path: string): SchemaError | undefined {
  if (!typeOk(schema.type, value)) return { message: `Invalid type: expected ${schema.type}`, dataPath: path };
  if (schema.minimum !== undefined && typeof value === 'number' && value < schema.minimum) {
    return { message: `Value ${value} is less than minimum ${schema.minimum}`, dataPath: path };
  }
  if (Array.isArray(value) && schema.minItems !== undefined && value.length < schema.minItems) {
    return { message: `Array is too short (${value.length}), minimum ${schema.minItems}`, dataPath: path };
  }
  if (Array.isArray(value) && schema.uniqueItems) {
    const seen = new Set(value.map((item) => JSON.stringify(item)));
    if (seen.size !== value.length) return { message: 'Array items are not unique', dataPath: path };
  }
  if (Array.isArray(value) && schema.items) {
    for (const [i, item] of value.entries()) {
      const error = check(item, schema.items, `${path}/${i}`);
      if (error) return error;
    }
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const name of schema.required ?? []) {
      if (record[name] === undefined) return { message: `Missing required property: ${name}`, dataPath: path };
    }
    for (const [name, sub] of Object.entries(schema.properties ?? {})) {
      if (record[name] === undefined) continue;
      const error = check(record[name], sub, `${path}/${name}`);
      if (error) return error;
    }
  }
  return undefined;
}

/** What node-vault calls as `tv4`: `validate(value, schema)` and the last `error`. */
export function schemaChecker(): { validate(value: unknown, schema: Schema): boolean; error: SchemaError | null } {
  const checker = {
    error: null as SchemaError | null,
    validate(value: unknown, schema: Schema): boolean {
      checker.error = check(value, schema, '') ?? null;
      return checker.error === null;
    },
  };
  return checker;
}
