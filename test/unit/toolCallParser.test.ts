// The tool-call parser on a corpus of what small models really write (shared/reference/phi4-format.md §4: the
// deviations gorilla's BFCL handler, vLLM, sglang, llama.cpp, Ollama and the webnn demo work around), plus our own:
// each case has the calls it must give, or the error it must give.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ToolCall, ToolDefinition } from '../../sidecar/prompt/template';
import { parseToolCalls } from '../../sidecar/toolCalls/toolCallParser';

const tools: ToolDefinition[] = [
  {
    name: 'read_file',
    description: 'Read a file of the workspace.',
    parameters: {
      type: 'object',
      properties: { path: { type: 'string' }, startLine: { type: 'integer', minimum: 1 } },
      required: ['path'],
      additionalProperties: false,
    },
  },
  {
    name: 'search',
    parameters: {
      type: 'object',
      properties: {
        query: { type: 'string' },
        mode: { type: 'string', enum: ['text', 'regex'] },
        caseSensitive: { type: 'boolean' },
      },
      required: ['query'],
    },
  },
  { name: 'get_diagnostics' },
];

const read = (path: string, more: Record<string, unknown> = {}): ToolCall => ({ name: 'read_file', arguments: { path, ...more } });
const search = (query: string, more: Record<string, unknown> = {}): ToolCall => ({ name: 'search', arguments: { query, ...more } });

type Case = [name: string, output: string, expected: ToolCall[] | RegExp];

