// The scheduler's policy on fake jobs, then the engine (its real worker thread, the tiny model) under it:
// interactive first, completions superseded by newer ones, and a chat that arrives while a completion runs
// starting within one decode step.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Engine, type EngineResult } from '../../sidecar/engine/engine';
import { MAX_WAITING_INTERACTIVE, Scheduler, type CancelCause, type Job, type Priority } from '../../sidecar/engine/scheduler';
import { EngineError } from '../../sidecar/engineError';
import type { ChatMessage } from '../../sidecar/prompt/template';
import { ensureModel } from '../fixtures/models';

class FakeJob implements Job {
  readonly events: string[] = [];
  constructor(readonly name: string, readonly priority: Priority, private readonly log: string[]) {}
  start(): void { this.log.push(`start ${this.name}`); }
  stop(cause: CancelCause): void { this.log.push(`stop ${this.name} (${cause})`); }
  drop(cause: CancelCause): void { this.log.push(`drop ${this.name} (${cause})`); }
}

describe('scheduler policy (fake jobs)', () => {
  it('runs interactive jobs first, in order, and background ones only when none waits', () => {
    const log: string[] = [];
    const s = new Scheduler<FakeJob>();
    const a = new FakeJob('chat-a', 'interactive', log);
    const c = new FakeJob('completion', 'background', log);
    const b = new FakeJob('chat-b', 'interactive', log);
    s.submit(a);
    s.submit(c);
    s.submit(b);
    assert.deepEqual(s.queued.map((j) => j.name), ['chat-b', 'completion']);
    s.finished(a);
    s.finished(b);
    s.finished(c);
    assert.deepEqual(log, ['start chat-a', 'start chat-b', 'start completion']);
    assert.equal(s.running, undefined);
  });

  it('a newer completion supersedes a waiting one (dropped) and a running one (stopped)', () => {
    const log: string[] = [];
    const s = new Scheduler<FakeJob>();
    const c1 = new FakeJob('c1', 'background', log);
    const c2 = new FakeJob('c2', 'background', log);
    const c3 = new FakeJob('c3', 'background', log);
    s.submit(c1);
    s.submit(c2);
    s.submit(c3);
    s.finished(c1);
    assert.deepEqual(log, ['start c1', 'stop c1 (superseded)', 'drop c2 (superseded)', 'stop c1 (superseded)', 'start c3']);
  });

  it('an interactive job preempts a running completion, which the queue does not restart', () => {
    const log: string[] = [];
    const s = new Scheduler<FakeJob>();
    const c = new FakeJob('completion', 'background', log);
    const chat = new FakeJob('chat', 'interactive', log);
    s.submit(c);
    s.submit(chat);
    s.finished(c);
    s.finished(chat);
    assert.deepEqual(log, ['start completion', 'stop completion (preempted)', 'start chat']);
  });

  it('a caller cancel drops a waiting job at once and stops a running one', () => {
    const log: string[] = [];
    const s = new Scheduler<FakeJob>();
    const a = new FakeJob('a', 'interactive', log);
    const b = new FakeJob('b', 'interactive', log);
    s.submit(a);
    s.submit(b);
    s.cancel(b);
    s.cancel(a);
    s.finished(a);
    assert.deepEqual(log, ['start a', 'drop b (caller)', 'stop a (caller)']);
    assert.equal(s.running, undefined);
  });
});

describe('scheduler bound (fake jobs)', () => {
  it('takes interactive jobs until the waiting line is full, then refuses them; completions are always taken', () => {
    const s = new Scheduler<FakeJob>(3);
    const log: string[] = [];
    for (let i = 0; i < 4; i++) {
      assert.equal(s.accepts('interactive'), true, `job ${i}`);
      s.submit(new FakeJob(`chat-${i}`, 'interactive', log));
    }
    assert.equal(s.queued.length, 3, 'one runs, three wait');
    assert.equal(s.accepts('interactive'), false);
    assert.equal(s.accepts('background'), true);
    s.finished(s.running!);
    assert.equal(s.accepts('interactive'), true, 'room again once one started');
  });
});

