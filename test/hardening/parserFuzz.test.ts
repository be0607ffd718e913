// The tool-call parser (sidecar/toolCalls/toolCallParser.ts) fuzzed with what a confused or hostile model writes:
// valid calls mutated byte by byte (cut, duplicated, bracket-flipped, quote-dropped), random bytes and tokens of JSON,
// deep nesting, huge strings and numbers, prototype keys, and the shapes it repairs. Whatever comes in, it returns
// either calls that fit the declared tools' schemas (checked again here, independently, with ajv) or an error to show
// the model — it never throws (a throw would fail the turn), and a call that parses is never for an undeclared tool.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Ajv from 'ajv';
import type { ToolDefinition } from '../../sidecar/protocol';
import { parseToolCalls } from '../../sidecar/toolCalls/toolCallParser';
import { Prng } from '../fixtures/prng';
import { reportFigure } from './figures';

const TOOLS: ToolDefinition[] = [
  { name: 'read_file', description: 'Reads a file.', parameters: { type: 'object', properties: { path: { type: 'string' }, startLine: { type: 'integer', minimum: 1 } }, required: ['path'], additionalProperties: false } },
  { name: 'search_text', description: 'Searches.', parameters: { type: 'object', properties: { query: { type: 'string', maxLength: 200 }, regex: { type: 'boolean' } }, required: ['query'] } },
  { name: 'get_active_editor', description: 'The editor.' },
];
const SEEDS = [
  '[{"name": "read_file", "arguments": {"path": "src/a.ts", "startLine": 3}}]',
  '[{"name": "search_text", "arguments": {"query": "TODO", "regex": false}}, {"name": "get_active_editor", "arguments": {}}]',
  '<|tool_call|>[{"name": "read_file", "arguments": {"path": "b.py"}}]<|/tool_call|>',
  'functools[{"name": "read_file", "arguments": {"path": "c"}}]',
  '{"function": {"name": "search_text", "arguments": "{\\"query\\": \\"x\\"}"}}',
  '```json\n[{"name": "read_file", "parameters": {"path": "d"}}]\n```',
  "[{'name': 'read_file', 'arguments': {'path': 'e', 'startLine': None,}}]",
];
const ATOMS = ['[', ']', '{', '}', '"', ':', ',', 'null', 'true', '1e999', '-0', '"name"', '"arguments"', '"read_file"', '\\u0000', '\\', '<|tool_call|>', '<|/tool_call|>', '<|end|>', '__proto__', 'constructor', 'NaN', ' ', '\n', '💥', '"\\ud800"'];

test('the tool-call parser never throws, and what it accepts fits a declared tool\'s schema', () => {
  const prng = new Prng(8, 'parser-fuzz');
  const int = (n: number) => prng.nextUint32() % n;
  const ajv = new Ajv({ strict: false });
  const validators = new Map(TOOLS.map((t) => [t.name, ajv.compile(t.parameters ?? { type: 'object', maxProperties: 0 })]));
  const inputs: string[] = [
    '['.repeat(10_000) + ']'.repeat(10_000), '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000),
    `[{"name": "read_file", "arguments": {"path": "${'x'.repeat(1_000_000)}"}}]`, `[{"name": "read_file", "arguments": {"path": "a", "startLine": ${'9'.repeat(400)}}}]`,
    '[{"name": "__proto__", "arguments": {}}]', '[{"name": "read_file", "arguments": {"__proto__": {"path": "x"}}}]',
    '', ' ', '[]', '[{}]', 'null', '"read_file"', '<|tool_call|>', '<|tool_call|><|/tool_call|>',
  ];
  for (let i = 0; i < 4_000; i++) {
    const seed = SEEDS[int(SEEDS.length)];
    const kind = int(5);
    if (kind === 0) inputs.push(seed.slice(0, int(seed.length + 1))); // cut off
    else if (kind === 1) { // mutated characters
      const chars = [...seed];
      for (let m = 1 + int(4); m > 0; m--) chars[int(chars.length)] = ATOMS[int(ATOMS.length)];
      inputs.push(chars.join(''));
    } else if (kind === 2) { // a piece duplicated or dropped
      const a = int(seed.length);
      const b = a + int(seed.length - a);
      inputs.push(int(2) ? seed.slice(0, b) + seed.slice(a) : seed.slice(0, a) + seed.slice(b));
    } else if (kind === 3) inputs.push(Array.from({ length: 1 + int(40) }, () => ATOMS[int(ATOMS.length)]).join('')); // token soup
    else inputs.push(String.fromCharCode(...Array.from({ length: int(200) }, () => int(0x3000)))); // random characters
  }
  let accepted = 0;
  let refused = 0;
  const lost: string[] = [];
  for (const input of inputs) {
    let parsed;
    try {
      parsed = parseToolCalls(input, TOOLS);
    } catch (e) {
      lost.push(`threw ${(e as Error).name} on ${JSON.stringify(input.slice(0, 60))}`);
      continue;
    }
    if (!parsed.ok) {
      assert.equal(typeof parsed.error, 'string');
      assert.ok(parsed.error.length > 0);
      refused++;
      continue;
    }
    accepted++;
    for (const call of parsed.calls) {
      const validate = validators.get(call.name);
      if (!validate) lost.push(`accepted an undeclared tool ${JSON.stringify(call.name)}`);
      else if (!validate(call.arguments ?? {})) lost.push(`accepted ${call.name} arguments that do not fit: ${JSON.stringify(call.arguments).slice(0, 80)}`);
    }
  }
  reportFigure('tool-call parser fuzz', { tried: inputs.length, refused, lost: lost.length, note: `${accepted} repaired or valid calls accepted, each checked against its schema` });
  assert.deepEqual(lost.slice(0, 10), []);
  assert.ok(accepted > 0 && refused > 0, 'the corpus has both calls to accept and calls to refuse');
});
