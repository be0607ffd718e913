// RECORDED SHAPES (a test double of vLLM, which cannot run here): vLLM's exact wire shapes, as its OpenAI server
// (vllm/entrypoints/openai/protocol.py, serving_chat.py, serving_completion.py, the api-key middleware) writes them,
// replayed by a local HTTP server to the real remote engine (sidecar/remote/). What each test proves is what the
// engine does with that shape: streamed `tool_calls` deltas joined by index beside `content: null`; a Phi-4 call written
// as `functools[…]` text; the empty stream of vLLM's phi4_mini_json parser; the completions mode's requests (token ids,
// structured output, the call token as stop string) and its answers (stop_reason); vLLM's error bodies.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PromptBuilder } from '../../sidecar/prompt/promptBuilder';
import { readPromptFiles } from '../../sidecar/prompt/promptFiles';
import { RemoteEngine } from '../../sidecar/remote/remoteEngine';
import { ensureModel } from '../fixtures/models';

const MODEL = 'microsoft/Phi-4-mini-instruct';
const weather = {
  name: 'get_weather', description: 'The weather of a city.',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const ask = [{ role: 'user' as const, content: 'Weather in Oslo?' }];

/** One replayed answer: a status and either SSE events (each a JSON value, then [DONE]) or a body. */
interface Replay { status?: number; events?: unknown[]; body?: unknown }

const chatChunk = (delta: unknown, finish: string | null = null) => ({
  id: 'chatcmpl-4f1c', object: 'chat.completion.chunk', created: 1764770000, model: MODEL,
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, ...(finish ? { stop_reason: null } : {}) }],
});
const textChunk = (text: string, finish: string | null = null, stopReason: string | number | null = null) => ({
  id: 'cmpl-9a2e', object: 'text_completion', created: 1764770000, model: MODEL,
  choices: [{ index: 0, text, logprobs: null, finish_reason: finish, stop_reason: stopReason }],
});
const usageChunk = (prompt: number, completion: number) => ({
  id: 'cmpl-9a2e', object: 'text_completion', created: 1764770000, model: MODEL, choices: [],
  usage: { prompt_tokens: prompt, total_tokens: prompt + completion, completion_tokens: completion },
});

