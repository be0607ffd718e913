// phi/countTokens' counter (sidecar/engine/tokenCounter.ts) against the engine's own prompt builder, on the tiny model's
// folder (its tokenizer and template are the real Phi-4-mini ones).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { readModelFolder } from '../../sidecar/engine/modelFolder';
import { PromptBuilder } from '../../sidecar/prompt/promptBuilder';
import type { ChatMessage } from '../../sidecar/prompt/template';
import { TokenCounter } from '../../sidecar/prompt/tokenCounter';
import { ensureModel } from '../fixtures/models';

/** Phi-4-mini's marker tokens and their ids (../shared/reference/phi4-format.md §3, tokenizer.json added_tokens). */
const MARKER = {
  '<|assistant|>': 200019,
  '<|end|>': 200020,
  '<|user|>': 200021,
  '<|system|>': 200022,
  '<|tool|>': 200023,
  '<|/tool|>': 200024,
  '<|tool_call|>': 200025,
  '<|/tool_call|>': 200026,
  '<|tool_response|>': 200027,
} as const;

describe('TokenCounter', () => {
  let dir: string;
  let prompts: PromptBuilder;
  before(() => {
    dir = ensureModel('tiny');
    prompts = PromptBuilder.fromFolder(readModelFolder(dir));
  });

  it('counts text as the tokenizer splits it inside a message, markup included as text', () => {
    const counter = new TokenCounter();
    const text = 'def add(a, b):\n    return a + b  # naïve ünïcode 🙂';
    assert.equal(counter.count(dir, { text }).tokens, prompts.tokenizer.encode(text).length);
    assert.equal(counter.count(dir, { text: '' }).tokens, 0);
    // `<|end|>` typed by a user is several text tokens, not the one special token.
    assert.ok(counter.count(dir, { text: '<|end|>' }).tokens > 1);
  });

  it('counts a conversation as the prompt the engine renders, and each message with its role markers', () => {
    const counter = new TokenCounter();
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is the weather in Paris?' },
      { role: 'assistant', content: '', toolCalls: [{ name: 'weather', arguments: { city: 'Paris' } }] },
      { role: 'tool', content: '{"celsius": 21}' },
    ];
    const tools = [{ name: 'weather', description: 'The weather in a city.', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    const result = counter.count(dir, { messages, tools });

    // The expected prompt, written out by hand from the Phi-4 format (../shared/reference/phi4-format.md §3.1:
    // `<|{role}|>{content}<|end|>`, tools as a JSON string between `<|tool|>` and `<|/tool|>` in the system message,
    // `<|assistant|>` last) and what sidecar/engine/template.ts documents that it adds (tool results as
    // `<|tool_response|>…<|end|>`, calls as `<|tool_call|>[…]<|/tool_call|>`, JSON in Python json.dumps style).
    // Each marker is one token with its known id; the text between markers holds no `<|`, so it is tokenized on its
    // own (added tokens are split off before BPE). Neither PromptBuilder nor ChatTemplate is used to build it.
    for (const [token, id] of Object.entries(MARKER)) assert.equal(prompts.tokenizer.tokenToId(token), id, `${token} is id ${id}`);
    const text = (s: string) => prompts.tokenizer.encode(s);
    const m = (token: keyof typeof MARKER) => MARKER[token];
    const toolsJson = '[{"name": "weather", "description": "The weather in a city.", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]';
    const callJson = '[{"name": "weather", "arguments": {"city": "Paris"}}]';
    const toolBlock = [m('<|tool|>'), ...text(toolsJson), m('<|/tool|>')];
    const perMessage = [
      [m('<|system|>'), ...text('Be brief.'), m('<|end|>')],
      [m('<|user|>'), ...text('What is the weather in Paris?'), m('<|end|>')],
      [m('<|assistant|>'), m('<|tool_call|>'), ...text(callJson), m('<|/tool_call|>'), m('<|end|>')],
      [m('<|tool_response|>'), ...text('{"celsius": 21}'), m('<|end|>')],
    ];
    // The tools go inside the system message, before its `<|end|>`; the prompt ends with the generation prompt.
    const expected = [...perMessage[0].slice(0, -1), ...toolBlock, m('<|end|>'), ...perMessage.slice(1).flat(), m('<|assistant|>')];

    assert.equal(result.tokens, expected.length);
    // The count is of these very tokens, not just of as many: the engine's prompt is the hand-written one.
    assert.deepEqual(prompts.render(messages, tools).ids, expected);
    // Each message alone, with its role markers (the tool block belongs to the conversation, not to a message).
    assert.deepEqual(result.perMessage, perMessage.map((ids) => ids.length));
    assert.equal(result.tokens, perMessage.flat().length + toolBlock.length + 1, 'messages + tool block + `<|assistant|>`');
  });

  it('says what to do when no model is loaded', () => {
    assert.throws(() => new TokenCounter().count(undefined, { text: 'hi' }), /No model is loaded/);
  });
});
