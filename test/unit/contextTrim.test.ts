// The context policy of phi/chat (sidecar/chat/contextTrim.ts, moved from the extension with these tests): whole
// turns left out from the oldest, the system messages and the latest turn kept, the same turns left out again, the
// answer's share, and the notice (whose removal, like the answer's share, is the protocol's: the extension uses it too).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerReserve, trimNotice, trimTarget, trimToContext, withoutTrimNotice } from '../../sidecar/chat/contextTrim';
import type { ChatMessage } from '../../sidecar/protocol';

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

  it('the notice phi/chat writes is the one the protocol\'s withoutTrimNotice removes (the extension uses that one)', () => {
    for (const dropped of [1, 7, 1000]) assert.equal(withoutTrimNotice(`${trimNotice(dropped, 4096)}Answer.`), 'Answer.');
    for (const [context, max, reserve] of [[4096, 1024, 1024], [1024, 1024, 512], [512, 24, 24], [1, 1024, 1], [131_072, 100_000, 65_536]]) {
      assert.equal(answerReserve(context, max), reserve);
    }
  });
});
