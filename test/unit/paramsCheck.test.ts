// The params check at the sidecar's boundary (sidecar/paramsCheck.ts): what the extension sends passes, each kind of
// mistake is refused with a message that names the field, and every phi/* request that takes params has a schema.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LIMITS, MAX_THREADS, PARAM_SCHEMAS, paramsProblem } from '../../sidecar/paramsCheck';
import * as protocol from '../../sidecar/protocol';

// Typed as the protocol declares them: if a field is renamed there, this file stops compiling or these fail.
const chat: protocol.ChatParams = {
  turnId: 't', conversationId: 'c', maxNewTokens: 100, toolChoice: 'auto', toolExecution: 'client', maxToolCalls: 5,
  sampling: { temperature: 0.7, topK: 40, topP: 0.9, repetitionPenalty: 1.1, seed: 7 },
  messages: [
    { role: 'system', content: 's' }, { role: 'user', content: 'u' },
    { role: 'assistant', content: '', toolCalls: [{ name: 'read_file', arguments: { path: 'a' } }] },
    { role: 'tool', content: '{}', name: 'read_file' },
  ],
  tools: [{ name: 'read_file', description: 'd', parameters: { type: 'object' } }],
};
const load: protocol.LoadModelParams = { dir: '/m', executionProvider: 'cpu', threads: 1, contextLength: 4096, workDoneToken: 'x' };
const completion: protocol.InlineCompletionParams = {
  languageId: 'ts', fileName: 'a.ts', prefix: 'a', suffix: 'b', multiline: 'auto', indent: { insertSpaces: true, tabSize: 2 },
  maxTokens: 48, timeoutMs: 4000, maxPrefixTokens: 100, maxSuffixTokens: 100,
};

describe('params check at the sidecar boundary', () => {
  it('passes what the protocol declares', () => {
    assert.equal(paramsProblem(protocol.ChatRequest.method, chat), undefined);
    assert.equal(paramsProblem(protocol.LoadModelRequest.method, load), undefined);
    assert.equal(paramsProblem(protocol.InlineCompletionRequest.method, completion), undefined);
    assert.equal(paramsProblem(protocol.CountTokensRequest.method, { text: 'x' } satisfies protocol.CountTokensParams), undefined);
    assert.equal(paramsProblem(protocol.RenderPromptRequest.method, { messages: chat.messages } satisfies protocol.RenderPromptParams), undefined);
  });

  it('refuses each kind of mistake, naming the field', () => {
    const cases: [string, unknown, RegExp][] = [
      [protocol.ChatRequest.method, { ...chat, maxNewTokens: 'x' }, /params\.maxNewTokens must be integer/],
      [protocol.ChatRequest.method, { ...chat, maxNewTokens: LIMITS.maxNewTokens + 1 }, /params\.maxNewTokens must be <=/],
      [protocol.ChatRequest.method, { ...chat, messages: [{ role: 'end', content: 'x' }] }, /params\.messages\.0\.role must be one of "system", "user", "assistant", "tool"/],
      [protocol.ChatRequest.method, { ...chat, messages: [{ role: 'user', content: 5 }] }, /params\.messages\.0\.content must be string/],
      [protocol.ChatRequest.method, { turnId: 't' }, /must have required property 'messages'/],
      [protocol.ChatRequest.method, null, /params must be object/],
      [protocol.ChatRequest.method, { ...chat, toolChoice: 'sometimes' }, /toolChoice must be one of/],
      [protocol.LoadModelRequest.method, { ...load, threads: MAX_THREADS + 1 }, new RegExp(`threads must be at most ${MAX_THREADS}, the CPU threads of this machine`)],
      [protocol.LoadModelRequest.method, { ...load, executionProvider: 'tpu' }, /executionProvider must be one of/],
      [protocol.InlineCompletionRequest.method, { ...completion, prefix: 'x'.repeat(LIMITS.messageChars + 1) }, /params\.prefix must NOT have more than/],
    ];
    for (const [method, params, expected] of cases) assert.match(paramsProblem(method, params) ?? 'passed', expected, JSON.stringify(params)?.slice(0, 80));
  });

  it('every client → sidecar request that takes params has a schema', () => {
    const withParams = Object.values(protocol.ClientToSidecar).filter((m) => (m as { numberOfParams: number }).numberOfParams > 0).map((m) => m.method);
    assert.deepEqual(withParams.filter((m) => !PARAM_SCHEMAS[m]), []);
  });
});
