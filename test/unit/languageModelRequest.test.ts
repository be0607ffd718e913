// The language-model provider's pure parts (extension/lm/): VS Code request messages → the Phi-4 template's
// messages. (Fitting a conversation into the context is the sidecar's now: test/unit/contextTrim.test.ts.) The parts
// here are plain objects of the API's shapes (the mapping reads parts by shape, as the extension host hands them over).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toChatMessages, toolResultText } from '../../extension/lm/requestMessages';
import { trimNotice } from '../../sidecar/chat/contextTrim';
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