const corpus: Case[] = [
  // The format as trained (PhiCookBook output).
  ['well-formed list', '<|tool_call|>[{"name": "read_file", "arguments": {"path": "src/a.ts"}}]<|/tool_call|>', [read('src/a.ts')]],
  ['two calls in one list', '<|tool_call|>[{"name": "read_file", "arguments": {"path": "a"}}, {"name": "search", "arguments": {"query": "TODO"}}]<|/tool_call|>', [read('a'), search('TODO')]],
  ['payload only (between the markers)', '[{"name": "search", "arguments": {"query": "x", "mode": "regex"}}]', [search('x', { mode: 'regex' })]],
  ['text before the call', 'Let me look at it.<|tool_call|>[{"name": "read_file", "arguments": {"path": "a"}}]<|/tool_call|>', [read('a')]],
  ['no whitespace', '<|tool_call|>[{"name":"read_file","arguments":{"path":"a","startLine":3}}]<|/tool_call|>', [read('a', { startLine: 3 })]],
  ['pretty-printed over lines', '<|tool_call|>[\n  {\n    "name": "read_file",\n    "arguments": {\n      "path": "a"\n    }\n  }\n]<|/tool_call|>', [read('a')]],
  // Missing end tag (gorilla, webnn POC, ollama).
  ['missing <|/tool_call|>', '<|tool_call|>[{"name": "read_file", "arguments": {"path": "a"}}]', [read('a')]],
  ['missing end tag, <|end|> after', '<|tool_call|>[{"name": "read_file", "arguments": {"path": "a"}}]<|end|>', [read('a')]],
  // Missing list brackets, comma-separated objects (gorilla).
  ['single object, no list', '<|tool_call|>{"name": "read_file", "arguments": {"path": "a"}}<|/tool_call|>', [read('a')]],
  ['comma-separated objects', '<|tool_call|>{"name": "read_file", "arguments": {"path": "a"}}, {"name": "search", "arguments": {"query": "b"}}<|/tool_call|>', [read('a'), search('b')]],
  ['newline-separated objects', '<|tool_call|>{"name": "read_file", "arguments": {"path": "a"}}\n{"name": "read_file", "arguments": {"path": "b"}}', [read('a'), read('b')]],
  ['list without its closing bracket', '<|tool_call|>[{"name": "read_file", "arguments": {"path": "a"}}, {"name": "search", "arguments": {"query": "b"}}<|/tool_call|>', [read('a'), search('b')]],
  ['one call block per call (llama.cpp style)', '<|tool_call|>{"name": "read_file", "arguments": {"path": "a"}}<|/tool_call|><|tool_call|>{"name": "search", "arguments": {"query": "q"}}<|/tool_call|>', [read('a'), search('q')]],
  // `parameters` for `arguments` (vLLM, sglang), and other spellings.
  ['parameters for arguments', '<|tool_call|>[{"name": "read_file", "parameters": {"path": "a"}}]<|/tool_call|>', [read('a')]],
  ['args for arguments', '<|tool_call|>[{"name": "search", "args": {"query": "a"}}]', [search('a')]],
  ['arguments as a JSON string', '<|tool_call|>[{"name": "read_file", "arguments": "{\\"path\\": \\"a\\"}"}]<|/tool_call|>', [read('a')]],
  ['items as JSON strings (gorilla)', '<|tool_call|>["{\\"name\\": \\"read_file\\", \\"arguments\\": {\\"path\\": \\"a\\"}}"]<|/tool_call|>', [read('a')]],
  ['OpenAI function wrapper', '<|tool_call|>[{"type": "function", "function": {"name": "read_file", "arguments": "{\\"path\\": \\"a\\"}"}}]', [read('a')]],
  ['no arguments at all, tool without parameters', '<|tool_call|>[{"name": "get_diagnostics"}]<|/tool_call|>', [{ name: 'get_diagnostics', arguments: {} }]],
  ['empty arguments', '<|tool_call|>[{"name": "get_diagnostics", "arguments": {}}]<|/tool_call|>', [{ name: 'get_diagnostics', arguments: {} }]],
  // JSON syntax slips, repaired.
  ['trailing commas', '<|tool_call|>[{"name": "read_file", "arguments": {"path": "a",},},]<|/tool_call|>', [read('a')]],
  ['single quotes and Python constants', "<|tool_call|>[{'name': 'search', 'arguments': {'query': 'a', 'caseSensitive': True}}]<|/tool_call|>", [search('a', { caseSensitive: true })]],
  ['unquoted keys', '<|tool_call|>[{name: "read_file", arguments: {path: "a"}}]<|/tool_call|>', [read('a')]],
  ['trailing garbage after the list', '<|tool_call|>[{"name": "read_file", "arguments": {"path": "a"}}] I will now read it.<|/tool_call|>', [read('a')]],
  ['an extra closing brace', '<|tool_call|>{"name": "read_file", "arguments": {"path": "a"}}}<|/tool_call|>', [read('a')]],
  ['code fence around the JSON', '<|tool_call|>```json\n[{"name": "read_file", "arguments": {"path": "a"}}]\n```<|/tool_call|>', [read('a')]],
  ['bare JSON reply, no markers', '[{"name": "search", "arguments": {"query": "a"}}]', [search('a')]],
  ['bare fenced reply, no markers', 'Here is the call:\n```json\n{"name": "read_file", "arguments": {"path": "a"}}\n```', [read('a')]],
  ['vLLM functools prefix', 'functools[{"name": "read_file", "arguments": {"path": "a"}}]', [read('a')]],
  ['brackets and braces inside strings', '<|tool_call|>[{"name": "search", "arguments": {"query": "a[0] } {\\" ]"}}]', [search('a[0] } {" ]')]],
  ['unicode and escapes', '<|tool_call|>[{"name": "read_file", "arguments": {"path": "d\\u00e9j\\u00e0/\\u6587.md"}}]', [read('déjà/文.md')]],
  ['string "5" for an integer is coerced', '<|tool_call|>[{"name": "read_file", "arguments": {"path": "a", "startLine": "5"}}]', [read('a', { startLine: 5 })]],
  // Refused, with a reason.
  ['cut off inside the arguments', '<|tool_call|>[{"name": "read_file", "arguments": {"path": "src/ma', /cut off/],
  ['cut off inside a single object', '<|tool_call|>{"name": "search", "arguments": {"query": "a"', /cut off/],
  ['cut off after a whole first call', '<|tool_call|>[{"name": "read_file", "arguments": {"path": "a"}}, {"name": "sea', /cut off/],
  ['empty call', '<|tool_call|><|/tool_call|>', /empty/],
  ['empty list', '<|tool_call|>[]<|/tool_call|>', /holds no call/],
  ['not JSON at all', '<|tool_call|>read_file(path="a")<|/tool_call|>', /not JSON/],
  ['unknown tool', '<|tool_call|>[{"name": "delete_everything", "arguments": {}}]', /no tool "delete_everything"; the tools are "read_file", "search", "get_diagnostics"/],
  ['no name', '<|tool_call|>[{"arguments": {"path": "a"}}]', /has no "name"/],
  ['echoes the schema instead of calling (gorilla)', '<|tool_call|>[{"name": "read_file", "description": "Read a file of the workspace.", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}]', /repeats the definition of "read_file"/],
  ['missing required argument', '<|tool_call|>[{"name": "read_file", "arguments": {"startLine": 2}}]', /must have required property 'path'/],
  ['argument outside its enum', '<|tool_call|>[{"name": "search", "arguments": {"query": "a", "mode": "fuzzy"}}]', /arguments\/mode must be equal to one of the allowed values/],
  ['unknown argument (additionalProperties false)', '<|tool_call|>[{"name": "read_file", "arguments": {"path": "a", "encoding": "utf8"}}]', /must NOT have additional properties/],
  ['arguments that are a list', '<|tool_call|>[{"name": "read_file", "arguments": ["a"]}]', /must be an object/],
  ['a list item that is a number', '<|tool_call|>[42]', /must be an object/],
  ['arguments string that is not JSON', '<|tool_call|>[{"name": "read_file", "arguments": "path=a"}]', /arguments of "read_file" must be an object/],
];

