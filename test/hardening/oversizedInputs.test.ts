// Big inputs to the real sidecar (dist/sidecar.js over IPC, the tiny model, whose tokenizer is Phi-4's): a count of
// megabytes does not hold up phi/status, a turn with a huge message stops when cancelled while its prompt is still
// being tokenized, and text past the bounds of paramsCheck.ts is refused with an error that names the bound.
// Assertions are on order and token counts; the times are printed for the record, not asserted.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CancellationTokenSource, createMessageConnection, ErrorCodes, IPCMessageReader, IPCMessageWriter, ResponseError,
  type MessageConnection,
} from 'vscode-languageserver-protocol/node';
import { LIMITS } from '../../sidecar/paramsCheck';
import { ChatRequest, CountTokensRequest, LoadModelRequest, StatusRequest } from '../../sidecar/protocol';
import { ensureModel } from '../fixtures/models';
import { reportFigure } from './figures';

const sidecar = path.join(__dirname, '..', '..', 'dist', 'sidecar.js');

/** `chars` lowercase letters without a space or any other break: one pre-token, the tokenizer's slowest input. */
function noSpaces(chars: number): string {
  let seed = 1;
  return Array.from({ length: chars }, () => String.fromCharCode(97 + ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) % 26)).join('');
}

describe('big inputs to the sidecar (tiny model)', () => {
  let child: ChildProcess;
  let rpc: MessageConnection;
  const megabyte = noSpaces(1_000_000);
  let countSeconds = 0;

  before(async () => {
    const model = ensureModel('tiny');
    child = fork(sidecar, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    rpc = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    for (const method of ['phi/statusChanged', 'phi/chatDelta', '$/progress', 'window/logMessage']) rpc.onNotification(method, () => {});
    rpc.onRequest('window/workDoneProgress/create', () => null);
    rpc.listen();
    await rpc.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
    await rpc.sendNotification('initialized', {});
    await rpc.sendRequest(LoadModelRequest, { dir: model, executionProvider: 'cpu', threads: 1 });
    // The counter builds its tokenizer on the first count; done here, so the test below times the count alone.
    assert.equal((await rpc.sendRequest(CountTokensRequest, { text: 'hello world' })).tokens, 2);
  });
  after(() => {
    rpc?.dispose();
    child?.kill('SIGKILL');
  });

  it('answers phi/status while it counts 1 MB of text without spaces', async () => {
    let counted = false;
    const started = performance.now();
    const count = rpc.sendRequest(CountTokensRequest, { text: megabyte }).then((r) => { counted = true; return r; });
    const status = await rpc.sendRequest(StatusRequest);
    const statusMs = performance.now() - started;
    assert.equal(status.state, 'ready');
    assert.equal(counted, false, 'the status came back before the count');
    const { tokens } = await count;
    countSeconds = (performance.now() - started) / 1000;
    assert.ok(tokens > 200_000 && tokens < 1_000_000, `${tokens} tokens`);
    console.log(`1 MB no spaces: counted ${tokens} tokens in ${countSeconds.toFixed(1)} s, status answered in ${statusMs.toFixed(0)} ms meanwhile`);
  });

  it('stops a turn cancelled while its huge prompt is being tokenized, and the next turn runs', async () => {
    const source = new CancellationTokenSource();
    const turn = rpc.sendRequest(ChatRequest, { turnId: 'huge', messages: [{ role: 'user', content: megabyte }], maxNewTokens: 4 }, source.token);
    // The sidecar reads in order and hands a turn to the engine's worker as it reads it (nothing else runs): once
    // a status sent after the turn is answered, the worker has the turn, and the cancel comes while it tokenizes.
    await rpc.sendRequest(StatusRequest);
    const cancelledAt = performance.now();
    source.cancel();
    const result = await turn;
    const cancelMs = performance.now() - cancelledAt;
    assert.equal(result.finishReason, 'cancelled');
    // Had its prompt been tokenized (about 250,000 tokens), the turn would have failed as too long for the tiny
    // model's context, or been cancelled with those tokens counted: it stopped before.
    assert.equal(result.usage.promptTokens, 0);
    assert.equal(result.usage.completionTokens, 0);
    console.log(`chat turn with 1 MB no spaces: cancelled ${cancelMs.toFixed(0)} ms after the cancel (tokenizing it whole takes about ${countSeconds.toFixed(1)} s, the count above)`);
    const next = await rpc.sendRequest(ChatRequest, { turnId: 'next', messages: [{ role: 'user', content: 'Hi.' }], maxNewTokens: 2 });
    assert.ok(next.usage.completionTokens > 0);
  });

  it('refuses text past the bounds with InvalidParams that names the bound', async () => {
    let tried = 0;
    let refusals = 0;
    const refused = async (request: Promise<unknown>, bound: RegExp) => {
      tried++;
      await assert.rejects(request, (e: unknown) => {
        refusals++;
        assert.ok(e instanceof ResponseError);
        assert.equal(e.code, ErrorCodes.InvalidParams);
        assert.match(e.message, bound);
        return true;
      });
    };
    const tooLong = 'a'.repeat(LIMITS.messageChars + 1);
    await refused(rpc.sendRequest(CountTokensRequest, { text: tooLong }), new RegExp(`params\\.text must NOT have more than ${LIMITS.messageChars} characters \\(1 MiB`));
    await refused(rpc.sendRequest(ChatRequest, { turnId: 'long', messages: [{ role: 'user', content: tooLong }] }),
      new RegExp(`params\\.messages\\.0\\.content must NOT have more than ${LIMITS.messageChars} characters`));
    // Each message within its bound, all of them together past the request's.
    const many = Array.from({ length: LIMITS.requestChars / LIMITS.messageChars + 1 }, () => ({ role: 'user' as const, content: megabyte }));
    await refused(rpc.sendRequest(CountTokensRequest, { messages: many }), new RegExp(`more than the ${LIMITS.requestChars} \\(8 MiB\\) one request may hold`));
    assert.equal((await rpc.sendRequest(StatusRequest)).state, 'ready', 'and the sidecar goes on');
    reportFigure('oversized inputs', { tried, refused: refusals, lost: tried - refusals, note: 'a text over 1 MiB, a message over 1 MiB, 9 MiB in one request: InvalidParams naming the bound' });
  });
});
