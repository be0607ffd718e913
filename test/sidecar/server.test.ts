// The real sidecar (dist/sidecar.js) in a child process, spoken to over JSON-RPC on its IPC channel, as the
// extension's language client does: load, stream, cancel, run two turns at once, fail clearly, die visibly.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CancellationTokenSource, createMessageConnection, IPCMessageReader, IPCMessageWriter, ResponseError,
  type MessageConnection,
} from 'vscode-languageserver-protocol/node';
import {
  ChatDeltaNotification, ChatRequest, LoadModelRequest, RenderPromptRequest, ServeRequest, StatusNotification, StatusRequest,
  type ChatMessage, type PhiErrorData, type SidecarStatus,
} from '../../sidecar/protocol';
import OpenAI from 'openai';
import { EXACT_MODEL, ensureModel } from '../fixtures/models';

const sidecar = path.join(__dirname, '..', '..', 'dist', 'sidecar.js');
const chat: ChatMessage[] = [{ role: 'user', content: 'Tell me about JSON-RPC.' }];

describe('sidecar over JSON-RPC (tiny model)', () => {
  let child: ChildProcess;
  let rpc: MessageConnection;
  const deltas = new Map<string, string[]>();
  /** Called on every delta (vscode-jsonrpc keeps one handler per method, so tests hook in here). */
  let onDelta: (turnId: string) => void = () => {};
  const statuses: SidecarStatus[] = [];
  const progress: unknown[] = [];
  let model: string;

  before(async () => {
    model = ensureModel('tiny', EXACT_MODEL);
    child = fork(sidecar, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    rpc = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    rpc.onNotification(ChatDeltaNotification, (d) => {
      deltas.set(d.turnId, [...(deltas.get(d.turnId) ?? []), d.text]);
      onDelta(d.turnId);
    });
    rpc.onNotification(StatusNotification, (s) => { statuses.push(s); });
    rpc.onNotification("$/progress", (p) => { progress.push(p); });
    rpc.onNotification('window/logMessage', () => {});
    rpc.onRequest('window/workDoneProgress/create', () => null);
    rpc.listen();
    const init = await rpc.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: { window: { workDoneProgress: true } } });
    assert.equal((init as any).serverInfo.name, 'phi-local-sidecar');
    await rpc.sendNotification('initialized', {});
  });
  after(() => {
    rpc?.dispose();
    child?.kill('SIGKILL');
  });

  it('reports no model, then loads one with progress', async () => {
    const before = await rpc.sendRequest(StatusRequest);
    assert.equal(before.state, 'no-model');
    assert.equal(before.pid, child.pid);
    await assert.rejects(rpc.sendRequest(ServeRequest, { action: 'start', port: 0 }), /No model is loaded to serve/);
    const info = await rpc.sendRequest(LoadModelRequest, { dir: model, executionProvider: 'cpu', threads: 2, workDoneToken: 'load-1' });
    assert.equal(info.executionProvider, 'cpu');
    const kinds = progress.map((p: any) => p.token === 'load-1' && p.value.kind).filter(Boolean);
    assert.equal(kinds[0], 'begin');
    assert.ok(kinds.includes('report'));
    assert.equal(kinds[kinds.length - 1], 'end');
    const after = await rpc.sendRequest(StatusRequest);
    assert.equal(after.state, 'ready');
    assert.equal(after.model?.dir, info.dir);
    assert.ok(statuses.some((s) => s.state === 'loading'));
    // The prefill speed (what inline completions are sized by) is measured after the load, when the model is idle,
    // and announced in a status notification.
    assert.equal(info.prefillTokensPerSecond, undefined);
    const deadline = Date.now() + 60_000;
    while (!statuses.some((s) => s.model?.dir === info.dir && (s.model.prefillTokensPerSecond ?? 0) > 0)) {
      assert.ok(Date.now() < deadline, 'no status announced the prefill speed within 60 s');
      await new Promise((go) => setTimeout(go, 50));
    }
    assert.ok(((await rpc.sendRequest(StatusRequest)).model?.prefillTokensPerSecond ?? 0) > 0);
  });

  it('streams a chat turn as deltas that add up to the answer', async () => {
    const result = await rpc.sendRequest(ChatRequest, { turnId: 't1', messages: chat, maxNewTokens: 24 });
    const pieces = deltas.get('t1') ?? [];
    assert.ok(pieces.length >= 2, `${pieces.length} deltas`);
    assert.equal(pieces.join(''), result.text);
    assert.ok(result.usage.completionTokens > 0);
  });

  it('phi/serve: the loaded model at an OpenAI-compatible endpoint on 127.0.0.1, the same answers, stopped on request', async () => {
    const started = await rpc.sendRequest(ServeRequest, { action: 'start', port: 0 });
    assert.match(started.url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    assert.equal(started.modelId, path.basename(model));
    assert.deepEqual(await rpc.sendRequest(ServeRequest, { action: 'start', port: 0 }), started, 'started again: the same server');
    const client = new OpenAI({ baseURL: started.url, apiKey: 'unused', maxRetries: 0 });
    const served = await client.chat.completions.create({ model: started.modelId!, messages: [{ role: 'user', content: chat[0].content }], max_tokens: 12, temperature: 0 });
    const direct = await rpc.sendRequest(ChatRequest, { turnId: 's1', messages: chat, maxNewTokens: 12 });
    assert.equal(served.choices[0].message.content, direct.text);
    assert.deepEqual(await rpc.sendRequest(ServeRequest, { action: 'stop' }), {});
    assert.deepEqual(await rpc.sendRequest(ServeRequest, { action: 'status' }), {});
    await assert.rejects(client.models.list(), (e: unknown) => e instanceof OpenAI.APIConnectionError);
  });

  it('cancel stops a turn mid-stream, keeps its text, and the next request works', async () => {
    const source = new CancellationTokenSource();
    let seen = 0;
    onDelta = (turnId) => { if (turnId === 't2' && ++seen === 3) source.cancel(); };
    const result = await rpc.sendRequest(ChatRequest, { turnId: 't2', messages: chat, maxNewTokens: 5000, sampling: { temperature: 0 } }, source.token);
    onDelta = () => {};
    assert.equal(result.finishReason, 'cancelled');
    assert.ok(result.usage.completionTokens >= 3 && result.usage.completionTokens < 5000);
    const next = await rpc.sendRequest(ChatRequest, { turnId: 't3', messages: chat, maxNewTokens: 4 });
    assert.equal(next.usage.completionTokens > 0, true);
  });

  it('runs two turns sent at once, one after the other, without mixing them', async () => {
    const other: ChatMessage[] = [{ role: 'user', content: 'Name three rivers.' }];
    const soloA = await rpc.sendRequest(ChatRequest, { turnId: 'solo-a', messages: chat, maxNewTokens: 12 });
    const soloB = await rpc.sendRequest(ChatRequest, { turnId: 'solo-b', messages: other, maxNewTokens: 12 });
    const [a, b, status] = await Promise.all([
      rpc.sendRequest(ChatRequest, { turnId: 'a', messages: chat, maxNewTokens: 12 }),
      rpc.sendRequest(ChatRequest, { turnId: 'b', messages: other, maxNewTokens: 12 }),
      rpc.sendRequest(StatusRequest),
    ]);
    assert.deepEqual(a.tokenIds, soloA.tokenIds);
    assert.deepEqual(b.tokenIds, soloB.tokenIds);
    assert.equal((deltas.get('a') ?? []).join(''), a.text);
    assert.equal((deltas.get('b') ?? []).join(''), b.text);
    assert.equal(status.state, 'ready', 'status answers while turns run');
  });

  it('renders the exact prompt', async () => {
    const r = await rpc.sendRequest(RenderPromptRequest, { messages: chat });
    assert.equal(r.text, '<|user|>Tell me about JSON-RPC.<|end|><|assistant|>');
  });

  it('a broken folder is a ResponseError carrying the engine error; the model loaded before stays, and the status says what is true', async () => {
    await assert.rejects(rpc.sendRequest(LoadModelRequest, { dir: '/nonexistent/folder' }), (e: unknown) => {
      assert.ok(e instanceof ResponseError);
      assert.equal((e.data as PhiErrorData).code, 'model-folder');
      assert.match(e.message, /does not exist/);
      return true;
    });
    const s = await rpc.sendRequest(StatusRequest);
    assert.equal(s.state, 'ready');
    assert.equal(s.model?.dir, model);
    assert.equal(s.error, undefined, 'no error beside a model that works');
    const answer = await rpc.sendRequest(ChatRequest, { turnId: 'after-failed-load', messages: chat, maxNewTokens: 2 });
    assert.ok(answer.usage.completionTokens > 0);
  });

  it('params that do not fit the method are refused with InvalidParams, naming the field, and nothing runs', async () => {
    await assert.rejects(rpc.sendRequest(ChatRequest, { turnId: 'bad', messages: chat, maxNewTokens: 'x' as unknown as number }), (e: unknown) =>
      e instanceof ResponseError && e.code === -32602 && /phi\/chat: params\.maxNewTokens must be integer/.test(e.message));
    await assert.rejects(rpc.sendRequest(ChatRequest, { turnId: 'bad', messages: [{ role: 'end' as never, content: 'x' }] }), /role must be one of/);
    await assert.rejects(rpc.sendRequest(LoadModelRequest, { dir: model, threads: 4096 }), /threads must be at most \d+, the CPU threads of this machine/);
    assert.equal(deltas.get('bad'), undefined, 'no turn ran');
    const s = await rpc.sendRequest(StatusRequest);
    assert.equal(s.state, 'ready', 'the refused load did not touch the model');
  });

  it('malformed frames over IPC are dropped, and the sidecar goes on answering (they used to kill it)', async () => {
    const frames: unknown[] = [
      { jsonrpc: '2.0', method: '$/cancelRequest' },
      { jsonrpc: '2.0', method: '$/cancelRequest', params: null },
      { jsonrpc: '2.0', method: '$/cancelRequest', params: 'x' },
      { jsonrpc: '2.0', method: '$/cancelRequest', params: {} },
      { jsonrpc: '2.0', method: '$/cancelRequest', params: [] },
      { jsonrpc: '2.0', method: '$/cancelRequest', params: { id: { nested: 1 } } },
      null, 42, 'text', [1, 2],
    ];
    for (const frame of frames) child.send(frame as never);
    const s = await rpc.sendRequest(StatusRequest);
    assert.equal(s.pid, child.pid);
    assert.equal(child.exitCode, null, 'the sidecar is alive');
  });

  // What the raw connection sees; the extension's restart path (rejecting what was in flight, restarting, the limit
  // of 3 restarts in 3 minutes) is tested through the real extension in test/vscode/suite/sidecarCrash.test.ts.
  it('a killed sidecar is seen as an exit and a closed connection mid-answer', async () => {
    await rpc.sendRequest(LoadModelRequest, { dir: model, executionProvider: 'cpu', threads: 2 });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const closed = new Promise<void>((resolve) => rpc.onClose(() => resolve()));
    let streaming!: () => void;
    const started = new Promise<void>((resolve) => { streaming = resolve; });
    onDelta = (turnId) => { if (turnId === 'dies') streaming(); };
    const inFlight = rpc.sendRequest(ChatRequest, { turnId: 'dies', messages: chat, maxNewTokens: 100000, sampling: { temperature: 0 } });
    await started;
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    await closed;
    let settled = false;
    inFlight.then(() => { settled = true; }, () => { settled = true; });
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'the answer did not complete: the sidecar died mid-answer');
    rpc.dispose(); // what a client does when its server process exits: it rejects what is pending
    await assert.rejects(inFlight, /disposed/);
  });
});
