// Test helper: a small JSON Schema (draft-07) checker for the keywords phic's shipped schemas
// use, so tests can hold the schemas against phic's own validation without a schema library.
// A keyword it does not know fails the check, so a schema cannot quietly outgrow it.

type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$schema', 'title', 'description', 'examples', 'definitions', '$ref', 'type', 'enum', 'pattern', 'maxLength', 'minLength',
  'minimum', 'maximum', 'properties', 'required', 'additionalProperties', 'propertyNames', 'minProperties', 'items', 'minItems',
  'uniqueItems', 'oneOf', 'anyOf', 'allOf', 'not',
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function typeOk(type: string, v: unknown): boolean {
  if (type === 'object') return isObject(v);
  if (type === 'array') return Array.isArray(v);
  if (type === 'integer') return Number.isInteger(v);
  return typeof v === type;
}

/** The first problem of `value` against `schema` (a path and a keyword), or undefined when it conforms. */
export function schemaProblem(root: Schema, value: unknown, schema: Schema = root, path = '$'): string | undefined {
  for (const key of Object.keys(schema)) if (!KNOWN.has(key)) return `${path}: the test checker does not know the keyword ${key}`;
  if (schema.$ref) return schemaProblem(root, value, (root.definitions as Record<string, Schema>)[(schema.$ref as string).replace('#/definitions/', '')]!, path);
  const fail = (what: string) => `${path}: ${what}`;
  if (schema.type && !typeOk(schema.type as string, value)) return fail(`not of type ${schema.type}`);
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) return fail('not one of the enum');
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern as string, 'u').test(value)) return fail('does not match the pattern');
    if (schema.maxLength !== undefined && value.length > (schema.maxLength as number)) return fail('too long');
    if (schema.minLength !== undefined && value.length < (schema.minLength as number)) return fail('too short');
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < (schema.minimum as number)) return fail('below the minimum');
    if (schema.maximum !== undefined && value > (schema.maximum as number)) return fail('above the maximum');
  }
  return objectProblem(root, value, schema, path) ?? arrayProblem(root, value, schema, path) ?? combinedProblem(root, value, schema, path);
}

function objectProblem(root: Schema, value: unknown, schema: Schema, path: string): string | undefined {
  if (!isObject(value)) return undefined;
  for (const key of (schema.required as string[] | undefined) ?? []) if (!Object.hasOwn(value, key)) return `${path}: missing ${key}`;
  if (schema.minProperties !== undefined && Object.keys(value).length < (schema.minProperties as number)) return `${path}: too few properties`;
  const props = (schema.properties ?? {}) as Record<string, Schema>;
  for (const [key, v] of Object.entries(value)) {
    if (schema.propertyNames) {
      const p = schemaProblem(root, key, schema.propertyNames as Schema, `${path}[name ${key}]`);
      if (p) return p;
    }
    const sub = props[key] ?? schema.additionalProperties;
    if (sub === false) return `${path}: unknown property ${key}`;
    if (isObject(sub)) {
      const p = schemaProblem(root, v, sub, `${path}.${key}`);
      if (p) return p;
    }
  }
  return undefined;
}

function arrayProblem(root: Schema, value: unknown, schema: Schema, path: string): string | undefined {
  if (!Array.isArray(value)) return undefined;
  if (schema.minItems !== undefined && value.length < (schema.minItems as number)) return `${path}: too few items`;
  if (schema.uniqueItems && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) return `${path}: repeated items`;
  if (isObject(schema.items)) {
    for (const [i, v] of value.entries()) {
      const p = schemaProblem(root, v, schema.items, `${path}[${i}]`);
      if (p) return p;
    }
  }
  return undefined;
}

function combinedProblem(root: Schema, value: unknown, schema: Schema, path: string): string | undefined {
  const passes = (s: Schema) => schemaProblem(root, value, s, path) === undefined;
  if (schema.allOf) for (const s of schema.allOf as Schema[]) if (!passes(s)) return schemaProblem(root, value, s, path);
  if (schema.anyOf && !(schema.anyOf as Schema[]).some(passes)) return `${path}: matches none of anyOf`;
  if (schema.oneOf && (schema.oneOf as Schema[]).filter(passes).length !== 1) return `${path}: matches ${(schema.oneOf as Schema[]).filter(passes).length} of oneOf, not exactly one`;
  if (schema.not && passes(schema.not as Schema)) return `${path}: matches the not`;
  return undefined;
}
