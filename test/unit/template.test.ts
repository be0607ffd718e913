// ChatTemplate against the official Phi-4-mini chat_template rendered by @huggingface/jinja from Hugging Face style
// input, compared token for token; plus the two additions (tool results, assistant tool calls) and literal strings.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Template } from '@huggingface/jinja';
import { ChatTemplate, DEFAULT_TOOL_SYSTEM_PROMPT, type ChatMessage, type ToolDefinition } from '../../sidecar/prompt/template';
import { PhiTokenizer } from '../../sidecar/prompt/tokenizer';
import { buildPhi4TokenizerFiles, PHI4_CHAT_TEMPLATE } from '../fixtures/phi4Tokenizer';

const { tokenizerJson, tokenizerConfig } = buildPhi4TokenizerFiles();
const tok = new PhiTokenizer(tokenizerJson, tokenizerConfig);
const ours = new ChatTemplate(tokenizerConfig.chat_template, {
  bos_token: tokenizerConfig.bos_token, eos_token: tokenizerConfig.eos_token,
});
const official = new Template(PHI4_CHAT_TEMPLATE);

/** A message as Hugging Face's apply_chat_template gets it for Phi-4-mini (tools as a JSON string on the system). */
interface HfMessage { role: string; content: string; tools?: string }

function renderOfficial(messages: HfMessage[], addGenerationPrompt = true): string {
  return official.render({
    messages, add_generation_prompt: addGenerationPrompt, eos_token: '<|endoftext|>', bos_token: '<|endoftext|>',
  });
}

// Tools and their serialisation, written out by hand in the model card's `json.dumps` style.
const WEATHER: ToolDefinition = {
  name: 'get_weather',
  description: 'Current weather of a city.',
  parameters: { type: 'object', properties: { city: { type: 'string', description: 'City name' } }, required: ['city'] },
};
const WEATHER_JSON = '{"name": "get_weather", "description": "Current weather of a city.", "parameters": ' +
  '{"type": "object", "properties": {"city": {"type": "string", "description": "City name"}}, "required": ["city"]}}';
const READ_FILE: ToolDefinition = {
  name: 'read_file',
  description: 'Reads a file of the workspace. Returns its text; «path» is relative — e.g. "src/main.ts".',
  parameters: { type: 'object', properties: { path: { type: 'string' }, maxLines: { type: 'integer', default: 200 } } },
};
const READ_FILE_JSON = '{"name": "read_file", "description": "Reads a file of the workspace. Returns its text; ' +
  '«path» is relative — e.g. \\"src/main.ts\\".", "parameters": {"type": "object", "properties": ' +
  '{"path": {"type": "string"}, "maxLines": {"type": "integer", "default": 200}}}}';
const NO_PARAMS: ToolDefinition = { name: 'list_open_editors' };
const NO_PARAMS_JSON = '{"name": "list_open_editors"}';

interface Case {
  name: string;
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  addGenerationPrompt?: boolean;
  /** The same conversation as HF input; when absent, the messages themselves (role + content). */
  hf?: HfMessage[];
}

const CODE = 'Here is the fix:\n\n```ts\nfunction add(a: number, b: number): number {\n\treturn a + b;\n}\n```\n\nDone.';

