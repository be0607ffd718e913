// The extension's completion policy without VS Code: the cache (exact and typed-ahead hits), the debounce and its
// cancellation, the requester that puts them together, and when completions trigger by themselves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InlineCompletionParams, InlineCompletionResult } from '../../sidecar/protocol';
import { CompletionCache } from '../../extension/inline/completionCache';
import { CompletionRequester } from '../../extension/inline/completionRequester';
import { debounce, type Cancellation } from '../../extension/inline/debounce';
import { autoTriggerAllowed, completionsEnabledFor, prefixStartLine } from '../../extension/inline/triggerPolicy';

class Token implements Cancellation {
  isCancellationRequested = false;
  private listeners: (() => void)[] = [];
  cancel(): void {
    this.isCancellationRequested = true;
    for (const l of this.listeners.splice(0)) l();
  }
  onCancellationRequested(listener: () => void) {
    this.listeners.push(listener);
    return { dispose: () => { this.listeners = this.listeners.filter((l) => l !== listener); } };
  }
}

const key = (prefix: string, suffix = '\n}') => ({ document: 'file:///a.ts', prefix, suffix });
const result = (text: string, finishReason: InlineCompletionResult['finishReason'] = 'stop'): InlineCompletionResult => ({
  text, finishReason, mode: 'line', usage: { promptTokens: 10, reusedTokens: 0, completionTokens: 3 },
  timings: { timeToFirstTokenMs: 1, prefillMs: 1, prefillTokensPerSecond: 1, decodeMs: 1, decodeTokensPerSecond: 1, totalMs: 2 },
});
const params = (prefix: string): InlineCompletionParams => ({ languageId: 'typescript', prefix, suffix: '\n}' });

describe('completion cache', () => {
  it('answers the same position, and the rest of a suggestion the user is typing', () => {
    const cache = new CompletionCache();
    cache.set(key('const x = '), 'compute(42);');
    assert.equal(cache.get(key('const x = ')), 'compute(42);');
    assert.equal(cache.get(key('const x = comp')), 'ute(42);');
    assert.equal(cache.get(key('const x = compute(42);')), undefined, 'typed all of it: nothing left');
    assert.equal(cache.get(key('const x = cop')), undefined, 'typed something else');
    assert.equal(cache.get(key('const x = ', '\n}\n// changed')), undefined, 'the code after the cursor changed');
    assert.equal(cache.get({ ...key('const x = '), document: 'file:///b.ts' }), undefined, 'another document');
  });

  it('remembers "nothing to suggest" for the exact position only, and forgets the least recently used', () => {
    const cache = new CompletionCache(2);
    cache.set(key('a'), '');
    assert.equal(cache.get(key('a')), '');
    assert.equal(cache.get(key('ab')), undefined);
    cache.set(key('b'), 'x');
    cache.get(key('a'));
    cache.set(key('c'), 'y');
    assert.equal(cache.size, 2);
    assert.equal(cache.get(key('b')), undefined, 'b was the least recently used');
    assert.equal(cache.get(key('a')), '');
  });
});

describe('debounce', () => {
  it('waits, and gives up at once when cancelled', async () => {
    const t0 = performance.now();
    assert.equal(await debounce(40, new Token()), true);
    assert.ok(performance.now() - t0 >= 35);
    const token = new Token();
    const t1 = performance.now();
    const waiting = debounce(5000, token);
    setTimeout(() => token.cancel(), 10);
    assert.equal(await waiting, false);
    assert.ok(performance.now() - t1 < 1000);
    const cancelled = new Token();
    cancelled.cancel();
    assert.equal(await debounce(10, cancelled), false);
  });
});

