// The language-model provider's pure parts (extension/lm/): VS Code request messages → the Phi-4 template's
// messages, and fitting a conversation into the context from the oldest turn with a notice. The parts here are
// plain objects of the API's shapes (the mapping reads parts by shape, as the extension host hands them over).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerReserve, trimNotice, trimTarget, trimToContext, withoutTrimNotice } from '../../extension/contextTrim';
import { toChatMessages, toolResultText } from '../../extension/lm/requestMessages';
import type { ChatMessage } from '../../sidecar/protocol';

const text = (value: string) => ({ value });
const call = (callId: string, name: string, input: object) => ({ callId, name, input });
const result = (callId: string, content: unknown[]) => ({ callId, content });
const data = (value: string, mimeType: string) => ({ mimeType, data: new TextEncoder().encode(value) });
const USER = 1;
const ASSISTANT = 2;
const SYSTEM = 3;

describe('toChatMessages', () => {
  it('maps user, assistant and system text', () => {
    assert.deepEqual(toChatMessages([
      { role: SYSTEM, content: [text('Be brief.')] },
      { role: USER, content: [text('Hello '), text('there')] },
      { role: ASSISTANT, content: [text('Hi!')] },
    ]), [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hello there' },
      { role: 'assistant', content: 'Hi!' },
    ]);
  });

  it('maps tool calls onto the assistant message and each tool result to a tool message, in order', () => {
    const messages = toChatMessages([
      { role: USER, content: [text('Weather in Paris and Rome?')] },
      { role: ASSISTANT, content: [text('Checking.'), call('c1', 'weather', { city: 'Paris' }), call('c2', 'weather', { city: 'Rome' })] },
      { role: USER, content: [result('c1', [text('21 C')]), result('c2', [text('25 '), text('C')]), text('And tomorrow?')] },
    ]);
    assert.deepEqual(messages, [
      { role: 'user', content: 'Weather in Paris and Rome?' },
      { role: 'assistant', content: 'Checking.', toolCalls: [{ name: 'weather', arguments: { city: 'Paris' } }, { name: 'weather', arguments: { city: 'Rome' } }] },
      { role: 'tool', content: '21 C', name: 'weather' },
      { role: 'tool', content: '25 C', name: 'weather' },
      { role: 'user', content: 'And tomorrow?' },
    ] satisfies ChatMessage[]);
  });

  it('reads text-like data parts and leaves out the others (cache markers, images)', () => {
    assert.deepEqual(toChatMessages([
      { role: USER, content: [text('See: '), data('{"a": 1}', 'application/json'), data('ephemeral', 'cache_control'), data('\x89PNG', 'image/png')] },
    ]), [{ role: 'user', content: 'See: {"a": 1}' }]);
  });

  it('takes the text out of prompt-tsx tool results', () => {
    const tsx = { value: { node: { type: 1, children: [{ type: 2, text: 'line 1\n' }, { type: 1, children: [{ type: 2, text: 'line 2' }] }] } } };
    assert.equal(toolResultText([tsx]), 'line 1\nline 2');
  });

  it('leaves out empty messages, and our own trim notice in earlier answers', () => {
    assert.deepEqual(toChatMessages([
      { role: USER, content: [text('  ')] },
      { role: USER, content: [text('Q')] },
      { role: ASSISTANT, content: [text(trimNotice(3, 8192)), text('The answer.')] },
    ]), [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'The answer.' }]);
  });
});

describe('trimToContext', () => {
  const conversation: ChatMessage[] = [
    { role: 'system', content: 's' },
    { role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' },
    { role: 'user', content: 'q2' }, { role: 'assistant', content: '', toolCalls: [{ name: 't', arguments: {} }] }, { role: 'tool', content: 'r' },
    { role: 'assistant', content: 'a2' },
    { role: 'user', content: 'q3' },
  ];
  const per = [5, 10, 10, 10, 10, 10, 10, 10];
  const total = 5 + 70 + 3; // the template adds a few tokens of its own

  it('keeps everything that fits', () => {
    const r = trimToContext(conversation, per, total, 100);
    assert.ok(r.fits);
    assert.equal(r.dropped, 0);
    assert.equal(r.messages.length, conversation.length);
  });

  it('drops whole turns from the oldest, keeping the system message and the latest turn', () => {
    const one = trimToContext(conversation, per, total, 60);
    assert.ok(one.fits);
    assert.equal(one.dropped, 2);
    assert.deepEqual(one.messages.map((m) => m.content), ['s', 'q2', '', 'r', 'a2', 'q3']);
    assert.equal(one.tokens, 58);
    // A turn's tool call and result go together with it.
    const two = trimToContext(conversation, per, total, 20);
    assert.ok(two.fits);
    assert.deepEqual(two.messages.map((m) => m.content), ['s', 'q3']);
  });

  it('says when even the latest turn does not fit', () => {
    const r = trimToContext(conversation, per, total, 10);
    assert.equal(r.fits, false);
    assert.equal(r.tokens, 18);
  });

  it('once turns must go, goes down to the target, so that the next questions fit on the same prompt start', () => {
    const r = trimToContext(conversation, per, total, 70, { target: 20 });
    assert.ok(r.fits);
    assert.equal(r.droppedTurns, 2);
    assert.deepEqual(r.messages.map((m) => m.content), ['s', 'q3']);
  });

  it('leaves out again the turns it left out last time, though fewer would do; nothing while all fits', () => {
    const again = trimToContext(conversation, per, total, 70, { leftOutBefore: 2 });
    assert.ok(again.fits);
    assert.equal(again.droppedTurns, 2);
    assert.deepEqual(again.messages.map((m) => m.content), ['s', 'q3']);
    // What is left after those fits the budget: no further cut, though it is over the target.
    const same = trimToContext(conversation, per, total, 70, { leftOutBefore: 1, target: 20 });
    assert.ok(same.fits);
    assert.equal(same.droppedTurns, 1);
    const fits = trimToContext(conversation, per, total, 100, { leftOutBefore: 2 });
    assert.ok(fits.fits);
    assert.equal(fits.dropped, 0);
    // Never the latest turn, whatever was left out before.
    const latest = trimToContext(conversation, per, total, 70, { leftOutBefore: 9 });
    assert.ok(latest.fits);
    assert.deepEqual(latest.messages.map((m) => m.content), ['s', 'q3']);
  });

  it('keeps at most half the context for the answer, and trims a quarter below the budget', () => {
    assert.equal(answerReserve(4096, 1024), 1024);
    assert.equal(answerReserve(1024, 1024), 512);
    assert.equal(trimTarget(3072), 2304);
  });

  it('the notice is a line of its own that later requests recognise', () => {
    const notice = trimNotice(1, 4096);
    assert.match(notice, /the oldest message of this conversation was left out to fit the model's context of 4096 tokens/);
    assert.equal(withoutTrimNotice(`${notice}Answer.`), 'Answer.');
    assert.equal(withoutTrimNotice('*Phi Local: something else*\n\nAnswer.'), '*Phi Local: something else*\n\nAnswer.');
  });
});
