// Constrained tool calls on the random-weight tiny model (Phi-4-mini's real 200,064-token vocabulary): with a required
// call and sampling at temperature 1, every call is valid JSON naming a declared tool with arguments that validate,
// while the same runs without the constraint give nothing usable: the constraint does all the work.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Ajv from 'ajv';
import { Generator } from '../../sidecar/engine/generate';
import { readModelFolder } from '../../sidecar/engine/modelFolder';
import { OrtBackend } from '../../sidecar/engine/ortBackend';
import { PromptBuilder } from '../../sidecar/engine/promptBuilder';
import { ReplayScript } from '../../sidecar/engine/replay';
import type { ChatMessage, ToolDefinition } from '../../sidecar/engine/template';
import { parseToolCalls } from '../../sidecar/toolCalls/toolCallParser';
import { ensureModel } from '../fixtures/models';

const notCancelled = { aborted: false };

// Four shapes: an enum; a string with optional integer and boolean; a nested object; arrays of strings and of an
// enum. Random weights never end a string or a number by themselves, so the schemas bound them (maxLength, maximum,
// maxItems): the grammar enforces those bounds as well, and every call ends within the token limit.
const tools: ToolDefinition[] = [
  {
    name: 'set_theme',
    description: 'Switch the color theme.',
    parameters: { type: 'object', properties: { theme: { type: 'string', enum: ['light', 'dark', 'high-contrast'] } }, required: ['theme'], additionalProperties: false },
  },
  {
    name: 'open_file',
    description: 'Open a file, optionally at a line.',
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string', maxLength: 20 },
        line: { type: 'integer', minimum: 1, maximum: 9999 },
        preview: { type: 'boolean' },
      },
      required: ['path'],
      additionalProperties: false,
    },
  },
  {
    name: 'move_cursor',
    description: 'Move the cursor.',
    parameters: {
      type: 'object',
      properties: {
        position: {
          type: 'object',
          properties: { line: { type: 'integer', minimum: 0, maximum: 999 }, character: { type: 'integer', minimum: 0, maximum: 999 } },
          required: ['line', 'character'],
          additionalProperties: false,
        },
        select: { type: 'boolean' },
      },
      required: ['position'],
      additionalProperties: false,
    },
  },
  {
    name: 'tag_files',
    description: 'Tag files.',
    parameters: {
      type: 'object',
      properties: {
        paths: { type: 'array', items: { type: 'string', maxLength: 12 }, minItems: 1, maxItems: 2 },
        tags: { type: 'array', items: { type: 'string', enum: ['bug', 'docs', 'test'] }, maxItems: 3 },
      },
      required: ['paths', 'tags'],
      additionalProperties: false,
    },
  },
];

const conversation: ChatMessage[] = [{ role: 'user', content: 'Tidy up the workspace.' }];