describe('completion requester (stand-in sidecar fetch: TEST DOUBLE)', () => {
  function setup(answer: (p: InlineCompletionParams) => InlineCompletionResult = (p) => result(`<${p.prefix}>`)) {
    const calls: string[] = [];
    const requester = new CompletionRequester(async (p) => { calls.push(p.prefix); return answer(p); }, () => 60);
    return { calls, requester };
  }

  it('asks the model after the debounce and caches the answer; a cache hit skips both', async () => {
    const { calls, requester } = setup();
    const t0 = performance.now();
    const a = await requester.request({ key: key('x'), params: params('x'), explicit: false }, new Token());
    assert.equal(a?.text, '<x>');
    assert.ok(performance.now() - t0 >= 55, 'debounced');
    const t1 = performance.now();
    const b = await requester.request({ key: key('x'), params: params('x'), explicit: false }, new Token());
    assert.deepEqual([b?.text, b?.fromCache], ['<x>', true]);
    assert.ok(performance.now() - t1 < 30, 'no debounce on a hit');
    const c = await requester.request({ key: key('x<'), params: params('x<'), explicit: false }, new Token());
    assert.equal(c?.text, 'x>', 'typed-ahead hit');
    assert.deepEqual(calls, ['x']);
  });

  it('a newer keystroke wins: the older request, cancelled during its debounce, never reaches the model', async () => {
    const { calls, requester } = setup();
    const older = new Token();
    const first = requester.request({ key: key('a'), params: params('a'), explicit: false }, older);
    setTimeout(() => older.cancel(), 10);
    const second = requester.request({ key: key('ab'), params: params('ab'), explicit: false }, new Token());
    assert.equal(await first, undefined);
    assert.equal((await second)?.text, '<ab>');
    assert.deepEqual(calls, ['ab']);
  });

  it('an explicit request skips the debounce and asks again where "nothing" was cached', async () => {
    let n = 0;
    const { calls, requester } = setup(() => result(n++ === 0 ? '' : 'second try'));
    assert.equal((await requester.request({ key: key('q'), params: params('q'), explicit: false }, new Token()))?.text, '');
    const t0 = performance.now();
    assert.equal((await requester.request({ key: key('q'), params: params('q'), explicit: true }, new Token()))?.text, 'second try');
    assert.ok(performance.now() - t0 < 40, 'no debounce');
    assert.equal(calls.length, 2);
  });

  it('a cancelled answer (superseded, preempted) is neither shown nor cached', async () => {
    const { calls, requester } = setup(() => result('', 'cancelled'));
    assert.equal(await requester.request({ key: key('z'), params: params('z'), explicit: false }, new Token()), undefined);
    assert.equal(requester.cache.size, 0);
    assert.equal(calls.length, 1);
  });
});

describe('trigger policy', () => {
  it('does not trigger by itself mid-word or with code right of the cursor', () => {
    assert.equal(autoTriggerAllowed('const va', 'lue = 1;').ok, false);
    assert.equal(autoTriggerAllowed('foo(', 'bar)').ok, false);
    assert.equal(autoTriggerAllowed('    ', 'return x;').ok, false);
    assert.equal(autoTriggerAllowed('const x = ', '').ok, true);
    assert.equal(autoTriggerAllowed('call(', ');').ok, true, 'auto-closed punctuation is fine');
    assert.equal(autoTriggerAllowed('const na', '').ok, true, 'the end of a word at the end of the line');
  });

  it('reads the per-language enable setting like Copilot\'s', () => {
    const setting = { '*': true, plaintext: false };
    assert.equal(completionsEnabledFor('typescript', setting), true);
    assert.equal(completionsEnabledFor('plaintext', setting), false);
    assert.equal(completionsEnabledFor('python', { '*': false, python: true }), true);
    assert.equal(completionsEnabledFor('go', { '*': false }), false);
    assert.equal(completionsEnabledFor('go', undefined), true);
  });

  it('keeps the prefix window start fixed while the cursor moves within a band of lines', () => {
    assert.equal(prefixStartLine(10), 0);
    assert.equal(prefixStartLine(200), prefixStartLine(205));
    assert.ok(200 - prefixStartLine(200) >= 150 && 200 - prefixStartLine(200) < 150 + 32);
  });
});