describe('remote engine against vLLM\'s recorded wire shapes (RECORDED SHAPES, a local replay server)', () => {
  let server: http.Server;
  let url: string;
  /** What the next POSTs answer, in order; what they asked. */
  let replies: Replay[] = [];
  const asked: { path: string; body: Record<string, unknown> }[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => { raw += c; });
      req.on('end', () => {
        if (req.method === 'GET' && req.url === '/v1/models') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ object: 'list', data: [{ id: MODEL, object: 'model', created: 1764770000, owned_by: 'vllm', root: MODEL, parent: null, max_model_len: 131072, permission: [] }] }));
        }
        asked.push({ path: req.url ?? '', body: raw ? JSON.parse(raw) : {} });
        const reply = replies.shift() ?? { status: 500, body: { error: { message: 'no reply left', type: 'InternalServerError', param: null, code: 500 } } };
        if (reply.events) {
          res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
          for (const e of reply.events) res.write(`data: ${JSON.stringify(e)}\n\n`);
          return res.end('data: [DONE]\n\n');
        }
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  describe('the chat API', () => {
    let remote: RemoteEngine;
    before(async () => {
      remote = new RemoteEngine({ url, api: 'chat' });
      await remote.load({ dir: '' });
    });

    it('streamed tool_calls deltas (an id and name first, arguments in pieces, content null) become one call list', async () => {
      replies = [{ events: [
        chatChunk({ role: 'assistant', content: '' }),
        chatChunk({ tool_calls: [{ id: 'chatcmpl-tool-7c2b', type: 'function', index: 0, function: { name: 'get_weather' } }] }),
        chatChunk({ content: null, tool_calls: [{ index: 0, function: { arguments: '{"city": ' } }] }),
        chatChunk({ content: null, tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
        chatChunk({}, 'tool_calls'),
      ] }];
      const result = await remote.generate({ messages: ask, tools: [weather] });
      assert.equal(result.finishReason, 'tool-call');
      assert.equal(result.text, '');
      assert.deepEqual(JSON.parse(result.toolCall!.text), [{ name: 'get_weather', arguments: { city: 'Oslo' } }]);
      const sent = asked.at(-1)!.body;
      assert.equal(sent.tool_choice, 'auto');
      assert.deepEqual((sent.tools as { function: { name: string } }[]).map((t) => t.function.name), ['get_weather']);
    });

    it('a call written as functools[…] text (vLLM\'s Phi-4 template without its parser) is taken as the call, never shown', async () => {
      replies = [{ events: [
        chatChunk({ role: 'assistant', content: '' }),
        chatChunk({ content: 'func' }), chatChunk({ content: 'tools[{"name": "get_weather", ' }),
        chatChunk({ content: '"arguments": {"city": "Oslo"}}]' }), chatChunk({}, 'stop'),
      ] }];
      const shown: string[] = [];
      const result = await remote.generate({ messages: ask, tools: [weather] }, { onText: (t) => shown.push(t) });
      assert.deepEqual(shown, []);
      assert.equal(result.finishReason, 'tool-call');
      assert.deepEqual(JSON.parse(result.toolCall!.text), [{ name: 'get_weather', arguments: { city: 'Oslo' } }]);
    });

    it('text that only starts like functools is shown whole', async () => {
      replies = [{ events: [chatChunk({ content: 'fun' }), chatChunk({ content: 'ny weather' }), chatChunk({}, 'stop')] }];
      const shown: string[] = [];
      const result = await remote.generate({ messages: ask, tools: [weather] }, { onText: (t) => shown.push(t) });
      assert.equal(result.text, 'funny weather');
      assert.equal(shown.join(''), 'funny weather');
      assert.equal(result.toolCall, undefined);
    });

    it('the empty stream of vLLM\'s phi4_mini_json parser is said, with the fix', async () => {
      replies = [{ events: [chatChunk({ role: 'assistant', content: '' }), chatChunk({}, 'stop')] }];
      const result = await remote.generate({ messages: ask, tools: [weather] });
      assert.equal(result.text, '');
      assert.match(result.interrupted ?? '', /empty answer.*phi4_mini_json.*"completions"/);
    });

    it('vLLM\'s error bodies: a prompt past the context (400), an unknown model (404), a missing key (401)', async () => {
      replies = [
        { status: 400, body: { object: 'error', message: "This model's maximum context length is 131072 tokens. However, you requested 140000 tokens (139000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.", type: 'BadRequestError', param: null, code: 400 } },
        { status: 404, body: { error: { message: 'The model `phi` does not exist.', type: 'NotFoundError', param: null, code: 404 } } },
        { status: 401, body: { error: 'Unauthorized' } },
      ];
      await assert.rejects(remote.generate({ messages: ask }), (e: { code?: string; message: string }) => e.code === 'prompt-too-long' && /maximum context length is 131072/.test(e.message));
      await assert.rejects(remote.generate({ messages: ask }), (e: { message: string }) => /404: The model `phi` does not exist\..*pick a model/.test(e.message));
      await assert.rejects(remote.generate({ messages: ask }), (e: { message: string }) => /401: .*Unauthorized.*Set the server's API key/.test(e.message));
    });
  });

  describe('the completions API (Phi-4\'s prompt rendered here)', () => {
    let remote: RemoteEngine;
    let callId: number;
    before(async () => {
      remote = new RemoteEngine({ url, tokenizerDir: ensureModel('tiny') });
      await remote.load({ dir: '' });
      assert.equal(remote.api, 'completions');
      callId = PromptBuilder.fromFolder(readPromptFiles(ensureModel('tiny'))).tokenizer.tokenToId('<|tool_call|>')!;
    });

    it('text, then the call token as vLLM\'s stop_reason, then a call list under structured output', async () => {
      replies = [
        { events: [textChunk('Let me'), textChunk(' check.'), textChunk('<|tool_call|>', 'stop', '<|tool_call|>'), usageChunk(40, 3)] },
        { events: [textChunk('[{"name": "get_weather", '), textChunk('"arguments": {"city": "Oslo"}}]'), textChunk('', 'stop', 200020), usageChunk(46, 12)] },
      ];
      const shown: string[] = [];
      const before = asked.length;
      const result = await remote.generate({ messages: ask, tools: [weather] }, { onText: (t) => shown.push(t) });
      assert.equal(result.text, 'Let me check.');
      assert.equal(shown.join(''), 'Let me check.', 'the call token is never shown');
      assert.equal(result.finishReason, 'tool-call');
      assert.equal(result.toolCall?.closed, true);
      assert.deepEqual(JSON.parse(result.toolCall!.text), [{ name: 'get_weather', arguments: { city: 'Oslo' } }]);
      assert.deepEqual({ prompt: result.usage.promptTokens, completion: result.usage.completionTokens }, { prompt: 40, completion: 15 });
      const [text, call] = asked.slice(before);
      const expected = await remote.renderPrompt(ask, [weather]);
      assert.equal(text.path, '/v1/completions');
      assert.deepEqual(text.body.prompt, expected.ids, 'the prompt goes as the local engine\'s token ids');
      assert.deepEqual(text.body.stop, ['<|tool_call|>']);
      assert.equal(text.body.skip_special_tokens, false);
      assert.equal(text.body.include_stop_str_in_output, true);
      const callPrompt = call.body.prompt as number[];
      assert.deepEqual(callPrompt.slice(0, expected.ids.length), expected.ids);
      assert.equal(callPrompt.at(-1), callId, 'the call list is asked for after the call token');
      const schema = (call.body.structured_outputs as { json: { items: unknown } }).json;
      assert.equal((schema as { type?: string }).type, 'array');
      assert.deepEqual(call.body.json_schema, schema, 'llama-server\'s name for the same schema');
    });

    it('an answer without a call: eos ends it (stop_reason null), end markers are never shown', async () => {
      replies = [{ events: [textChunk('Sunny in Oslo.'), textChunk('<|end|>'), textChunk('', 'stop', null)] }];
      const result = await remote.generate({ messages: ask, tools: [weather] });
      assert.equal(result.text, 'Sunny in Oslo.');
      assert.equal(result.finishReason, 'stop');
      assert.equal(result.toolCall, undefined);
    });

    it('tool choice none bans the call token by logit_bias; required starts with the call list', async () => {
      replies = [{ events: [textChunk('No tools.', 'stop')] }];
      await remote.generate({ messages: ask, tools: [weather], toolChoice: 'none' });
      assert.deepEqual(asked.at(-1)!.body.logit_bias, { [callId]: -100 });
      replies = [{ events: [textChunk('[{"name": "get_weather", "arguments": {"city": "Oslo"}}]', 'stop', 200020)] }];
      const before = asked.length;
      const result = await remote.generate({ messages: ask, tools: [weather], toolChoice: 'required' });
      assert.equal(asked.length, before + 1, 'one request: the call list');
      assert.equal(result.finishReason, 'tool-call');
      assert.equal((asked.at(-1)!.body.prompt as number[]).at(-1), callId);
    });
  });
});