describe('tool-call parser corpus', () => {
  it('has at least 30 cases', () => assert.ok(corpus.length >= 30, `${corpus.length} cases`));
  for (const [name, output, expected] of corpus) {
    it(name, () => {
      const result = parseToolCalls(output, tools);
      if (expected instanceof RegExp) {
        assert.equal(result.ok, false, `expected an error, got ${JSON.stringify(result)}`);
        if (!result.ok) assert.match(result.error, expected);
      } else {
        assert.ok(result.ok, `expected calls, got: ${!result.ok && result.error}`);
        if (result.ok) assert.deepEqual(result.calls, expected);
      }
    });
  }
});

describe('tool-call parser on hostile nesting', () => {
  // 10,000 levels made JSON.parse / jsonrepair overflow the stack (RangeError), failing the whole turn.
  for (const [name, text] of [
    ['10,000 nested lists', '['.repeat(1e4) + ']'.repeat(1e4)],
    ['10,000 nested objects in an argument', `{"name":"read_file","arguments":{"path":${'{"a":'.repeat(1e4)}1${'}'.repeat(1e4)}}}`],
    ['an unclosed nest after the marker', `<|tool_call|>${'['.repeat(1e5)}`],
  ] as const) {
    it(`${name}: an error the model sees, not a throw`, () => {
      const result = parseToolCalls(text, tools);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.error, /nests deeper than 64 levels|could not be read|cut off/);
    });
  }
  it('nesting up to the limit still parses', () => {
    const nest = (levels: number) => `{"name":"search","arguments":{"query":"x","extra":${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}}}`;
    const result = parseToolCalls(nest(62), tools); // the call object and its arguments, then 62 levels: 64
    assert.ok(result.ok, !result.ok ? result.error : '');
    const over = parseToolCalls(nest(63), tools);
    assert.ok(!over.ok && /nests deeper than 64 levels/.test(over.error));
  });
});
