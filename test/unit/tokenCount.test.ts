// phi/countTokens' counter (sidecar/tokenCount.ts) against the engine's own prompt builder, on the tiny model's
// folder (its tokenizer and template are the real Phi-4-mini ones).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { readModelFolder } from '../../sidecar/engine/modelFolder';
import { PromptBuilder } from '../../sidecar/engine/promptBuilder';
import type { ChatMessage } from '../../sidecar/engine/template';
import { TokenCounter } from '../../sidecar/tokenCount';
import { ensureModel } from '../fixtures/models';

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
    assert.equal(result.tokens, prompts.render(messages, tools).ids.length);
    assert.equal(result.perMessage?.length, 4);
    // `<|user|>` + text + `<|end|>`.
    assert.equal(result.perMessage?.[1], prompts.tokenizer.encode('What is the weather in Paris?').length + 2);
  });

  it('says what to do when no model is loaded', () => {
    assert.throws(() => new TokenCounter().count(undefined, { text: 'hi' }), /No model is loaded/);
  });
});
