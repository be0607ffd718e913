// The tool flow's decisions, with a scripted stand-in for the engine (named `scriptedEngine` below): which tool
// choice each step gets, what the model is told for each kind of result, the call limit, and refused calls.
// The real engine and sidecar run the same flow in test/sidecar/tools.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GenerateRequest, GenerateResult } from '../../sidecar/engine/generate';
import type { ToolDefinition } from '../../sidecar/prompt/template';
import type { ChatParams, ToolCallInfo, ToolResult, ToolStepNotice } from '../../sidecar/protocol';
import { runChatTurn, type TurnIO } from '../../sidecar/chat/chatTurn';

const tools: ToolDefinition[] = [{
  name: 'read_file',
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
}];

function step(text: string, call?: string, finishReason: GenerateResult['finishReason'] = call ? 'tool-call' : 'stop'): GenerateResult {
  return {
    text, tokenIds: [1, 2, 3], finishReason, seed: 1,
    ...(call !== undefined ? { toolCall: { text: call, closed: finishReason === 'tool-call' } } : {}),
    usage: { promptTokens: 10, reusedTokens: 0, completionTokens: 3 },
    timings: { timeToFirstTokenMs: 1, prefillMs: 1, prefillTokensPerSecond: 1, decodeMs: 1, decodeTokensPerSecond: 1, totalMs: 2 },
  };
}

const call = (path: string) => `[{"name": "read_file", "arguments": {"path": "${path}"}}]`;

/** A stand-in for the engine: answers each generation with the next scripted step, and records the requests. */
function scriptedEngine(steps: GenerateResult[], runTool: (call: ToolCallInfo) => Promise<ToolResult> = async () => ({ content: 'ok' })) {
  const requests: GenerateRequest[] = [];
  const refused: ToolStepNotice[] = [];
  const text: string[] = [];
  const io: TurnIO = {
    generate: async (request, onText) => {
      requests.push(request);
      const next = steps.shift();
      assert.ok(next, 'more generations than scripted');
      if (next.text) onText(next.text, 3);
      return next;
    },
    runTool,
    refused: (n) => refused.push(n),
    text: (t) => text.push(t),
  };
  return { io, requests, refused, text };
}

const params = (more: Partial<ChatParams> = {}): ChatParams => ({ turnId: 't', messages: [{ role: 'user', content: 'hi' }], tools, ...more });
const signal = () => new AbortController().signal;

