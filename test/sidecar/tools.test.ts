// The tool loop through the real sidecar (dist/sidecar.js, a child process, JSON-RPC over IPC) on the tiny model in
// REPLAY MODE (test double, sidecar/engine/replay.ts): the model loads and runs as usual, but its answers are the
// canned replies below, so "the model" makes known tool calls. The client here answers phi/runTool as the
// extension does. Checked: call → client → result → continued answer; toolExecution 'return'; a refused call;
// cancelling while the client runs a tool; and that the turn's messages re-render to the cached tokens.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CancellationTokenSource, createMessageConnection, IPCMessageReader, IPCMessageWriter, type CancellationToken,
  type MessageConnection,
} from 'vscode-languageserver-protocol/node';
import {
  ChatDeltaNotification, ChatRequest, LoadModelRequest, RenderPromptRequest, RunToolRequest, ToolStepNotification,
  type ChatMessage, type RunToolParams, type ToolDefinition, type ToolResult, type ToolStepNotice,
} from '../../sidecar/protocol';
import { ensureModel } from '../fixtures/models';

const sidecar = path.join(__dirname, '..', '..', 'dist', 'sidecar.js');

const tools: ToolDefinition[] = [{
  name: 'read_file',
  description: 'Read a file of the workspace.',
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'], additionalProperties: false },
}];
const readCall = (file: string) => `<|tool_call|>[{"name": "read_file", "arguments": {"path": "${file}"}}]<|/tool_call|>`;

// The canned replies, one per generation, in the order the tests below use them.
const replies = [
  // client execution: a call, then the answer, then the next turn's answer
  `Let me look.${readCall('notes.md')}`,
  'The notes say hello.',
  'Nothing else.',
  // 'return': the call ends the turn; the caller's next request carries the result
  readCall('a.ts'),
  'a.ts is empty.',
  // a call of an unknown tool is refused and the model told
  '<|tool_call|>[{"name": "delete_everything", "arguments": {}}]<|/tool_call|>',
  'Sorry, I cannot do that.',
  // cancelled while the client runs the tool
  readCall('slow.md'),
  // after the cancel, the sidecar still answers
  'Still here.',
];

