// phi/chat fits a conversation into the context itself, in the real sidecar (dist/sidecar.js over JSON-RPC, the tiny
// model loaded with a 512-token context): the oldest turns left out with a notice that is the first delta and the
// start of the answer's text (never of the turn's messages), the same turns left out for the next question of the
// same conversation (its prompt starts the same, so the cache is reused), and a turn too long even alone refused
// with 'prompt-too-long' and the figures.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter, ResponseError, type MessageConnection } from 'vscode-languageserver-protocol/node';
import { ChatDeltaNotification, ChatRequest, LoadModelRequest, type ChatMessage, type PhiErrorData } from '../../sidecar/protocol';
import { EXACT_MODEL, ensureModel } from '../fixtures/models';

const sidecar = path.join(__dirname, '..', '..', 'dist', 'sidecar.js');
const QUESTION = 'Explain how a hash map resolves collisions, why its load factor matters, when it resizes, and what that costs.';
const ANSWER = 'Chaining keeps a list per bucket; open addressing probes for the next free slot. Resizing rehashes every key.';

/** `turns` questions with their answers, then one more question. */
function conversation(turns: number): ChatMessage[] {
  const out: ChatMessage[] = [{ role: 'system', content: 'You are Phi.' }];
  for (let i = 1; i <= turns; i++) out.push({ role: 'user', content: `${QUESTION} ${i}` }, { role: 'assistant', content: `${ANSWER} ${i}` });
  out.push({ role: 'user', content: `${QUESTION} ${turns + 1}` });
  return out;
}

describe('phi/chat fits the conversation into the context (tiny model, 512 tokens)', () => {
  let child: ChildProcess;
  let rpc: MessageConnection;
  const deltas = new Map<string, string[]>();

  before(async () => {
    child = fork(sidecar, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    rpc = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    rpc.onNotification(ChatDeltaNotification, (d) => { deltas.set(d.turnId, [...(deltas.get(d.turnId) ?? []), d.text]); });
    rpc.onNotification('phi/statusChanged', () => {});
    rpc.onNotification('window/logMessage', () => {});
    rpc.onRequest('window/workDoneProgress/create', () => null);
    rpc.listen();
    await rpc.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
    await rpc.sendNotification('initialized', {});
    await rpc.sendRequest(LoadModelRequest, { dir: ensureModel('tiny', EXACT_MODEL), executionProvider: 'cpu', threads: 2, contextLength: 512 });
  });
  after(() => {
    rpc?.dispose();
    child?.kill('SIGKILL');
  });

  it('sends a conversation that fits as it is', async () => {
    const result = await rpc.sendRequest(ChatRequest, { turnId: 'fits', conversationId: 'c', messages: conversation(1), maxNewTokens: 24 });
    assert.equal(result.trimmed, undefined);
    assert.doesNotMatch(result.text, /left out/);
  });

  it('leaves out the oldest turns with a notice, and the same ones for the next question', async () => {
    const fifth = await rpc.sendRequest(ChatRequest, { turnId: 'fifth', conversationId: 'c', messages: conversation(8), maxNewTokens: 24 });
    assert.ok(fifth.trimmed, 'turns were left out');
    assert.equal(fifth.trimmed.droppedMessages, 2 * fifth.trimmed.droppedTurns);
    assert.match(fifth.trimmed.notice, /oldest messages of this conversation were left out to fit the model's context of 512 tokens/);
    assert.equal(deltas.get('fifth')?.[0], fifth.trimmed.notice, 'the notice is the first delta');
    assert.equal(deltas.get('fifth')?.join(''), fifth.text, 'the deltas add up to the text');
    assert.ok(fifth.text.startsWith(fifth.trimmed.notice), 'the text starts with it');
    assert.ok(fifth.messages.every((m) => !m.content.includes('left out')), 'the turn\'s messages do not have it');
    assert.ok(fifth.usage.promptTokens <= 512 - 24, `the prompt fits with room for the answer: ${fifth.usage.promptTokens}`);
    // The next question: the answer (with the notice, as a client keeps it) goes back; the same turns are left out,
    // so the prompt starts with the whole last one and all of it comes from the cache.
    const messages: ChatMessage[] = [...conversation(8), { role: 'assistant', content: fifth.text }, { role: 'user', content: `${QUESTION} 10` }];
    const sixth = await rpc.sendRequest(ChatRequest, { turnId: 'sixth', conversationId: 'c', messages, maxNewTokens: 24 });
    assert.equal(sixth.trimmed?.droppedTurns, fifth.trimmed.droppedTurns);
    assert.ok(sixth.usage.reusedTokens >= fifth.usage.promptTokens, `reused ${sixth.usage.reusedTokens} of the ${fifth.usage.promptTokens} before`);
  });

  it('without a conversation id, leaves out only what it must', async () => {
    const result = await rpc.sendRequest(ChatRequest, { turnId: 'lm', messages: conversation(8), maxNewTokens: 24 });
    const withId = await rpc.sendRequest(ChatRequest, { turnId: 'panel', conversationId: 'other', messages: conversation(8), maxNewTokens: 24 });
    assert.ok(result.trimmed && withId.trimmed);
    assert.ok(result.trimmed.droppedTurns < withId.trimmed.droppedTurns, `${result.trimmed.droppedTurns} < ${withId.trimmed.droppedTurns} (down to the target)`);
  });

  it('refuses a question that cannot fit even alone, with the figures', async () => {
    const messages: ChatMessage[] = [...conversation(1), { role: 'user', content: QUESTION.repeat(30) }];
    await assert.rejects(rpc.sendRequest(ChatRequest, { turnId: 'long', conversationId: 'c', messages, maxNewTokens: 24 }), (e: unknown) => {
      assert.ok(e instanceof ResponseError);
      assert.equal((e.data as PhiErrorData).code, 'prompt-too-long');
      assert.match(e.message, /^The request is \d+ tokens, but the model's context of 512 keeps 24 of them for the answer\.$/);
      return true;
    });
  });
});
