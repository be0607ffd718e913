// The turn runner's guard against the protocol's bounds (extension/turn/requestLimits.ts): a conversation past 8 MiB
// of text or 10,000 messages loses its oldest messages (never the system prompt or the latest message) instead of
// the whole request being refused; one within the bounds is sent as it is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withinRequestLimits } from '../../extension/turn/requestLimits';
import { REQUEST_LIMITS, type ChatMessage } from '../../sidecar/protocol';

const megabyte = 'x'.repeat(1 << 20);

test('within the bounds: the same messages, the same array', () => {
  const messages: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: megabyte }];
  assert.equal(withinRequestLimits(messages), messages);
});

test('past 8 MiB: the oldest turns go, the system prompt and the latest question stay', () => {
  const turns = 12; // 24 MiB of text in all
  const messages: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }];
  for (let i = 0; i < turns; i++) messages.push({ role: 'user', content: `${i}:${megabyte}` }, { role: 'assistant', content: `a${i}` });
  messages.push({ role: 'user', content: 'latest' });
  const kept = withinRequestLimits(messages);
  const chars = kept.reduce((n, m) => n + m.content.length + JSON.stringify(m.toolCalls ?? []).length, 0);
  assert.ok(chars <= REQUEST_LIMITS.requestChars, `${chars} characters`);
  assert.equal(kept[0].role, 'system');
  assert.equal(kept.at(-1)?.content, 'latest');
  // What stays is the newest part of the conversation, in order: a suffix of it after the system prompt.
  assert.deepEqual(kept.slice(1), messages.slice(messages.length - (kept.length - 1)));
  // And no more was dropped than needed: one more message would pass the bound.
  const next = messages[messages.length - kept.length];
  assert.ok(chars + next.content.length > REQUEST_LIMITS.requestChars);
});

test('past 10,000 messages: the oldest go', () => {
  const messages: ChatMessage[] = Array.from({ length: REQUEST_LIMITS.messages + 5 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: String(i) }));
  const kept = withinRequestLimits(messages);
  assert.equal(kept.length, REQUEST_LIMITS.messages);
  assert.equal(kept.at(-1), messages.at(-1));
});
