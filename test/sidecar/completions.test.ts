// phi/inlineCompletion on the real sidecar (dist/sidecar.js in a child process, JSON-RPC over its IPC channel),
// tiny model: a burst of keystrokes ends with one answer and the rest cancelled (not run to the end), a client
// cancel stops one, and a chat that arrives while a completion runs is not held up by it.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CancellationTokenSource, createMessageConnection, IPCMessageReader, IPCMessageWriter, type MessageConnection,
} from 'vscode-languageserver-protocol/node';
import {
  ChatDeltaNotification, ChatRequest, InlineCompletionRequest, LoadModelRequest, type InlineCompletionParams,
} from '../../sidecar/protocol';
import { ensureModel } from '../fixtures/models';

const sidecar = path.join(__dirname, '..', '..', 'dist', 'sidecar.js');

/** What the editor sends after keystroke `i` of typing `const total = items.reduce(...)`. */
function keystroke(i: number, extra: Partial<InlineCompletionParams> = {}): InlineCompletionParams {
  const typed = 'const total = items.reduce((sum, item) => sum + item.price, 0);'.slice(0, i + 1);
  return {
    languageId: 'typescript', fileName: 'cart.ts',
    prefix: `export function cartTotal(items: { price: number }[]): number {\n  ${typed}`,
    suffix: '\n  return total;\n}\n',
    ...extra,
  };
}

describe('inline completions over JSON-RPC (tiny model)', () => {
  let child: ChildProcess;
  let rpc: MessageConnection;
  let onText: (turnId: string, text: string) => void = () => {};

  before(async () => {
    child = fork(sidecar, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    rpc = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    rpc.onNotification(ChatDeltaNotification, (d) => onText(d.turnId, d.text));
    rpc.onNotification('phi/statusChanged', () => {});
    rpc.onNotification('window/logMessage', () => {});
    rpc.onNotification('$/progress', () => {});
    rpc.onRequest('window/workDoneProgress/create', () => null);
    rpc.listen();
    await rpc.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
    await rpc.sendNotification('initialized', {});
    await rpc.sendRequest(LoadModelRequest, { dir: ensureModel('tiny'), executionProvider: 'cpu', threads: 2 });
  });
  after(() => {
    rpc?.dispose();
    child?.kill('SIGKILL');
  });

  it('answers a completion with shaped text, its mode and usage', async () => {
    const r = await rpc.sendRequest(InlineCompletionRequest, keystroke(20));
    assert.notEqual(r.finishReason, 'cancelled');
    assert.equal(r.mode, 'line');
    assert.ok(!r.text.includes('\n'), 'a single-line completion has no newline');
    assert.ok(r.usage.promptTokens > 20 && r.usage.completionTokens > 0);
    const block = await rpc.sendRequest(InlineCompletionRequest, { languageId: 'typescript', prefix: 'function f() {', suffix: '' });
    assert.equal(block.mode, 'block');
  });

  it('20 completions fired in quick succession: exactly one answered, 19 cancelled, none of those run to the end', async () => {
    const maxTokens = 200;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      rpc.sendRequest(InlineCompletionRequest, keystroke(i, { maxTokens, multiline: 'line', timeoutMs: 60_000 }))));
    const answered = results.filter((r) => r.finishReason !== 'cancelled');
    const cancelled = results.filter((r) => r.finishReason === 'cancelled');
    assert.equal(answered.length, 1, `answered: ${answered.length}`);
    assert.equal(cancelled.length, 19);
    assert.equal(results[19].finishReason === 'cancelled', false, 'the newest keystroke wins');
    for (const r of cancelled) {
      assert.equal(r.cancelCause, 'superseded');
      assert.equal(r.text, '');
      // A superseded request never starts if it waited, and stops within one decode step of the next request's
      // arrival if it ran (test/sidecar/scheduler.test.ts measures that step on the engine itself).
      assert.ok(r.usage.completionTokens < maxTokens, `a cancelled completion generated ${r.usage.completionTokens} of up to ${maxTokens} tokens`);
    }
    const generated = cancelled.reduce((n, r) => n + r.usage.completionTokens, 0);
    assert.ok(generated < maxTokens, `the 19 cancelled ones generated ${generated} tokens together`);
  });

  it('a client cancel ($/cancelRequest) ends a running completion as cancelled by the caller', async () => {
    const source = new CancellationTokenSource();
    const pending = rpc.sendRequest(InlineCompletionRequest, keystroke(30, { maxTokens: 4000, multiline: 'block', timeoutMs: 60_000 }), source.token);
    setTimeout(() => source.cancel(), 150);
    const r = await pending;
    assert.equal(r.finishReason, 'cancelled');
    assert.equal(r.cancelCause, 'caller');
    assert.ok(r.usage.completionTokens < 4000);
  });

  // Whether the completion is already running when the chat arrives is not visible over the protocol (a completion
  // that had not started yet would simply wait behind the chat and run to its end), so the chat is sent 0.3 s after
  // the completion, and again after 1 s and 3 s if the completion was not running yet. A scheduler that does not
  // preempt fails all three; one that does passes at the first attempt that finds the completion running.
  it('a chat arriving while a long completion runs preempts it, and the completion says so', async () => {
    let preempted: { tokens: number; chatText: string; streamed: string } | undefined;
    for (const waitMs of [300, 1000, 3000]) {
      const completion = rpc.sendRequest(InlineCompletionRequest, keystroke(40, { maxTokens: 4000, multiline: 'block', timeoutMs: 60_000 }));
      await new Promise((r) => setTimeout(r, waitMs));
      let streamed = '';
      const turnId = `during-${waitMs}`;
      onText = (id, text) => { if (id === turnId) streamed += text; };
      const chat = await rpc.sendRequest(ChatRequest, { turnId, messages: [{ role: 'user', content: 'Hi' }], maxNewTokens: 6 });
      onText = () => {};
      const c = await completion;
      assert.ok(chat.usage.completionTokens > 0, 'the chat answered');
      if (c.finishReason === 'cancelled') {
        assert.equal(c.cancelCause, 'preempted');
        preempted = { tokens: c.usage.completionTokens, chatText: chat.text, streamed };
        break;
      }
    }
    assert.ok(preempted, 'in none of three attempts was the running completion preempted by the chat');
    assert.ok(preempted.tokens < 4000, `the completion stopped early (${preempted.tokens} of 4000 tokens)`);
    assert.ok(preempted.chatText.length > 0, "the chat's answer has text");
    assert.equal(preempted.streamed, preempted.chatText, "the chat's text streamed while the completion was held");
  });
});
