// How much of a tool's parameter schema the tool-call grammar takes on. Tools come from other extensions and MCP
// servers, so a schema can be anything. xgrammar (toolCallConstraint.ts) converts a schema by recursion on the stack of
// its WebAssembly build, and a schema nested too deep overflows it: "memory access out of bounds", after which that
// copy of xgrammar fails every later call. Measured with 0.1.27 inside the call-list schema, each level an object with
// one required property: 48 levels compile, 56 trap; a chain of 40 `$ref`s that resolve traps too, and so does a
// const nested 1,000 levels. Compile time grows with size: 500 optional properties take about a second on Phi-4-mini's
// vocabulary, 1,000 take 4 s, with the engine's worker blocked all the while.
//
// A schema past these bounds is not compiled into the grammar: the call's name and shape stay constrained, and the
// arguments are checked against the schema after the call (toolCallValidator.ts), as for a schema xgrammar cannot
// handle. The bounds are far above what a tool needs: the tool schemas in this project nest 3 levels at most.

export const TOOL_SCHEMA_BOUNDS = {
  /**
   * Levels of nesting: a subschema (under properties, items, anyOf, …) is one level below its schema, and any other
   * object or array (a const, an enum, a default) one level below its parent.
   */
  depth: 32,
  /** JSON values in the schema, each object, array, string, number, boolean and null counted once. */
  nodes: 2_000,
  /** Characters of the schema as JSON. */
  length: 100_000,
} as const;

export type ToolSchemaBounds = { readonly depth: number; readonly nodes: number; readonly length: number };

/** Keywords whose value is a subschema. */
const SUBSCHEMA = new Set([
  'items', 'additionalItems', 'additionalProperties', 'unevaluatedItems', 'unevaluatedProperties', 'contains',
  'propertyNames', 'not', 'if', 'then', 'else',
]);
/** Keywords whose value is an object of subschemas (or, for `dependencies`, of subschemas and name lists). */
const SUBSCHEMA_MAP = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas', 'dependencies']);
/** Keywords whose value is an array of subschemas. */
const SUBSCHEMA_LIST = new Set(['anyOf', 'oneOf', 'allOf', 'prefixItems', 'items']);
/**
 * References. xgrammar resolves them against the whole call-list document rather than the tool's schema, so a tool's
 * `#/$defs/…` is not found there (an abort); and it expands each reference in place, so a chain of them nests as deep
 * as it is long whatever the JSON looks like. A schema with references gets its arguments checked after the call.
 */
const REFERENCE = new Set(['$ref', '$dynamicRef', '$recursiveRef']);

/**
 * Why `schema` is not compiled into the tool-call grammar (a phrase: "is nested more than 32 levels deep"), or
 * undefined when it is within the bounds. Iterative and stops at the first bound passed, so any input is cheap.
 */
export function toolSchemaBeyondBounds(schema: unknown, bounds: ToolSchemaBounds = TOOL_SCHEMA_BOUNDS): string | undefined {
  // [value, its level, whether it is a schema (rather than a plain value such as a const)]
  const stack: Array<[unknown, number, boolean]> = [[schema, 1, true]];
  let nodes = 0;
  while (stack.length > 0) {
    const [value, level, isSchema] = stack.pop()!;
    if (++nodes > bounds.nodes) return `has more than ${bounds.nodes} nodes`;
    if (value === null || typeof value !== 'object') continue;
    if (level > bounds.depth) return `is nested more than ${bounds.depth} levels deep`;
    if (Array.isArray(value)) {
      for (const item of value) stack.push([item, level + 1, false]);
      continue;
    }
    for (const [key, child] of Object.entries(value)) {
      if (isSchema && REFERENCE.has(key)) return `uses ${key}`;
      const container = child !== null && typeof child === 'object';
      if (isSchema && container && SUBSCHEMA_MAP.has(key) && !Array.isArray(child)) {
        nodes++; // the map itself, which is no level of its own
        for (const sub of Object.values(child)) stack.push([sub, level + 1, true]);
      } else if (isSchema && container && SUBSCHEMA_LIST.has(key) && Array.isArray(child)) {
        nodes++;
        for (const sub of child) stack.push([sub, level + 1, true]);
      } else stack.push([child, level + 1, isSchema && SUBSCHEMA.has(key)]);
    }
  }
  // Within the node and depth bounds, serialising is cheap and cannot overflow.
  const length = JSON.stringify(schema ?? null).length;
  return length > bounds.length ? `is ${length} characters long as JSON (at most ${bounds.length})` : undefined;
}
