// The remote engine (sidecar/remote/) against a real OpenAI-compatible server: `phi-local serve` on the tiny model
// (no other project's server can run here offline), directly and through the real sidecar (dist/sidecar.js
// --engine remote, JSON-RPC over IPC, with each of its two APIs): answers equal the server's engine's own, a tool call goes to the client to run
// and the turn goes on, a cancel stops the server's generation, a server that dies mid-answer leaves what arrived
// with a note, a wrong key says what to do.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CancellationTokenSource, createMessageConnection, IPCMessageReader, IPCMessageWriter, type MessageConnection } from 'vscode-languageserver-protocol/node';
import { ChatDeltaNotification, ChatRequest, CountTokensRequest, LoadModelRequest, RunToolRequest, type ChatMessage, type RunToolParams } from '../../sidecar/protocol';
import { RemoteEngine } from '../../sidecar/remote/remoteEngine';
import { serveOpenAi, type RunningServer } from '../../sidecar/serve/openaiServer';
import { EXACT_MODEL, ensureModel } from '../fixtures/models';
import { RecordingEngine } from './recordingEngine';

const sidecar = path.join(__dirname, '..', '..', 'dist', 'sidecar.js');
const MODEL_ID = 'phi-tiny';
const chat: ChatMessage[] = [{ role: 'user', content: 'Tell me about the sea.' }];
// The city is an enum so that the random model's constrained call ends within the token budget (a free string can
// run on for hundreds of tokens of random text).
const weather = {
  name: 'get_weather', description: 'The weather of a city.',
  parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Oslo', 'Bergen', 'Tromsø'] } }, required: ['city'], additionalProperties: false },
};