describe('tool calls through the sidecar (tiny model, replay mode)', () => {
  let child: ChildProcess;
  let rpc: MessageConnection;
  const deltas = new Map<string, string>();
  const refused: ToolStepNotice[] = [];
  /** How the client answers phi/runTool; each test sets it. */
  let runTool: (params: RunToolParams, token: CancellationToken) => Promise<ToolResult> = async () => ({ content: '' });
  const toolRequests: RunToolParams[] = [];
  const user: ChatMessage[] = [{ role: 'user', content: 'What do my notes say?' }];

  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-replay-'));
    const script = path.join(dir, 'replies.json');
    fs.writeFileSync(script, JSON.stringify(replies));
    child = fork(sidecar, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, PHI_LOCAL_REPLAY: script } });
    rpc = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    rpc.onNotification(ChatDeltaNotification, (d) => { deltas.set(d.turnId, (deltas.get(d.turnId) ?? '') + d.text); });
    rpc.onNotification(ToolStepNotification, (n) => { refused.push(n); });
    rpc.onRequest(RunToolRequest, (params, token) => {
      toolRequests.push(params);
      return runTool(params, token);
    });
    const logs: string[] = [];
    rpc.onNotification('window/logMessage', (m: { message: string }) => { logs.push(m.message); });
    rpc.onRequest('window/workDoneProgress/create', () => null);
    rpc.listen();
    await rpc.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
    await rpc.sendNotification('initialized', {});
    const info = await rpc.sendRequest(LoadModelRequest, { dir: ensureModel('tiny'), executionProvider: 'cpu', threads: 2 });
    assert.ok(info.warnings.some((w) => /Replay mode \(test double\)/.test(w)), 'the load says it is replay mode');
    assert.ok(logs.some((l) => /Replay mode/.test(l)), 'and so does the log');
  });
  after(() => {
    rpc?.dispose();
    child?.kill('SIGKILL');
  });

  it('a call goes to the client, its result to the model, and the turn continues to the answer', async () => {
    runTool = async ({ call }) => ({ content: `contents of ${call.arguments.path}: hello` });
    const result = await rpc.sendRequest(ChatRequest, { turnId: 'c1', messages: user, tools });
    assert.equal(toolRequests.length, 1);
    const [{ turnId, call }] = toolRequests;
    assert.equal(turnId, 'c1');
    assert.equal(call.name, 'read_file');
    assert.deepEqual(call.arguments, { path: 'notes.md' });
    assert.match(call.id, /^call_/);
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.text, 'Let me look.The notes say hello.');
    assert.equal(deltas.get('c1'), result.text, 'the stream holds the text, and no call markup');
    assert.deepEqual(result.messages, [
      { role: 'assistant', content: 'Let me look.', toolCalls: [{ name: 'read_file', arguments: { path: 'notes.md' } }] },
      { role: 'tool', name: 'read_file', content: 'contents of notes.md: hello' },
      { role: 'assistant', content: 'The notes say hello.' },
    ]);

    // The turn's messages render back to the tokens in the cache: the next turn reuses all of them.
    const throughResult = await rpc.sendRequest(RenderPromptRequest, { messages: [...user, ...result.messages.slice(0, 2)], tools });
    const next = await rpc.sendRequest(ChatRequest, {
      turnId: 'c2', tools, messages: [...user, ...result.messages, { role: 'user', content: 'Anything else?' }],
    });
    assert.equal(next.text, 'Nothing else.');
    assert.equal(next.usage.reusedTokens, throughResult.ids.length + await tokenCount('The notes say hello.'),
      'reused: the conversation through the tool result, and the answer');
  });

  it("toolExecution 'return' ends the turn at the call; the caller's result continues it", async () => {
    const before = toolRequests.length;
    const result = await rpc.sendRequest(ChatRequest, { turnId: 'r1', messages: user, tools, toolExecution: 'return' });
    assert.equal(toolRequests.length, before, 'the client was not asked to run it');
    assert.equal(result.finishReason, 'tool-calls');
    assert.equal(result.toolCalls?.length, 1);
    assert.equal(result.toolCalls![0].name, 'read_file');
    assert.deepEqual(result.toolCalls![0].arguments, { path: 'a.ts' });
    assert.deepEqual(result.messages, [{ role: 'assistant', content: '', toolCalls: [{ name: 'read_file', arguments: { path: 'a.ts' } }] }]);
    assert.equal(deltas.get('r1') ?? '', '');
    const next = await rpc.sendRequest(ChatRequest, {
      turnId: 'r2', tools, toolExecution: 'return',
      messages: [...user, ...result.messages, { role: 'tool', name: 'read_file', content: '' }],
    });
    assert.equal(next.finishReason, 'stop');
    assert.equal(next.text, 'a.ts is empty.');
    assert.ok(next.usage.reusedTokens >= result.usage.promptTokens + result.tokenIds.length - 1, 'the call stayed cached');
  });

  it('a call that cannot be used is reported, and the model is told why', async () => {
    const before = toolRequests.length;
    const result = await rpc.sendRequest(ChatRequest, { turnId: 'x1', messages: user, tools });
    assert.equal(toolRequests.length, before);
    assert.equal(refused.length, 1);
    assert.equal(refused[0].turnId, 'x1');
    assert.match(refused[0].error, /no tool "delete_everything"/);
    assert.match(refused[0].raw, /delete_everything/);
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.text, 'Sorry, I cannot do that.');
    assert.equal(result.messages.length, 3);
    assert.equal(result.messages[1].role, 'tool');
    assert.match(JSON.parse(result.messages[1].content).error, /could not be used: There is no tool "delete_everything"/);
  });

  it('cancelling while the client runs a tool ends the turn at once and cancels the tool request', async () => {
    const source = new CancellationTokenSource();
    let toolCancelled!: () => void;
    const cancelledSeen = new Promise<void>((resolve) => { toolCancelled = resolve; });
    runTool = (_params, token) => new Promise<ToolResult>((resolve) => {
      token.onCancellationRequested(() => { toolCancelled(); resolve({ content: 'too late' }); });
      source.cancel(); // the user presses Stop while the tool runs
    });
    const result = await rpc.sendRequest(ChatRequest, { turnId: 'k1', messages: user, tools }, source.token);
    assert.equal(result.finishReason, 'cancelled');
    assert.deepEqual(result.messages[0].toolCalls, [{ name: 'read_file', arguments: { path: 'slow.md' } }]);
    assert.equal(result.messages[1].role, 'tool');
    assert.match(JSON.parse(result.messages[1].content).error, /stopped the answer before this tool finished/);
    await cancelledSeen; // the client's phi/runTool got $/cancelRequest
    const next = await rpc.sendRequest(ChatRequest, { turnId: 'k2', messages: user, tools });
    assert.equal(next.text, 'Still here.');
  });

  /** Tokens of a text inside a message: the difference of two rendered prompts. */
  async function tokenCount(text: string): Promise<number> {
    const a = await rpc.sendRequest(RenderPromptRequest, { messages: [{ role: 'user', content: '' }] });
    const b = await rpc.sendRequest(RenderPromptRequest, { messages: [{ role: 'user', content: text }] });
    return b.ids.length - a.ids.length;
  }
});

describe('constrained calls in the bundled sidecar (tiny model, random weights)', () => {
  let child: ChildProcess;
  let rpc: MessageConnection;

  before(async () => {
    child = fork(sidecar, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    rpc = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    rpc.onNotification('window/logMessage', () => {});
    rpc.listen();
    await rpc.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
    await rpc.sendRequest(LoadModelRequest, { dir: ensureModel('tiny'), executionProvider: 'cpu', threads: 2 });
  });
  after(() => {
    rpc?.dispose();
    child?.kill('SIGKILL');
  });

  it("a required call from random weights is valid (xgrammar's wasm runs in the bundle's worker)", async () => {
    const shortPath: ToolDefinition[] = [{
      name: 'read_file',
      parameters: { type: 'object', properties: { path: { type: 'string', maxLength: 24 } }, required: ['path'], additionalProperties: false },
    }];
    const result = await rpc.sendRequest(ChatRequest, {
      turnId: 'g1', tools: shortPath, toolChoice: 'required', toolExecution: 'return', maxNewTokens: 200,
      messages: [{ role: 'user', content: 'Read a file.' }], sampling: { temperature: 1, seed: 5 },
    });
    assert.equal(result.finishReason, 'tool-calls');
    assert.ok(result.toolCalls!.length >= 1);
    for (const call of result.toolCalls!) {
      assert.equal(call.name, 'read_file');
      assert.equal(typeof call.arguments.path, 'string');
    }
  });
});