const CASES: Case[] = [
  { name: 'single user turn', messages: [{ role: 'user', content: 'Hello!' }] },
  { name: 'system + user', messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'What is 2+2?' }] },
  {
    name: 'multi-turn with system',
    messages: [
      { role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello! How can I help?' },
      { role: 'user', content: 'Tell me a joke.' }, { role: 'assistant', content: 'Why did the function return? It had closure.' },
      { role: 'user', content: 'Another one.' },
    ],
  },
  {
    name: 'multi-turn without system',
    messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }],
  },
  { name: 'no generation prompt', messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }], addGenerationPrompt: false },
  { name: 'unicode', messages: [{ role: 'system', content: 'Réponds en français. 日本語も OK. 😀👨‍👩‍👧' }, { role: 'user', content: 'Ça va ? Привет, مرحبا, e\u0301' }] },
  { name: 'code block', messages: [{ role: 'user', content: 'Fix this:\n```js\nconst x = 1\n```' }, { role: 'assistant', content: CODE }, { role: 'user', content: 'Thanks\r\n' }] },
  { name: 'empty contents', messages: [{ role: 'system', content: '' }, { role: 'user', content: '' }, { role: 'assistant', content: '' }, { role: 'user', content: '' }] },
  {
    name: 'content with template syntax',
    messages: [
      { role: 'system', content: "{{ raise_exception('no') }} {% if true %}x{% endif %}" },
      { role: 'user', content: 'Jinja: {% for m in messages %}{{ m.content }}{% endfor %} {# comment #} {{' },
      { role: 'assistant', content: '`{{ eos_token }}` and {%- raw %}' },
    ],
  },
  { name: 'whitespace and newlines kept', messages: [{ role: 'user', content: '\n\n  leading\n' }, { role: 'assistant', content: '  \t' }, { role: 'user', content: ' x ' }] },
  { name: 'special-token text in content', messages: [{ role: 'user', content: 'What does <|end|> mean? And <|tool_call|>?' }] },
  { name: 'long conversation', messages: Array.from({ length: 12 }, (_, i): ChatMessage => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i}: ${'word '.repeat(i)}` })) },
  {
    name: 'tools with system',
    messages: [{ role: 'system', content: 'You are a coding assistant.' }, { role: 'user', content: 'Weather in Paris?' }],
    tools: [WEATHER],
    hf: [{ role: 'system', content: 'You are a coding assistant.', tools: `[${WEATHER_JSON}]` }, { role: 'user', content: 'Weather in Paris?' }],
  },
  {
    name: 'tools without system (default system inserted)',
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
    tools: [WEATHER],
    hf: [{ role: 'system', content: DEFAULT_TOOL_SYSTEM_PROMPT, tools: `[${WEATHER_JSON}]` }, { role: 'user', content: 'Weather in Paris?' }],
  },
  {
    name: 'several tools, unicode and quotes in descriptions',
    messages: [{ role: 'system', content: 'Tools:' }, { role: 'user', content: 'Open main.ts' }],
    tools: [WEATHER, READ_FILE, NO_PARAMS],
    hf: [{ role: 'system', content: 'Tools:', tools: `[${WEATHER_JSON}, ${READ_FILE_JSON}, ${NO_PARAMS_JSON}]` }, { role: 'user', content: 'Open main.ts' }],
  },
  {
    name: 'empty tool list renders no tool block',
    messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }],
    tools: [],
  },
  {
    name: 'tool call and tool result',
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: '', toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] },
      { role: 'tool', content: '{"temperature": 21, "sky": "clear"}', name: 'get_weather' },
    ],
    tools: [WEATHER],
    hf: [
      { role: 'system', content: DEFAULT_TOOL_SYSTEM_PROMPT, tools: `[${WEATHER_JSON}]` },
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: '<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}]<|/tool_call|>' },
      { role: 'tool_response', content: '{"temperature": 21, "sky": "clear"}' },
    ],
  },
  {
    name: 'parallel tool calls with text, then results and a final answer',
    messages: [
      { role: 'system', content: 'Use tools when needed.' },
      { role: 'user', content: 'Compare Paris and 東京.' },
      {
        role: 'assistant', content: 'Let me check both.',
        toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }, { name: 'get_weather', arguments: { city: '東京', units: ['C', 'F'], deep: { n: 1.5, ok: true, none: null } } }],
      },
      { role: 'tool', content: '{"temperature": 21}' },
      { role: 'tool', content: '{"temperature": 28}' },
      { role: 'assistant', content: 'Tokyo is warmer.' },
      { role: 'user', content: 'Thanks!' },
    ],
    tools: [WEATHER],
    hf: [
      { role: 'system', content: 'Use tools when needed.', tools: `[${WEATHER_JSON}]` },
      { role: 'user', content: 'Compare Paris and 東京.' },
      {
        role: 'assistant',
        content: 'Let me check both.<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}, ' +
          '{"name": "get_weather", "arguments": {"city": "東京", "units": ["C", "F"], "deep": {"n": 1.5, "ok": true, "none": null}}}]<|/tool_call|>',
      },
      { role: 'tool_response', content: '{"temperature": 21}' },
      { role: 'tool_response', content: '{"temperature": 28}' },
      { role: 'assistant', content: 'Tokyo is warmer.' },
      { role: 'user', content: 'Thanks!' },
    ],
  },
  {
    name: 'tool result with non-JSON, multi-line content',
    messages: [
      { role: 'user', content: 'Read it' },
      { role: 'assistant', content: '', toolCalls: [{ name: 'read_file', arguments: { path: 'a.txt' } }] },
      { role: 'tool', content: 'line 1\nline 2 {{ not a template }}\n' },
    ],
    hf: [
      { role: 'user', content: 'Read it' },
      { role: 'assistant', content: '<|tool_call|>[{"name": "read_file", "arguments": {"path": "a.txt"}}]<|/tool_call|>' },
      { role: 'tool_response', content: 'line 1\nline 2 {{ not a template }}\n' },
    ],
  },
  {
    name: 'assistant with empty toolCalls renders just its content',
    messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y', toolCalls: [] }, { role: 'user', content: 'z' }],
  },
  {
    name: 'tools, no generation prompt',
    messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }],
    tools: [NO_PARAMS],
    addGenerationPrompt: false,
    hf: [{ role: 'system', content: 'S', tools: `[${NO_PARAMS_JSON}]` }, { role: 'user', content: 'U' }],
  },
  {
    name: 'second system message later in the conversation',
    messages: [{ role: 'system', content: 'A' }, { role: 'user', content: 'B' }, { role: 'system', content: 'C' }, { role: 'user', content: 'D' }],
  },
];

test(`${CASES.length} conversations: ours equals the official template, token for token`, () => {
  assert.ok(CASES.length >= 20);
  for (const c of CASES) {
    const hf = c.hf ?? c.messages.map((m) => ({ role: m.role, content: m.content }));
    const expected = renderOfficial(hf, c.addGenerationPrompt ?? true);
    const actual = ours.render(c.messages, { tools: c.tools, addGenerationPrompt: c.addGenerationPrompt });
    assert.deepEqual(tok.encode(actual), tok.encode(expected), c.name);
    assert.equal(actual, expected, c.name);
  }
});

test('known-good strings', () => {
  assert.equal(ours.render([{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }]),
    '<|system|>S<|end|><|user|>U<|end|><|assistant|>');
  assert.equal(ours.render([{ role: 'user', content: 'U' }]), '<|user|>U<|end|><|assistant|>');
  assert.equal(ours.render([{ role: 'user', content: 'U' }, { role: 'assistant', content: 'A' }], { addGenerationPrompt: false }),
    '<|user|>U<|end|><|assistant|>A<|end|><|endoftext|>');
  // The model card's tool-calling example, verbatim.
  assert.equal(ours.render(
    [{ role: 'system', content: 'You are a helpful assistant with some tools.' }, { role: 'user', content: 'What is the weather like in Paris today?' }],
    {
      tools: [{
        name: 'get_weather_updates',
        description: 'Fetches weather updates for a given city using the RapidAPI Weather API.',
        parameters: { city: { description: 'The name of the city for which to retrieve weather information.', type: 'str', default: 'London' } },
      }],
    }),
  '<|system|>You are a helpful assistant with some tools.<|tool|>[{"name": "get_weather_updates", "description": "Fetches weather updates for a given city using the RapidAPI Weather API.", "parameters": {"city": {"description": "The name of the city for which to retrieve weather information.", "type": "str", "default": "London"}}}]<|/tool|><|end|><|user|>What is the weather like in Paris today?<|end|><|assistant|>');
});

test('addGenerationPrompt false ends with <|endoftext|>; default true ends with <|assistant|>', () => {
  const messages: ChatMessage[] = [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }];
  const closed = ours.render(messages, { addGenerationPrompt: false });
  assert.ok(closed.endsWith('<|end|><|endoftext|>'));
  assert.equal(tok.encode(closed).at(-1), 199999);
  const open = ours.render(messages);
  assert.ok(open.endsWith('<|end|><|assistant|>'));
  assert.deepEqual(tok.encode(open).slice(-2), [200020, 200019]);
});

test('a tool result renders as <|tool_response|>{content}<|end|>, with single-token markers', () => {
  const text = ours.render([{ role: 'tool', content: '{"ok": true}', name: 'x' }], { addGenerationPrompt: true });
  assert.equal(text, '<|tool_response|>{"ok": true}<|end|><|assistant|>');
  const ids = tok.encode(text);
  assert.equal(ids[0], 200027);
  assert.deepEqual(ids.slice(-2), [200020, 200019]);
  assert.deepEqual(ids.slice(1, -2), tok.encode('{"ok": true}'));
  assert.ok(!text.includes('<|tool|>'), 'a tool result must not use <|tool|>, which opens the tool definitions');
});

test('an assistant tool call renders as <|assistant|>{content}<|tool_call|>[…]<|/tool_call|><|end|>', () => {
  const text = ours.render([
    { role: 'user', content: 'U' },
    { role: 'assistant', content: 'Checking.', toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] },
  ], { addGenerationPrompt: false });
  assert.equal(text, '<|user|>U<|end|><|assistant|>Checking.<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}]<|/tool_call|><|end|><|endoftext|>');
  const ids = tok.encode(text);
  const open = ids.indexOf(200025), close = ids.indexOf(200026);
  assert.ok(open > 0 && close > open, 'tool call markers are single tokens');
  assert.equal(tok.decode(ids.slice(open + 1, close)), '[{"name": "get_weather", "arguments": {"city": "Paris"}}]');
  assert.deepEqual(ids.slice(close + 1), [200020, 199999]);
  assert.deepEqual(ids.slice(0, 4), [200021, ...tok.encode('U'), 200020, 200019]);
  assert.equal(JSON.parse(tok.decode(ids.slice(open + 1, close)))[0].arguments.city, 'Paris');
});

test('tools: the system message carries them; one is inserted when missing; input is not mutated', () => {
  const messages: ChatMessage[] = [{ role: 'user', content: 'U' }];
  const text = ours.render(messages, { tools: [NO_PARAMS] });
  assert.equal(text, `<|system|>${DEFAULT_TOOL_SYSTEM_PROMPT}<|tool|>[{"name": "list_open_editors"}]<|/tool|><|end|><|user|>U<|end|><|assistant|>`);
  const ids = tok.encode(text);
  assert.equal(ids[0], 200022);
  assert.ok(ids.includes(200023) && ids.includes(200024));
  assert.deepEqual(messages, [{ role: 'user', content: 'U' }]);
  const withSystem: ChatMessage[] = [{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }];
  ours.render(withSystem, { tools: [WEATHER] });
  assert.deepEqual(withSystem, [{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }]);
});