async function until(what: string, probe: () => boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('remote engine against phi-local serve (tiny model)', () => {
  let served: RecordingEngine;
  let server: RunningServer;

  before(async () => {
    served = new RecordingEngine();
    await served.load({ dir: ensureModel('tiny', EXACT_MODEL), executionProvider: 'cpu', threads: 2 });
    server = await serveOpenAi(served, { port: 0, modelId: MODEL_ID, maxNewTokens: 100_000 });
  });
  after(async () => {
    await server?.close();
    await served?.dispose();
  });

  it('connects, answers as the server\'s own engine does, and counts with the server\'s tokenizer', async () => {
    const remote = new RemoteEngine({ url: server.url });
    const info = await remote.load({ dir: '' });
    assert.equal(info.backend, 'remote');
    assert.match(info.executionProvider, /^remote \(127\.0\.0\.1:\d+\)$/);
    assert.equal(info.contextLength, served.model?.contextLength);
    const request = { messages: chat, maxNewTokens: 16, sampling: { temperature: 0 } };
    const pieces: string[] = [];
    const got = await remote.generate(request, { onText: (t) => pieces.push(t) });
    const direct = await served.generate(request);
    assert.equal(got.text, direct.text);
    assert.equal(pieces.join(''), got.text);
    assert.equal(got.usage.completionTokens, direct.usage.completionTokens);
    assert.deepEqual(await remote.countTokens({ text: 'Hello there, sea.' }), await served.countTokens({ text: 'Hello there, sea.' }));
    assert.equal((await remote.countTokens({ messages: chat })).tokens, (await served.countTokens({ messages: chat })).tokens);
  });

  it('completions mode: Phi-4\'s prompt rendered here, the same tokens, answers, tool calls and counts as the server\'s own engine', async () => {
    const dir = ensureModel('tiny', EXACT_MODEL);
    const remote = new RemoteEngine({ url: server.url, tokenizerDir: dir });
    const info = await remote.load({ dir: '' });
    assert.equal(remote.api, 'completions');
    assert.match(info.kvType, /completions/);
    // Markup pasted into a message stays text, here as locally: the ids are the local engine's.
    const pasted: ChatMessage[] = [{ role: 'user', content: 'Explain <|end|><|assistant|>this and the sea.' }];
    assert.deepEqual(await remote.renderPrompt(pasted, [weather]), await served.renderPrompt(pasted, [weather]));
    const request = { messages: pasted, maxNewTokens: 16, sampling: { temperature: 0 } };
    const pieces: string[] = [];
    const got = await remote.generate(request, { onText: (t) => pieces.push(t) });
    const direct = await served.generate(request);
    assert.equal(got.text, direct.text);
    assert.equal(pieces.join(''), got.text);
    assert.equal(got.usage.promptTokens, direct.usage.promptTokens);
    // A required call: the call list comes from the server's structured output (serve: the same xgrammar constraint).
    const call = { messages: [{ role: 'user' as const, content: 'Weather in Oslo?' }], tools: [weather], toolChoice: 'required' as const, maxToolCalls: 1, maxNewTokens: 200, sampling: { temperature: 0 } };
    const remoteCall = await remote.generate(call);
    const directCall = await served.generate(call);
    assert.equal(remoteCall.finishReason, 'tool-call');
    assert.equal(remoteCall.toolCall?.text, directCall.toolCall?.text);
    assert.deepEqual(JSON.parse(remoteCall.toolCall!.text).map((c: { name: string }) => c.name), ['get_weather']);
    assert.deepEqual(await remote.countTokens({ messages: pasted, tools: [weather] }), await served.countTokens({ messages: pasted, tools: [weather] }));
    assert.deepEqual(await remote.countTokens({ text: 'Hello <|end|> sea.' }), await served.countTokens({ text: 'Hello <|end|> sea.' }));
  });

  it('goes through the user\'s proxy (as the download does: common/network.ts); NO_PROXY goes direct', async () => {
    // A real HTTP proxy (CONNECT tunnels, and absolute-form requests) that counts what it carries.
    let tunnels = 0;
    const proxy = http.createServer((req, res) => {
      tunnels++;
      const target = new URL(req.url ?? '');
      const out = http.request({ host: target.hostname, port: target.port, method: req.method, path: target.pathname + target.search, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(out);
    });
    proxy.on('connect', (req, client, head) => {
      tunnels++;
      const [host, port] = (req.url ?? '').split(':');
      const upstream = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const viaProxy = new RemoteEngine({ url: server.url, env: { PHI_LOCAL_HTTP_PROXY: proxyUrl } });
      await viaProxy.load({ dir: '' });
      const answer = await viaProxy.generate({ messages: chat, maxNewTokens: 4, sampling: { temperature: 0 } });
      assert.ok(tunnels >= 1, 'the requests went through the proxy');
      assert.equal(answer.text, (await served.generate({ messages: chat, maxNewTokens: 4, sampling: { temperature: 0 } })).text);
      const before = tunnels;
      const direct = new RemoteEngine({ url: server.url, env: { PHI_LOCAL_HTTP_PROXY: proxyUrl, PHI_LOCAL_NO_PROXY: '127.0.0.1' } });
      await direct.load({ dir: '' });
      assert.equal(tunnels, before, 'NO_PROXY hosts go direct');
      const dead = new RemoteEngine({ url: server.url, env: { PHI_LOCAL_HTTP_PROXY: 'http://127.0.0.1:9' } });
      await assert.rejects(dead.load({ dir: '' }), /Could not reach .*the proxy/);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });

  it('a wrong model or an unreachable server is a load error that says what to do', async () => {
    await assert.rejects(new RemoteEngine({ url: server.url, model: 'nope' }).load({ dir: '' }), /does not serve "nope"; it lists phi-tiny/);
    await assert.rejects(new RemoteEngine({ url: 'http://127.0.0.1:9/v1' }).load({ dir: '' }), /Could not reach http:\/\/127\.0\.0\.1:9\/v1 .*check the URL/);
  });

  it('a wrong key is a 401 that names the fix', async () => {
    const locked = await serveOpenAi(served, { port: 0, modelId: MODEL_ID, apiKey: 'right' });
    try {
      await assert.rejects(new RemoteEngine({ url: locked.url, apiKey: 'wrong' }).load({ dir: '' }), /answered 401.*API key/);
      assert.equal((await new RemoteEngine({ url: locked.url, apiKey: 'right' }).load({ dir: '' })).backend, 'remote');
    } finally {
      await locked.close();
    }
  });

  for (const api of ['chat', 'completions'] as const) describe(`through the real sidecar (--engine remote, the ${api} API)`, () => {
    let child: ChildProcess;
    let rpc: MessageConnection;
    let onDelta: (turnId: string, text: string) => void = () => {};
    let runTool: (p: RunToolParams) => { content: string } = () => ({ content: '' });

    before(async () => {
      child = fork(sidecar, ['--engine', 'remote'], {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        env: {
          ...process.env, PHI_LOCAL_REMOTE_URL: server.url, PHI_LOCAL_REMOTE_MODEL: MODEL_ID, PHI_LOCAL_REMOTE_API: api,
          PHI_LOCAL_REMOTE_TOKENIZER: api === 'completions' ? ensureModel('tiny', EXACT_MODEL) : '',
        },
      });
      rpc = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
      rpc.onNotification(ChatDeltaNotification, (d) => onDelta(d.turnId, d.text));
      rpc.onNotification('phi/statusChanged', () => {});
      rpc.onNotification('window/logMessage', () => {});
      rpc.onNotification('$/progress', () => {});
      rpc.onRequest('window/workDoneProgress/create', () => null);
      rpc.onRequest(RunToolRequest, (p) => runTool(p));
      rpc.listen();
      await rpc.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
      await rpc.sendNotification('initialized', {});
      const info = await rpc.sendRequest(LoadModelRequest, { dir: '' });
      assert.equal(info.backend, 'remote');
      assert.match(info.kvType, api === 'completions' ? /\/v1\/completions/ : /\/v1\/chat\/completions/);
    });
    after(() => {
      rpc?.dispose();
      child?.kill('SIGKILL');
    });

    it('a chat turn streams the server\'s answer', async () => {
      let streamed = '';
      onDelta = (id, text) => { if (id === 'r1') streamed += text; };
      const result = await rpc.sendRequest(ChatRequest, { turnId: 'r1', messages: chat, maxNewTokens: 16 });
      const direct = await served.generate({ messages: chat, maxNewTokens: 16, sampling: { temperature: 0 } });
      assert.equal(result.text, direct.text);
      assert.equal(streamed, result.text);
      assert.equal(result.interrupted, undefined);
      const counted = await rpc.sendRequest(CountTokensRequest, { messages: chat });
      assert.equal(counted.tokens, (await served.countTokens({ messages: chat })).tokens);
    });

    it('a tool call goes to the client to run (not the server), and the turn goes on with its result', async () => {
      const asked: RunToolParams[] = [];
      runTool = (p) => { asked.push(p); return { content: '{"sky": "clear"}' }; };
      const result = await rpc.sendRequest(ChatRequest, {
        turnId: 'r2', messages: [{ role: 'user', content: 'Weather in Oslo?' }], tools: [weather], toolChoice: 'required', maxNewTokens: 200, maxToolCalls: 1,
      });
      assert.equal(asked.length, 1, `the client ran the call once: ${JSON.stringify(result.messages)}`);
      assert.equal(asked[0].call.name, 'get_weather');
      assert.ok(['Oslo', 'Bergen', 'Tromsø'].includes(asked[0].call.arguments.city as string));
      assert.deepEqual(result.messages.map((m) => m.role), ['assistant', 'tool', 'assistant']);
      assert.equal(result.messages[0].toolCalls?.[0].name, 'get_weather');
      assert.equal(result.messages[1].content, '{"sky": "clear"}');
      assert.notEqual(result.finishReason, 'tool-calls');
    });

    it('VS Code\'s Chat way (toolExecution "return"): the turn ends at the call, which comes back unrun', async () => {
      const asked: RunToolParams[] = [];
      runTool = (p) => { asked.push(p); return { content: '' }; };
      const result = await rpc.sendRequest(ChatRequest, {
        turnId: 'r2b', messages: [{ role: 'user', content: 'Weather in Bergen?' }], tools: [weather], toolChoice: 'required',
        toolExecution: 'return', maxNewTokens: 200, maxToolCalls: 1,
      });
      assert.equal(asked.length, 0, 'nothing was run in the sidecar');
      assert.equal(result.finishReason, 'tool-calls');
      assert.equal(result.toolCalls?.[0]?.name, 'get_weather');
    });

    it('cancel closes the stream and the server stops generating', async () => {
      const source = new CancellationTokenSource();
      let first!: () => void;
      const started = new Promise<void>((resolve) => { first = resolve; });
      onDelta = (id) => { if (id === 'r3') first(); };
      const before = served.results.length;
      const pending = rpc.sendRequest(ChatRequest, { turnId: 'r3', messages: chat, maxNewTokens: 50_000 }, source.token);
      await started;
      source.cancel();
      const result = await pending;
      assert.equal(result.finishReason, 'cancelled');
      await until('the server\'s step to end', () => served.results.length > before);
      const serverSide = served.results[before];
      assert.equal(serverSide.finishReason, 'cancelled', 'the server stopped when the stream closed');
      assert.ok(serverSide.usage.completionTokens < 50_000);
    });
  });

  it('a server that dies mid-answer: the answer keeps what arrived and says what happened', async () => {
    const doomed = await serveOpenAi(served, { port: 0, modelId: MODEL_ID, maxNewTokens: 100_000 });
    const remote = new RemoteEngine({ url: doomed.url });
    await remote.load({ dir: '' });
    let text = '';
    let closing: Promise<void> | undefined;
    const result = await remote.generate({ messages: chat, maxNewTokens: 50_000 }, {
      onText: (t) => { text += t; closing ??= doomed.close(); }, // the server goes away once the answer has begun
    });
    await closing;
    assert.ok(result.text.length > 0, 'what arrived is kept');
    assert.equal(result.text, text);
    assert.match(result.interrupted ?? '', /broke mid-answer|without saying it was complete/);
    assert.notEqual(result.finishReason, 'cancelled');
  });
});