describe('tool flow (TEST DOUBLE: scripted engine, scripted client tool runs)', () => {
  it("'required' applies to the first step only; the results go to the model in order", async () => {
    const e = scriptedEngine([step('', call('a')), step('Done.')]);
    const r = await runChatTurn(params({ toolChoice: 'required' }), e.io, signal());
    assert.deepEqual(e.requests.map((q) => q.toolChoice), ['required', 'auto']);
    assert.deepEqual(e.requests[1].messages.slice(1), r.messages.slice(0, 2));
    assert.equal(r.finishReason, 'stop');
    assert.equal(r.text, 'Done.');
    assert.deepEqual(r.tokenIds.length, 6);
    assert.equal(r.usage.completionTokens, 6);
  });

  it('after maxToolCalls the model must answer (tool choice none), and extra calls in a list are refused', async () => {
    const two = '[{"name": "read_file", "arguments": {"path": "a"}}, {"name": "read_file", "arguments": {"path": "b"}}]';
    const ran: string[] = [];
    const e = scriptedEngine([step('', call('x')), step('', two), step('Answer.')], async (c) => {
      ran.push(String(c.arguments.path));
      return { content: 'ok' };
    });
    const r = await runChatTurn(params({ maxToolCalls: 2 }), e.io, signal());
    assert.deepEqual(ran, ['x', 'a']);
    assert.deepEqual(e.requests.map((q) => [q.toolChoice, q.maxToolCalls]), [[undefined, 2], [undefined, 1], ['none', undefined]]);
    const results = r.messages.filter((m) => m.role === 'tool').map((m) => m.content);
    assert.deepEqual(results.slice(0, 2), ['ok', 'ok']);
    assert.match(JSON.parse(results[2]).error, /limit of 2 tool calls/);
  });

  it('a denied, a failed and a throwing tool each become an error result the model sees', async () => {
    const answers: Array<() => Promise<ToolResult>> = [
      async () => ({ content: 'Not this file.', denied: true }),
      async () => ({ content: 'ENOENT: no such file', isError: true }),
      async () => { throw new Error('connection lost'); },
    ];
    const e = scriptedEngine([step('', call('a')), step('', call('b')), step('', call('c')), step('Sorry.')], () => answers.shift()!());
    const r = await runChatTurn(params(), e.io, signal());
    const errors = r.messages.filter((m) => m.role === 'tool').map((m) => JSON.parse(m.content).error);
    assert.deepEqual(errors, ['The user denied this call. Not this file.', 'ENOENT: no such file', 'The tool failed: connection lost']);
    assert.equal(r.text, 'Sorry.');
  });

  it('an unusable call is refused (notice + error result) and the turn goes on', async () => {
    const e = scriptedEngine([step('Hm.', '[{"name": "rm", "arguments": {}}]'), step('OK.')]);
    const r = await runChatTurn(params(), e.io, signal());
    assert.equal(e.refused.length, 1);
    assert.match(e.refused[0].error, /no tool "rm"/);
    assert.equal(r.messages[0].content, 'Hm.');
    assert.equal(r.messages[0].toolCalls, undefined);
    assert.match(JSON.parse(r.messages[1].content).error, /could not be used/);
    assert.equal(r.text, 'Hm.OK.');
  });

  it('a call cut off by the token limit is refused and ends the turn with length', async () => {
    const e = scriptedEngine([step('', '[{"name": "read_file", "arguments": {"path": "a', 'length')]);
    const r = await runChatTurn(params(), e.io, signal());
    assert.equal(r.finishReason, 'length');
    assert.match(e.refused[0].error, /cut off/);
    assert.deepEqual(r.messages, [{ role: 'assistant', content: '' }]);
  });

  it('a call without its end tag that parses is still run (unconstrained output)', async () => {
    const e = scriptedEngine([step('', call('a'), 'stop'), step('Fine.')]);
    const r = await runChatTurn(params(), e.io, signal());
    assert.equal(r.messages[0].toolCalls?.[0].name, 'read_file');
    assert.equal(r.text, 'Fine.');
  });

  it('without tools, nothing else changes: one step, no tools offered, its text', async () => {
    const e = scriptedEngine([step('Hello.')]);
    const r = await runChatTurn({ turnId: 't', messages: [{ role: 'user', content: 'hi' }] }, e.io, signal());
    assert.equal(e.requests.length, 1);
    assert.deepEqual(r.messages, [{ role: 'assistant', content: 'Hello.' }]);
    assert.deepEqual(e.text, ['Hello.']);
    assert.deepEqual(e.requests[0].tools, []);
    assert.equal(r.finishReason, 'stop');
  });

  it("with toolChoice 'none', the engine is told 'none' and nothing else changes: one step, its text", async () => {
    // The scripted engine only records the request; that 'none' makes a call impossible on the real logits is the
    // engine's part (ToolCallDecoding), tested in test/unit/toolCallDecoding.test.ts.
    const ran: ToolCallInfo[] = [];
    const e = scriptedEngine([step('Hello.')], async (c) => { ran.push(c); return { content: 'ok' }; });
    const r = await runChatTurn(params({ toolChoice: 'none' }), e.io, signal());
    assert.equal(e.requests.length, 1, 'one generation step');
    assert.equal(e.requests[0].toolChoice, 'none');
    assert.deepEqual(e.requests[0].tools, tools, 'the tools are still passed on (the prompt stays the same)');
    assert.deepEqual(e.requests[0].messages, [{ role: 'user', content: 'hi' }]);
    assert.deepEqual(r.messages, [{ role: 'assistant', content: 'Hello.' }]);
    assert.deepEqual(e.text, ['Hello.']);
    assert.equal(r.text, 'Hello.');
    assert.equal(r.finishReason, 'stop');
    assert.deepEqual(ran, [], 'no tool ran');
    assert.deepEqual(e.refused, []);
  });
});
