// The tool choice on the logits before a call ('none' / 'required' / 'auto'), the phases of a call, the bitmask that
// applies the grammar, and the bounds on what of a tool's schema goes into the grammar. The grammar itself runs on the
// real vocabulary in test/engine/toolCallConstraint.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyBitmask } from '../../sidecar/toolCalls/toolCallConstraint';
import { ToolCallDecoding, type ToolChoice } from '../../sidecar/toolCalls/toolCallDecoding';
import { toolCallListSchema } from '../../sidecar/toolCalls/toolCallSchema';
import { TOOL_SCHEMA_BOUNDS, toolSchemaBeyondBounds } from '../../sidecar/toolCalls/toolSchemaBounds';

const tokens = { start: 7, end: 8 };
const tools = [{ name: 'f' }];
const noGrammar = () => Promise.reject(new Error('the grammar is not needed here'));
const decoding = (choice: ToolChoice, withTools = tools) =>
  new ToolCallDecoding({ tools: withTools, choice, constrain: false }, tokens, noGrammar);
const logits = () => Float32Array.from({ length: 10 }, (_, i) => i / 10);

describe('tool-call decoding', () => {
  it("'none', and no tools at all, make the call token impossible and leave the rest", async () => {
    for (const d of [decoding('none'), decoding('auto', [])]) {
      const l = logits();
      assert.ok(d.constrains(0));
      await d.constrain(l, 0);
      assert.equal(l[7], -Infinity);
      assert.deepEqual([...l].filter((x) => x !== -Infinity).length, 9);
    }
  });

  it("'required' allows only the call token first, then nothing is forced", async () => {
    const d = decoding('required');
    const l = logits();
    await d.constrain(l, 0);
    assert.deepEqual([...l].map((x, i) => (x > -Infinity ? i : -1)).filter((i) => i >= 0), [7]);
    assert.equal(d.constrains(1), false);
  });

  it("'auto' leaves the logits alone", () => {
    assert.equal(decoding('auto').constrains(0), false);
  });

  it('phases: text, then call after the call token, done after the end token', async () => {
    const d = decoding('auto');
    assert.equal(await d.accept(3), 'text');
    assert.equal(await d.accept(7), 'call');
    assert.equal(await d.accept(3), 'call');
    assert.equal(await d.accept(8), 'done');
  });

  it('a bitmask keeps exactly the tokens whose bit is set (32 per word, low bit first)', () => {
    const l = new Float32Array(70).fill(1);
    const mask = new Int32Array(3);
    for (const id of [0, 31, 32, 69]) mask[id >> 5] |= 1 << (id & 31);
    applyBitmask(l, mask);
    assert.deepEqual([...l.keys()].filter((i) => l[i] > -Infinity), [0, 31, 32, 69]);
    const all = new Float32Array(40).fill(1);
    applyBitmask(all, new Int32Array([-1, 0xff]));
    assert.deepEqual([...all.keys()].filter((i) => all[i] > -Infinity).length, 40);
  });
});

/** `levels` levels of `wrap` around a string schema. */
function nest(levels: number, wrap: (inner: object) => object): object {
  let schema: object = { type: 'string' };
  for (let i = 0; i < levels; i++) schema = wrap(schema);
  return schema;
}
const asObject = (inner: object) => ({ type: 'object', properties: { a: inner }, required: ['a'], additionalProperties: false });
const asArray = (inner: object) => ({ type: 'array', items: inner, maxItems: 2 });
const asAnyOf = (inner: object) => ({ anyOf: [inner, { type: 'null' }] });
const asPrefixItems = (inner: object) => ({ type: 'array', prefixItems: [inner] });

describe('tool schema bounds', () => {
  const { depth, nodes, length } = TOOL_SCHEMA_BOUNDS;

  it('a schema as tools have them is within the bounds', () => {
    const schema = {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'A path.' },
        range: { type: 'object', properties: { start: { type: 'integer' }, end: { type: 'integer' } }, required: ['start'] },
        mode: { enum: ['a', 'b', ['c', { d: 1 }]] },
        tags: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'null' }] }, default: [] },
      },
      required: ['path'],
    };
    assert.equal(toolSchemaBeyondBounds(schema), undefined);
    assert.equal(toolSchemaBeyondBounds(undefined), undefined, 'no schema: no arguments');
  });

  it(`${depth} levels of objects, arrays or combinators are within the bounds, one more is not`, () => {
    // nest(n) is n levels around a string schema, itself the last level.
    for (const wrap of [asObject, asArray, asAnyOf, asPrefixItems]) {
      assert.equal(toolSchemaBeyondBounds(nest(depth - 1, wrap)), undefined, wrap.name);
      assert.equal(toolSchemaBeyondBounds(nest(depth, wrap)), `is nested more than ${depth} levels deep`, wrap.name);
    }
    assert.equal(toolSchemaBeyondBounds(nest(300, asObject)), `is nested more than ${depth} levels deep`);
  });

  it('plain values count their nesting too (a const, an enum, a default)', () => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = [value];
    const schema = { type: 'object', properties: { a: { const: value } } };
    assert.match(toolSchemaBeyondBounds(schema) ?? '', /nested more than/);
    assert.equal(toolSchemaBeyondBounds({ type: 'object', properties: { a: { const: [[[1]]] } } }), undefined);
  });

  it('a very deep schema is judged without recursion, quickly', () => {
    const started = performance.now();
    assert.match(toolSchemaBeyondBounds(nest(200_000, asObject)) ?? '', /nested more than/);
    assert.ok(performance.now() - started < 100);
  });

  it(`more than ${nodes} nodes, or more than ${length} characters, is beyond the bounds`, () => {
    const values = (n: number) => ({ enum: Array.from({ length: n }, (_, i) => i) });
    assert.equal(toolSchemaBeyondBounds(values(nodes - 3)), undefined); // the schema, the enum and its n values
    assert.equal(toolSchemaBeyondBounds(values(nodes)), `has more than ${nodes} nodes`);
    assert.equal(toolSchemaBeyondBounds({ type: 'string', description: 'x'.repeat(length) }), `is ${length + 34} characters long as JSON (at most ${length})`);
  });

  it('references are beyond the bounds (xgrammar expands them in place, against the call list); a property named $ref is not one', () => {
    assert.equal(toolSchemaBeyondBounds({ $defs: { n: { type: 'string' } }, type: 'object', properties: { a: { $ref: '#/$defs/n' } } }), 'uses $ref');
    assert.equal(toolSchemaBeyondBounds({ type: 'object', properties: { $ref: { type: 'string' } } }), undefined);
    assert.equal(toolSchemaBeyondBounds({ type: 'object', default: { $ref: 'x' } }), undefined, 'inside a plain value');
  });

  it('the call-list schema leaves the arguments of the tools it is told to free, and keeps the others', () => {
    const tools = [
      { name: 'f', parameters: { type: 'object', properties: { x: { type: 'integer' } } } },
      { name: 'g', parameters: nest(40, asObject) as Record<string, unknown> },
    ];
    const schema = toolCallListSchema(tools, { looseArguments: (t) => toolSchemaBeyondBounds(t.parameters) !== undefined }) as {
      items: { anyOf: Array<{ properties: { arguments: unknown } }> };
    };
    assert.deepEqual(schema.items.anyOf.map((i) => i.properties.arguments), [tools[0].parameters, { type: 'object', additionalProperties: true }]);
  });
});
