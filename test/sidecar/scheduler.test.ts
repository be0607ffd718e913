// The scheduler's policy on fake jobs (one interactive job at a time, the default; then several at once, as the
// engine runs them), then the engine (its real worker thread, the tiny model) under it: interactive first,
// completions superseded by newer ones, a chat that arrives while a completion runs starting within a few decode
// steps, and Explain asked while a chat answer streams starting before that answer ends.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Engine, MAX_RUNNING_INTERACTIVE, type EngineResult } from '../../sidecar/engine/engine';
import { MAX_WAITING_INTERACTIVE, Scheduler, type CancelCause, type Job, type Priority } from '../../sidecar/engine/scheduler';
import { EngineError } from '../../sidecar/engineError';
import type { ChatMessage } from '../../sidecar/prompt/template';
import { ensureModel } from '../fixtures/models';

class FakeJob implements Job {
  readonly events: string[] = [];
  constructor(readonly name: string, readonly priority: Priority, private readonly log: string[], readonly exclusive = false) {}
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

describe('scheduler with several interactive jobs at once (fake jobs, maxRunningInteractive = 3)', () => {
  const names = (jobs: readonly FakeJob[]) => jobs.map((j) => j.name);
  const make = () => {
    const log: string[] = [];
    const s = new Scheduler<FakeJob>(MAX_WAITING_INTERACTIVE, 3);
    return { log, s, job: (name: string, priority: Priority, exclusive = false) => new FakeJob(name, priority, log, exclusive) };
  };

  it('three interactive jobs run at once, a fourth waits and starts when one of them ends', () => {
    const { log, s, job } = make();
    const chats = [0, 1, 2, 3].map((i) => job(`chat-${i}`, 'interactive'));
    for (const c of chats) s.submit(c);
    assert.deepEqual(names(s.allRunning), ['chat-0', 'chat-1', 'chat-2']);
    assert.deepEqual(names(s.queued), ['chat-3']);
    assert.equal(s.running, chats[0], 'running: the first started');
    s.finished(chats[1]);
    assert.deepEqual(names(s.allRunning), ['chat-0', 'chat-2', 'chat-3']);
    assert.deepEqual(s.queued, []);
    assert.deepEqual(log, ['start chat-0', 'start chat-1', 'start chat-2', 'start chat-3']);
  });

  it('a background job waits while any interactive job runs or waits, and is stopped by a newcomer', () => {
    const { log, s, job } = make();
    const a = job('chat-a', 'interactive');
    const completion = job('completion', 'background');
    s.submit(a);
    s.submit(completion);
    assert.deepEqual(names(s.queued), ['completion'], 'one interactive job runs, with room for two more: still the completion waits');
    const b = job('chat-b', 'interactive');
    const c = job('chat-c', 'interactive');
    const d = job('chat-d', 'interactive');
    s.submit(b);
    s.submit(c);
    s.submit(d);
    assert.deepEqual(names(s.queued), ['chat-d', 'completion']);
    s.finished(a);
    s.finished(b);
    s.finished(c);
    assert.deepEqual(names(s.allRunning), ['chat-d'], 'no interactive job waits, one runs: the completion still waits');
    s.finished(d);
    assert.deepEqual(names(s.allRunning), ['completion']);
    const e = job('chat-e', 'interactive');
    s.submit(e);
    assert.deepEqual(names(s.allRunning), ['completion', 'chat-e'], 'the chat starts at once beside the stopping completion');
    assert.deepEqual(log, ['start chat-a', 'start chat-b', 'start chat-c', 'start chat-d', 'start completion',
      'stop completion (preempted)', 'start chat-e']);
  });

  it('an idle job runs only when nothing else runs or waits, and any newcomer of a higher rank stops it (preempted)', () => {
    const { log, s, job } = make();
    const chat = job('chat', 'interactive');
    const warm = job('warm', 'idle');
    s.submit(chat);
    s.submit(warm);
    assert.deepEqual(names(s.queued), ['warm']);
    const completion = job('completion', 'background');
    s.submit(completion);
    s.finished(chat);
    assert.deepEqual(names(s.allRunning), ['completion'], 'the waiting completion goes before the idle job');
    assert.deepEqual(names(s.queued), ['warm']);
    s.finished(completion);
    assert.deepEqual(names(s.allRunning), ['warm']);
    // An interactive newcomer stops it and starts beside it (its forward passes go first in the gate anyway).
    const chat2 = job('chat-2', 'interactive');
    s.submit(chat2);
    assert.deepEqual(names(s.allRunning), ['warm', 'chat-2']);
    s.finished(warm);
    s.finished(chat2);
    // A background newcomer stops a running idle job too, and starts beside it as the chat did.
    const warm2 = job('warm-2', 'idle');
    s.submit(warm2);
    const completion2 = job('completion-2', 'background');
    s.submit(completion2);
    assert.deepEqual(names(s.allRunning), ['warm-2', 'completion-2']);
    s.finished(warm2);
    s.finished(completion2);
    // Another idle job is no reason to stop one.
    const warm3 = job('warm-3', 'idle');
    const warm4 = job('warm-4', 'idle');
    s.submit(warm3);
    s.submit(warm4);
    assert.deepEqual(names(s.allRunning), ['warm-3']);
    s.finished(warm3);
    s.finished(warm4);
    assert.deepEqual(log, [
      'start chat', 'start completion', 'start warm', 'stop warm (preempted)', 'start chat-2',
      'start warm-2', 'stop warm-2 (preempted)', 'start completion-2',
      'start warm-3', 'start warm-4',
    ]);
  });

  it('an exclusive job waits until nothing runs, nothing overtakes it, and nothing starts while it runs', () => {
    const { log, s, job } = make();
    const a = job('chat-a', 'interactive');
    const b = job('chat-b', 'interactive');
    s.submit(a);
    s.submit(b);
    const load = job('load', 'interactive', true);
    s.submit(load);
    assert.deepEqual(names(s.allRunning), ['chat-a', 'chat-b'], 'room for a third interactive job, but the exclusive one waits');
    const c = job('chat-c', 'interactive');
    const completion = job('completion', 'background');
    s.submit(c);
    s.submit(completion);
    assert.deepEqual(names(s.allRunning), ['chat-a', 'chat-b'], 'a later chat does not overtake the waiting exclusive job');
    s.finished(a);
    assert.deepEqual(names(s.allRunning), ['chat-b']);
    s.finished(b);
    assert.deepEqual(names(s.allRunning), ['load']);
    const d = job('chat-d', 'interactive');
    s.submit(d);
    assert.deepEqual(names(s.allRunning), ['load'], 'nothing starts while the exclusive job runs');
    assert.deepEqual(names(s.queued), ['chat-c', 'chat-d', 'completion']);
    s.finished(load);
    assert.deepEqual(names(s.allRunning), ['chat-c', 'chat-d']);
    s.finished(c);
    s.finished(d);
    assert.deepEqual(names(s.allRunning), ['completion']);
    assert.deepEqual(log, ['start chat-a', 'start chat-b', 'start load', 'start chat-c', 'start chat-d', 'start completion']);
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

  // Both real requests in the worker: the chat streams, Explain is asked once it has streamed a few tokens. The gate
  // gives Explain's passes their turn between the chat's steps (forwardGate.ts), so Explain's answer (a prefill and
  // 8 steps) is out long before the chat's 400 tokens are.
  it('Explain asked while a chat answer streams starts before the answer ends', async () => {
    const chatTokens = 400;
    const explainTokens = 8;
    let chatStreamed = 0;
    let chatDone = false;
    let explain: Promise<EngineResult> | undefined;
    let chatAtExplainFirstText = -1;
    let chatDoneAtExplainFirstText = true;
    const explainText: string[] = [];
    const answer = engine.generate({ messages: chat, maxNewTokens: chatTokens, stopOnEos: false }, {
      onText: (_t, tokens) => {
        chatStreamed = tokens;
        if (tokens >= 5 && !explain) { // >=: a token that completes no character emits no text
          explain = engine.generate({ messages: [{ role: 'user', content: 'Explain: const x = 1;' }], slot: 'explain', maxNewTokens: explainTokens, stopOnEos: false }, {
            onText: (text) => {
              if (explainText.length === 0) {
                chatAtExplainFirstText = chatStreamed;
                chatDoneAtExplainFirstText = chatDone;
              }
              explainText.push(text);
            },
          });
        }
      },
    }).then((r) => { chatDone = true; return r; });
    const c = await answer;
    assert.ok(explain, 'the chat streamed 5 tokens');
    const e = await explain;
    assert.ok(explainText.length > 0, 'Explain streamed text');
    assert.equal(chatDoneAtExplainFirstText, false, 'the chat had not ended when Explain\'s first text came');
    assert.ok(chatAtExplainFirstText >= 5 && chatAtExplainFirstText < chatTokens,
      `the chat had streamed ${chatAtExplainFirstText} of its ${chatTokens} tokens when Explain's first text came`);
    assert.ok(chatStreamed > chatAtExplainFirstText, 'the chat streamed more tokens after that');
    assert.equal(c.finishReason, 'length');
    assert.equal(c.usage.completionTokens, chatTokens);
    assert.equal(e.finishReason, 'length');
    assert.equal(e.usage.completionTokens, explainTokens);
    console.log(`  Explain's first text came when the chat had streamed ${chatAtExplainFirstText} of ${chatTokens} tokens`);
  });

  it('a chat waiting behind the running ones is cancelled at once when its caller aborts, and the engine goes on', async () => {
    // Submitted in one tick: the first MAX_RUNNING_INTERACTIVE start (the scheduler starts them inside submit), so the
    // next one waits, whatever the machine's speed.
    const running = Array.from({ length: MAX_RUNNING_INTERACTIVE }, () => engine.generate({ messages: chat, maxNewTokens: 20, stopOnEos: false }));
    const abort = new AbortController();
    const waiting = engine.generate({ messages: chat, maxNewTokens: 20, stopOnEos: false }, { signal: abort.signal, onStart: () => assert.fail('must not start') });
    abort.abort();
    const r = await waiting;
    assert.equal(r.finishReason, 'cancelled');
    assert.equal(r.cancelCause, 'caller');
    assert.equal(r.usage.promptTokens, 0);
    for (const first of running) assert.equal((await first).usage.completionTokens, 20);
  });

  it(`a storm of requests: ${MAX_RUNNING_INTERACTIVE} run, ${MAX_WAITING_INTERACTIVE} wait behind them, the rest are refused at once as busy, and all the taken ones are answered`, async () => {
    // Submitted in one tick: the first MAX_RUNNING_INTERACTIVE start, the next MAX_WAITING_INTERACTIVE wait, every
    // later one is refused, whatever the machine's speed (none can finish before the last is submitted).
    const storm = Array.from({ length: MAX_WAITING_INTERACTIVE + 9 }, () =>
      engine.generate({ messages: chat, maxNewTokens: 2, stopOnEos: false }).then((r) => r, (e: unknown) => e));
    const outcomes = await Promise.all(storm);
    const refused = outcomes.filter((o) => o instanceof EngineError);
    for (const e of refused) {
      assert.equal((e as EngineError).code, 'busy');
      assert.match((e as EngineError).message, new RegExp(`busy: ${MAX_WAITING_INTERACTIVE} requests already wait for the model`));
    }
    assert.equal(refused.length, storm.length - MAX_RUNNING_INTERACTIVE - MAX_WAITING_INTERACTIVE);
    for (const o of outcomes.filter((x) => !(x instanceof EngineError))) assert.equal((o as EngineResult).usage.completionTokens, 2);
    assert.equal((await engine.generate({ messages: chat, maxNewTokens: 2, stopOnEos: false })).usage.completionTokens, 2, 'taken again afterwards');
  });
});
