// The forward gate (sidecar/engine/forwardGate.ts), pure: the "forward passes" are FAKE async work (a few event-loop
// turns each), so the order the gate picks and its mutual exclusion are all that is measured.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ForwardGate, type GateTicket } from '../../sidecar/engine/forwardGate';

/** Fake work: yields to the event loop a few times, as an awaited forward pass would, counting who is inside. */
function fakePass(inside: { now: number; most: number }, log: string[], name: string): () => Promise<string> {
  return async () => {
    inside.now++;
    inside.most = Math.max(inside.most, inside.now);
    log.push(name);
    for (let i = 0; i < 3; i++) await new Promise<void>((go) => setImmediate(go));
    inside.now--;
    return name;
  };
}

describe('ForwardGate (pure, fake async work)', () => {
  it('a ticket still waiting for its first token goes before streaming ones that queued earlier', async () => {
    const gate = new ForwardGate();
    const inside = { now: 0, most: 0 };
    const log: string[] = [];
    const stream1: GateTicket = { priority: 0, streaming: true };
    const stream2: GateTicket = { priority: 0, streaming: true };
    const fresh: GateTicket = { priority: 0, streaming: false };
    // A request prefilling holds the gate; the others queue behind it in this order.
    const blocker: GateTicket = { priority: 0, streaming: false };
    const done = [
      gate.run(blocker, fakePass(inside, log, 'blocker')),
      gate.run(stream1, fakePass(inside, log, 'stream1')),
      gate.run(stream2, fakePass(inside, log, 'stream2')),
      gate.run(fresh, fakePass(inside, log, 'fresh')),
    ];
    assert.deepEqual(await Promise.all(done), ['blocker', 'stream1', 'stream2', 'fresh'], 'each run resolves to its own work');
    assert.deepEqual(log, ['blocker', 'fresh', 'stream1', 'stream2']);
    assert.equal(inside.most, 1);
  });

  it('among equals in streaming, a lower priority number goes first (interactive, background, idle)', async () => {
    const gate = new ForwardGate();
    const inside = { now: 0, most: 0 };
    const log: string[] = [];
    const blocker: GateTicket = { priority: 0, streaming: false };
    const idle: GateTicket = { priority: 2, streaming: false };
    const background: GateTicket = { priority: 1, streaming: false };
    const interactive: GateTicket = { priority: 0, streaming: false };
    await Promise.all([
      gate.run(blocker, fakePass(inside, log, 'blocker')),
      gate.run(idle, fakePass(inside, log, 'idle')),
      gate.run(background, fakePass(inside, log, 'background')),
      gate.run(interactive, fakePass(inside, log, 'interactive')),
    ]);
    assert.deepEqual(log, ['blocker', 'interactive', 'background', 'idle']);
    // Not yet streaming outranks priority: an idle ticket without its first token goes before a streaming interactive one.
    const log2: string[] = [];
    const streamingChat: GateTicket = { priority: 0, streaming: true };
    const warmUp: GateTicket = { priority: 2, streaming: false };
    await Promise.all([
      gate.run(blocker, fakePass(inside, log2, 'blocker')),
      gate.run(streamingChat, fakePass(inside, log2, 'chat')),
      gate.run(warmUp, fakePass(inside, log2, 'warm')),
    ]);
    assert.deepEqual(log2, ['blocker', 'warm', 'chat']);
    assert.equal(inside.most, 1);
  });

  it('two streaming tickets of one priority take turns (round robin), one pass each', async () => {
    const gate = new ForwardGate();
    const inside = { now: 0, most: 0 };
    const log: string[] = [];
    const a: GateTicket = { priority: 0, streaming: true };
    const b: GateTicket = { priority: 0, streaming: true };
    // Each "request" loops: a pass, then asks for the next one at once (as the decode loop does).
    const loop = async (ticket: GateTicket, name: string, passes: number) => {
      for (let i = 0; i < passes; i++) await gate.run(ticket, fakePass(inside, log, name));
    };
    await Promise.all([loop(a, 'a', 6), loop(b, 'b', 6)]);
    assert.deepEqual(log, ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    assert.equal(inside.most, 1);
  });

  it('a newcomer without its first token gets the passes after the one inside, its whole prefill; then every request takes one pass in turn', async () => {
    const gate = new ForwardGate();
    const inside = { now: 0, most: 0 };
    const log: string[] = [];
    const chat: GateTicket = { priority: 0, streaming: false };
    const explain: GateTicket = { priority: 0, streaming: false };
    const chatLoop = (async () => {
      await gate.run(chat, fakePass(inside, log, 'chat-prefill'));
      chat.streaming = true;
      for (let i = 0; i < 5; i++) await gate.run(chat, fakePass(inside, log, 'chat'));
    })();
    // Explain arrives while the chat streams (polled from macrotasks: the chat's loop asks for its next pass within
    // the microtasks after each one, so at every poll a chat pass is inside the gate or about to be).
    while (!log.includes('chat')) await new Promise<void>((go) => setImmediate(go));
    const chatStepsAtArrival = log.filter((x) => x === 'chat').length;
    const explainLoop = (async () => {
      await gate.run(explain, fakePass(inside, log, 'explain-prefill'));
      await gate.run(explain, fakePass(inside, log, 'explain-prefill'));
      explain.streaming = true;
      for (let i = 0; i < 3; i++) await gate.run(explain, fakePass(inside, log, 'explain'));
    })();
    await Promise.all([chatLoop, explainLoop]);
    const firstExplain = log.indexOf('explain-prefill');
    assert.equal(log.filter((x, i) => x === 'chat' && i < firstExplain).length, chatStepsAtArrival,
      `explain waited for more than the chat pass inside the gate: ${log.join(' ')}`);
    // Explain's prefill goes in one run (a request still prefilling keeps its turn between its passes): its first
    // token comes after the chat pass inside at its arrival plus its own prefill. Then the two take turns.
    assert.deepEqual(log.slice(firstExplain, firstExplain + 2), ['explain-prefill', 'explain-prefill'], `prefill interrupted: ${log.join(' ')}`);
    const after = log.slice(firstExplain + 2);
    const chatLeft = after.filter((x) => x === 'chat').length;
    const turns = after.slice(0, 2 * Math.min(chatLeft, 3));
    for (let i = 1; i < turns.length; i++) assert.notEqual(turns[i], turns[i - 1], `not one pass each in turn: ${log.join(' ')}`);
    assert.equal(log.filter((x) => x === 'chat').length, 5);
    assert.equal(inside.most, 1);
  });

  it('nothing runs concurrently inside the gate, under many tickets of mixed kinds; a failing pass frees the gate', async () => {
    const gate = new ForwardGate();
    const inside = { now: 0, most: 0 };
    const log: string[] = [];
    const tickets: GateTicket[] = Array.from({ length: 8 }, (_, i) => ({ priority: (i % 3) as 0 | 1 | 2, streaming: i % 2 === 0 }));
    const runs = tickets.flatMap((t, i) => Array.from({ length: 5 }, (_, k) => gate.run(t, fakePass(inside, log, `${i}.${k}`))));
    const failing = gate.run(tickets[0], async () => {
      inside.now++;
      inside.most = Math.max(inside.most, inside.now);
      await new Promise<void>((go) => setImmediate(go));
      inside.now--;
      throw new Error('pass failed');
    });
    await assert.rejects(failing, /pass failed/);
    await Promise.all(runs);
    assert.equal(log.length, 40);
    assert.equal(inside.most, 1, 'at most one pass inside at any time');
    assert.equal(await gate.run(tickets[1], () => 'after'), 'after', 'the gate still opens after a failure');
  });
});