describe('engine scheduling (tiny model, real worker thread)', () => {
  let engine: Engine;
  const prompt: ChatMessage[] = [{ role: 'user', content: 'def fibonacci(n):' }];
  const chat: ChatMessage[] = [{ role: 'user', content: 'What is a closure?' }];

  before(async () => {
    engine = new Engine();
    await engine.load({ dir: ensureModel('tiny'), executionProvider: 'cpu', threads: 2 });
  });
  after(() => engine?.dispose());

  // The worker decodes the tiny model in about a millisecond a step, and with speculative decoding one step may add
  // several tokens, while the text events reach this thread with a lag that grows with the machine's load: the
  // bound is a few steps, against the 4000 tokens the completion would run unpreempted.
  it('a chat arriving during a long completion preempts it within a few decode steps', async () => {
    let completionTokens = 0;
    let tokensWhenChatArrived = -1;
    let chatStartedAfter = -1;
    let chatResult: Promise<EngineResult> | undefined;
    const completion = engine.generate({ messages: prompt, maxNewTokens: 4000, stopOnEos: false }, {
      priority: 'background',
      onText: (_t, tokens) => {
        completionTokens = tokens;
        if (tokens >= 5 && !chatResult) { // >=: a token that completes no character emits no text
          tokensWhenChatArrived = tokens;
          chatResult = engine.generate({ messages: chat, maxNewTokens: 8, stopOnEos: false }, {
            onStart: () => { chatStartedAfter = completionTokens - tokensWhenChatArrived; },
          });
        }
      },
    });
    const c = await completion;
    const r = await chatResult!;
    assert.equal(c.finishReason, 'cancelled');
    assert.equal(c.cancelCause, 'preempted');
    const fewSteps = 32;
    assert.ok(c.usage.completionTokens <= tokensWhenChatArrived + fewSteps,
      `the completion went on for ${c.usage.completionTokens - tokensWhenChatArrived} tokens after the chat arrived`);
    assert.ok(chatStartedAfter >= 0 && chatStartedAfter <= fewSteps, `the chat started ${chatStartedAfter} tokens after it arrived`);
    assert.equal(r.usage.completionTokens, 8);
    assert.equal(r.finishReason, 'length');
  });

  it('of completions fired in a row only the last runs to the end; the others end cancelled, not dropped', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) =>
      engine.generate({ messages: [{ role: 'user', content: `line ${i}` }], maxNewTokens: 40, stopOnEos: false }, { priority: 'background' })));
    const last = results.pop()!;
    assert.equal(last.finishReason, 'length');
    assert.equal(last.usage.completionTokens, 40);
    for (const r of results) {
      assert.equal(r.finishReason, 'cancelled');
      assert.equal(r.cancelCause, 'superseded');
      assert.ok(r.usage.completionTokens <= 1, `a superseded completion generated ${r.usage.completionTokens} tokens`);
    }
  });

  it('a chat waiting behind another is cancelled at once when its caller aborts, and the engine goes on', async () => {
    const first = engine.generate({ messages: chat, maxNewTokens: 20, stopOnEos: false });
    const abort = new AbortController();
    const second = engine.generate({ messages: chat, maxNewTokens: 20, stopOnEos: false }, { signal: abort.signal, onStart: () => assert.fail('must not start') });
    abort.abort();
    const r2 = await second;
    assert.equal(r2.finishReason, 'cancelled');
    assert.equal(r2.cancelCause, 'caller');
    assert.equal(r2.usage.promptTokens, 0);
    assert.equal((await first).usage.completionTokens, 20);
  });

  it(`a storm of requests: ${MAX_WAITING_INTERACTIVE} wait behind the running one, the rest are refused at once as busy, and all the taken ones are answered`, async () => {
    // Submitted in one tick: the first starts, the next MAX_WAITING_INTERACTIVE wait, every later one is refused,
    // whatever the machine's speed (none can finish before the last is submitted).
    const storm = Array.from({ length: MAX_WAITING_INTERACTIVE + 9 }, () =>
      engine.generate({ messages: chat, maxNewTokens: 2, stopOnEos: false }).then((r) => r, (e: unknown) => e));
    const outcomes = await Promise.all(storm);
    const refused = outcomes.filter((o) => o instanceof EngineError);
    for (const e of refused) {
      assert.equal((e as EngineError).code, 'busy');
      assert.match((e as EngineError).message, new RegExp(`busy: ${MAX_WAITING_INTERACTIVE} requests already wait for the model`));
    }
    assert.equal(refused.length, storm.length - 1 - MAX_WAITING_INTERACTIVE);
    for (const o of outcomes.filter((x) => !(x instanceof EngineError))) assert.equal((o as EngineResult).usage.completionTokens, 2);
    assert.equal((await engine.generate({ messages: chat, maxNewTokens: 2, stopOnEos: false })).usage.completionTokens, 2, 'taken again afterwards');
  });
});