describe('constrained tool calls (tiny model, random weights)', () => {
  let ort: OrtBackend;
  let prompts: PromptBuilder;
  let generator: Generator;
  const folder = readModelFolder(ensureModel('tiny'));
  // An independent check: ajv straight on each tool's schema (not the sidecar's validator).
  const ajv = new Ajv({ strict: false });
  const validators = new Map(tools.map((t) => [t.name, ajv.compile(t.parameters!)]));

  before(async () => {
    ort = await OrtBackend.create(folder.onnxFile, folder.config, { executionProvider: 'cpu', threads: 2 });
    prompts = PromptBuilder.fromFolder(folder);
    generator = new Generator(ort, prompts, folder.config);
  });
  after(() => ort?.release());

  it('200 sampled calls are all valid JSON, name a declared tool and validate against its schema', async () => {
    const names = new Map<string, number>();
    let calls = 0;
    for (let seed = 1; calls < 200; seed++) {
      const deltas: string[] = [];
      const r = await generator.generate(
        { messages: conversation, tools, toolChoice: 'required', maxNewTokens: 400, sampling: { temperature: 1, seed } },
        notCancelled, { onText: (t) => deltas.push(t) });
      assert.equal(r.finishReason, 'tool-call', `seed ${seed}: ${JSON.stringify(r.toolCall)}`);
      assert.equal(r.toolCall?.closed, true);
      assert.equal(r.text, '', 'a required call comes first');
      assert.deepEqual(deltas, [], 'the call is not streamed as text');
      assert.equal(r.tokenIds[0], prompts.tokenizer.tokenToId('<|tool_call|>'));
      assert.equal(r.tokenIds.at(-1), prompts.tokenizer.tokenToId('<|/tool_call|>'));
      // Strict JSON, no repair.
      const list = JSON.parse(r.toolCall!.text) as Array<{ name: string; arguments: unknown }>;
      assert.ok(Array.isArray(list) && list.length >= 1, r.toolCall!.text);
      for (const call of list) {
        assert.deepEqual(Object.keys(call), ['name', 'arguments'], r.toolCall!.text);
        const validate = validators.get(call.name);
        assert.ok(validate, `seed ${seed}: undeclared tool ${call.name}`);
        assert.ok(validate(call.arguments), `seed ${seed}: ${JSON.stringify(call)}: ${ajv.errorsText(validate.errors)}`);
        names.set(call.name, (names.get(call.name) ?? 0) + 1);
        calls++;
      }
      // And the sidecar's own parser takes it as it is.
      assert.deepEqual(parseToolCalls(r.toolCall!.text, tools), { ok: true, calls: list });
    }
    assert.ok(calls >= 200);
    assert.equal(names.size, tools.length, `every tool was called: ${JSON.stringify([...names])}`);
  });

  it('without the constraint, the same runs give no usable call', async () => {
    let usable = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const r = await generator.generate(
        { messages: conversation, tools, toolChoice: 'required', constrainToolCalls: false, maxNewTokens: 40, sampling: { temperature: 1, seed } },
        notCancelled);
      assert.ok(r.toolCall, 'the call token is still forced');
      if (parseToolCalls(r.toolCall.text, tools).ok) usable++;
    }
    assert.equal(usable, 0);
  });

  it('a call list respects maxToolCalls', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = await generator.generate(
        { messages: conversation, tools, toolChoice: 'required', maxToolCalls: 1, maxNewTokens: 400, sampling: { temperature: 1, seed } },
        notCancelled);
      assert.equal(r.finishReason, 'tool-call');
      assert.equal((JSON.parse(r.toolCall!.text) as unknown[]).length, 1);
    }
  });

  it('a call ends the generation and its tokens come back, and the next turn reuses them all (replay)', async () => {
    const call = '[{"name": "set_theme", "arguments": {"theme": "dark"}}]';
    const replay = new ReplayScript('inline', [`Switching.<|tool_call|>${call}<|/tool_call|>`, 'Done.']);
    const replayed = new Generator(ort, prompts, folder.config, { replay });
    replayed.reset();
    const deltas: string[] = [];
    const first = await replayed.generate({ messages: conversation, tools }, notCancelled, { onText: (t) => deltas.push(t) });
    assert.equal(first.finishReason, 'tool-call');
    assert.equal(first.text, 'Switching.');
    assert.equal(deltas.join(''), 'Switching.', 'no call text in the stream');
    assert.deepEqual(first.toolCall, { text: call, closed: true });
    const next: ChatMessage[] = [
      ...conversation,
      { role: 'assistant', content: first.text, toolCalls: [{ name: 'set_theme', arguments: { theme: 'dark' } }] },
      { role: 'tool', name: 'set_theme', content: '{"ok": true}' },
    ];
    const second = await replayed.generate({ messages: next, tools }, notCancelled);
    // Everything the cache holds (the prompt, and the call but its last token, which was never fed) is reused.
    assert.equal(second.usage.reusedTokens, first.usage.promptTokens + first.tokenIds.length - 1);
    assert.equal(second.text, 'Done.');
    assert.equal(second.finishReason, 'stop');
    await assert.rejects(replayed.generate({ messages: next, tools }, notCancelled), /Replay mode: all 2 replies/);
  });
});
