// The extension's completion policy without VS Code: the cache (exact and typed-ahead hits), the debounce and its
// cancellation, the requester that puts them together, and when completions trigger by themselves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InlineCompletionParams, InlineCompletionResult } from '../../sidecar/protocol';
import { CompletionCache } from '../../extension/inline/completionCache';
import { CompletionRequester } from '../../extension/inline/completionRequester';
import { debounce, type Cancellation, type Timer } from '../../extension/inline/debounce';
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

/**
 * TEST DOUBLE: a clock that moves only when the test advances it. The debounce tests count what happened at each
 * point of this clock (timers set, timers pending, fetches made), so no result depends on the machine's speed or load.
 */
class ManualTimer implements Timer {
  now = 0;
  /** Timers ever set (a cache hit or an explicit request must set none). */
  setCount = 0;
  private nextId = 0;
  private readonly pending = new Map<number, { due: number; callback: () => void }>();
  set(callback: () => void, ms: number): number {
    this.setCount++;
    this.pending.set(++this.nextId, { due: this.now + ms, callback });
    return this.nextId;
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** When the pending timers are due, earliest first. */
  dueTimes(): number[] {
    return [...this.pending.values()].map((t) => t.due).sort((a, b) => a - b);
  }
  /** Moves the clock by `ms`, firing every timer due by then, in order. */
  advance(ms: number): void {
    this.now += ms;
    for (;;) {
      const next = [...this.pending.entries()].filter(([, t]) => t.due <= this.now).sort((a, b) => a[1].due - b[1].due)[0];
      if (!next) return;
      this.pending.delete(next[0]);
      next[1].callback();
    }
  }
}

/**
 * Whether `promise` has settled once every queued microtask has run (setImmediate runs after them): a promise
 * still pending then waits for something else, here a timer of the manual clock. No wall-clock time is involved.
 */
async function settled<T>(promise: Promise<T>): Promise<{ value: T } | 'pending'> {
  return Promise.race([promise.then((value) => ({ value })), new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);
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

describe('debounce (TEST DOUBLE: manual clock)', () => {
  it('waits exactly its delay on the given clock, then resolves true', async () => {
    const timer = new ManualTimer();
    const waiting = debounce(40, new Token(), timer);
    assert.deepEqual(timer.dueTimes(), [40], 'one timer, due 40 ms after the call');
    timer.advance(39);
    assert.equal(await settled(waiting), 'pending', '1 ms before the delay it still waits');
    timer.advance(1);
    assert.deepEqual(await settled(waiting), { value: true }, 'at the delay it resolves');
  });

  it('gives up at once when cancelled: false with the clock not moved, and its timer cleared', async () => {
    const timer = new ManualTimer();
    const token = new Token();
    const waiting = debounce(5000, token, timer);
    assert.equal(await settled(waiting), 'pending');
    token.cancel();
    // "At once": it settles with the clock still at 0, i.e. without any of the 5000 ms passing.
    assert.deepEqual(await settled(waiting), { value: false });
    assert.equal(timer.now, 0);
    assert.deepEqual(timer.dueTimes(), [], 'the timer was cleared');
  });

  it('an already cancelled token: false without setting a timer', async () => {
    const timer = new ManualTimer();
    const cancelled = new Token();
    cancelled.cancel();
    assert.deepEqual(await settled(debounce(10, cancelled, timer)), { value: false });
    assert.equal(timer.setCount, 0);
  });

  it('by default waits on the real timers (no bound on how long: only that it resolves true)', async () => {
    assert.equal(await debounce(1, new Token()), true);
  });
});

describe('completion requester (TEST DOUBLES: stand-in sidecar fetch, manual clock)', () => {
  const DEBOUNCE_MS = 60;
  function setup(answer: (p: InlineCompletionParams) => InlineCompletionResult = (p) => result(`<${p.prefix}>`)) {
    const calls: string[] = [];
    const timer = new ManualTimer();
    const requester = new CompletionRequester(async (p) => { calls.push(p.prefix); return answer(p); }, () => DEBOUNCE_MS, undefined, timer);
    return { calls, requester, timer };
  }

  it('asks the model after the debounce and caches the answer; a cache hit skips both', async () => {
    const { calls, requester, timer } = setup();
    const a = requester.request({ key: key('x'), params: params('x'), explicit: false }, new Token());
    assert.deepEqual(timer.dueTimes(), [DEBOUNCE_MS], 'debounced: one timer of the configured delay');
    timer.advance(DEBOUNCE_MS - 1);
    assert.equal(await settled(a), 'pending');
    assert.deepEqual(calls, [], 'the model is not asked before the delay is over');
    timer.advance(1);
    assert.equal((await a)?.text, '<x>');
    assert.deepEqual(calls, ['x']);

    const setBefore = timer.setCount;
    const b = await settled(requester.request({ key: key('x'), params: params('x'), explicit: false }, new Token()));
    assert.ok(b !== 'pending', 'a hit answers without the clock moving');
    assert.deepEqual([b.value?.text, b.value?.fromCache], ['<x>', true]);
    const c = await settled(requester.request({ key: key('x<'), params: params('x<'), explicit: false }, new Token()));
    assert.ok(c !== 'pending');
    assert.equal(c.value?.text, 'x>', 'typed-ahead hit');
    assert.equal(timer.setCount, setBefore, 'no debounce on a hit');
    assert.deepEqual(calls, ['x'], 'the model was asked once');
  });

  it('a newer keystroke wins: the older request, cancelled during its debounce, never reaches the model', async () => {
    const { calls, requester, timer } = setup();
    const older = new Token();
    const first = requester.request({ key: key('a'), params: params('a'), explicit: false }, older);
    timer.advance(10);
    older.cancel();
    const second = requester.request({ key: key('ab'), params: params('ab'), explicit: false }, new Token());
    assert.deepEqual(await settled(first), { value: undefined }, 'the older one ends when cancelled, before its delay');
    assert.deepEqual(timer.dueTimes(), [10 + DEBOUNCE_MS], "only the newer request's timer is left");
    timer.advance(DEBOUNCE_MS);
    assert.equal((await second)?.text, '<ab>');
    assert.deepEqual(calls, ['ab']);
  });

  it('an explicit request skips the debounce and asks again where "nothing" was cached', async () => {
    let n = 0;
    const { calls, requester, timer } = setup(() => result(n++ === 0 ? '' : 'second try'));
    const first = requester.request({ key: key('q'), params: params('q'), explicit: false }, new Token());
    timer.advance(DEBOUNCE_MS);
    assert.equal((await first)?.text, '');
    const setBefore = timer.setCount;
    const explicit = await settled(requester.request({ key: key('q'), params: params('q'), explicit: true }, new Token()));
    assert.ok(explicit !== 'pending', 'answered without the clock moving');
    assert.equal(explicit.value?.text, 'second try');
    assert.equal(timer.setCount, setBefore, 'no debounce');
    assert.equal(calls.length, 2);
  });

  it('a cancelled answer (superseded, preempted) is neither shown nor cached', async () => {
    const { calls, requester, timer } = setup(() => result('', 'cancelled'));
    const answer = requester.request({ key: key('z'), params: params('z'), explicit: false }, new Token());
    timer.advance(DEBOUNCE_MS);
    assert.equal(await answer, undefined);
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
