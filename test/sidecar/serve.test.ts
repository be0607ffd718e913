// `phi-local serve` (sidecar/serve/openaiServer.ts): the real local engine on the tiny model behind the real HTTP
// server, spoken to by the official `openai` npm client (a client nobody here wrote), and by raw HTTP where a test
// needs a request the client would not send. The model is the EXACT_MODEL, so a request answered beside others gives
// the same greedy tokens as the same request alone (see test/fixtures/models.ts).
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, before, describe, it } from 'node:test';
import Ajv from 'ajv';
import OpenAI from 'openai';
import { Engine } from '../../sidecar/engine/engine';
import { serveOpenAi, type RunningServer } from '../../sidecar/serve/openaiServer';
import { EXACT_MODEL, ensureModel } from '../fixtures/models';
import { RecordingEngine } from './recordingEngine';

const MODEL_ID = 'phi-tiny';
const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'The weather of a city.',
    parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Oslo', 'Bergen', 'Tromsø'] }, days: { type: 'integer', minimum: 1, maximum: 7 } }, required: ['city'], additionalProperties: false },
  },
};

function rawRequest(url: string, init: { method: string; path: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: init.method, path: init.path, headers: init.headers }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('phi-local serve: an OpenAI-compatible endpoint, through the official openai client (tiny model)', () => {
  let engine: RecordingEngine;
  let server: RunningServer;
  let client: OpenAI;

  before(async () => {
    engine = new RecordingEngine();
    await engine.load({ dir: ensureModel('tiny', EXACT_MODEL), executionProvider: 'cpu', threads: 2 });
    server = await serveOpenAi(engine, { port: 0, modelId: MODEL_ID, maxNewTokens: 100_000 });
    client = new OpenAI({ baseURL: server.url, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await server?.close();
    await engine?.dispose();
  });

  it('lists its model', async () => {
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), [MODEL_ID]);
  });

  it('streamed text equals the text of the same request not streamed', async () => {
    const body = { model: MODEL_ID, messages: [{ role: 'user' as const, content: 'Tell me about rivers.' }], max_tokens: 24, temperature: 0 };
    const whole = await client.chat.completions.create(body);
    const text = whole.choices[0].message.content ?? '';
    assert.ok(text.length > 0);
    assert.equal(whole.usage?.completion_tokens, engine.results.at(-1)!.usage.completionTokens);
    const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    let streamed = '';
    let chunks = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      if (!chunk.choices.length) continue;
      streamed += chunk.choices[0].delta.content ?? '';
      finish = chunk.choices[0].finish_reason ?? finish;
      chunks++;
    }
    assert.equal(streamed, text);
    assert.ok(chunks > 2, `${chunks} chunks: the text came in pieces`);
    assert.equal(finish, whole.choices[0].finish_reason);
    assert.equal(usage?.completion_tokens, whole.usage?.completion_tokens);
  });

  it('a required tool call streams as tool_calls deltas that parse and validate against the schema', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL_ID, stream: true, temperature: 0, max_tokens: 200, tools: [weather], tool_choice: 'required',
      messages: [{ role: 'user', content: 'What is the weather in Oslo?' }],
    });
    const calls: { id?: string; name?: string; arguments: string }[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const d of chunk.choices[0]?.delta.tool_calls ?? []) {
        calls[d.index] ??= { arguments: '' };
        calls[d.index].id ??= d.id;
        calls[d.index].name ??= d.function?.name;
        calls[d.index].arguments += d.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, 'tool_calls');
    assert.ok(calls.length >= 1);
    const validate = new Ajv().compile(weather.function.parameters);
    for (const call of calls) {
      assert.equal(call.name, 'get_weather');
      assert.match(call.id ?? '', /^call_/);
      const args = JSON.parse(call.arguments);
      assert.ok(validate(args), `arguments ${call.arguments}: ${JSON.stringify(validate.errors)}`);
    }
  });

  describe('/v1/completions: a prompt the client rendered', () => {
    const messages = [{ role: 'user' as const, content: 'Tell me about lakes.' }];

    it('as text or as token ids: the chat answer to the same conversation; streamed equals not streamed; usage', async () => {
      const rendered = await engine.renderPrompt(messages);
      const chat = await client.chat.completions.create({ model: MODEL_ID, messages, max_tokens: 20, temperature: 0 });
      const byText = await client.completions.create({ model: MODEL_ID, prompt: rendered.text, max_tokens: 20, temperature: 0 });
      const byIds = await client.completions.create({ model: MODEL_ID, prompt: rendered.ids, max_tokens: 20, temperature: 0 });
      assert.equal(byText.choices[0].text, chat.choices[0].message.content);
      assert.equal(byIds.choices[0].text, byText.choices[0].text);
      assert.equal(byIds.usage?.prompt_tokens, rendered.ids.length);
      assert.equal(byIds.usage?.completion_tokens, chat.usage?.completion_tokens);
      const stream = await client.completions.create({ model: MODEL_ID, prompt: rendered.ids, max_tokens: 20, temperature: 0, stream: true });
      let streamed = '';
      let finish: string | null = null;
      for await (const chunk of stream) {
        streamed += chunk.choices[0]?.text ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      assert.equal(streamed, byIds.choices[0].text);
      assert.equal(finish, byIds.choices[0].finish_reason);
    });

    it('stop: the answer ends before the first stop string, streamed or not, and says which (vLLM\'s stop_reason)', async () => {
      const { ids } = await engine.renderPrompt(messages);
      const whole = (await client.completions.create({ model: MODEL_ID, prompt: ids, max_tokens: 40, temperature: 0 })).choices[0].text;
      // A stop string from the middle of the whole answer: two characters that first occur past its start.
      const at = Math.max(1, Math.floor(whole.length / 2));
      const stop = whole.slice(at, at + 2);
      assert.equal(stop.length, 2, `the answer is long enough to cut: ${JSON.stringify(whole)}`);
      const expected = whole.slice(0, whole.indexOf(stop));
      const cut = await client.completions.create({ model: MODEL_ID, prompt: ids, max_tokens: 40, temperature: 0, stop: [stop] });
      assert.equal(cut.choices[0].text, expected);
      assert.equal(cut.choices[0].finish_reason, 'stop');
      assert.equal((cut.choices[0] as unknown as { stop_reason: string }).stop_reason, stop);
      const stream = await client.completions.create({ model: MODEL_ID, prompt: ids, max_tokens: 40, temperature: 0, stop: [stop], stream: true });
      let streamed = '';
      for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? '';
      assert.equal(streamed, expected);
    });

    it('structured output under vLLM\'s and llama-server\'s names: the answer is JSON that fits the schema', async () => {
      const schema = { type: 'object', properties: { city: { type: 'string', enum: ['Oslo', 'Bergen'] }, days: { type: 'integer', minimum: 1, maximum: 7 } }, required: ['city', 'days'], additionalProperties: false };
      const validate = new Ajv().compile(schema);
      const { ids } = await engine.renderPrompt(messages);
      for (const extra of [{ structured_outputs: { json: schema } }, { json_schema: schema }, { guided_json: JSON.stringify(schema) }]) {
        const body = { model: MODEL_ID, prompt: ids, max_tokens: 64, temperature: 0, ...extra };
        const answer = await client.completions.create(body as OpenAI.CompletionCreateParamsNonStreaming);
        const value = JSON.parse(answer.choices[0].text);
        assert.ok(validate(value), `${answer.choices[0].text}: ${JSON.stringify(validate.errors)}`);
        assert.equal(answer.choices[0].finish_reason, 'stop', 'the answer ends once the value is complete');
      }
      // Without a schema the random model's answer is not that JSON: the constraint did the work.
      const free = (await client.completions.create({ model: MODEL_ID, prompt: ids, max_tokens: 64, temperature: 0 })).choices[0].text;
      assert.throws(() => { if (!validate(JSON.parse(free))) throw new Error('does not fit'); });
    });

    it('a token id the model lacks, or a schema past the bounds, is a 400 that says so', async () => {
      await assert.rejects(client.completions.create({ model: MODEL_ID, prompt: [1, 10_000_000], max_tokens: 4 }),
        (e: unknown) => e instanceof OpenAI.BadRequestError && /token id 10000000/.test(e.message));
      let deep: object = { type: 'string' };
      for (let i = 0; i < 40; i++) deep = { type: 'object', properties: { a: deep }, required: ['a'] };
      await assert.rejects(client.completions.create({ model: MODEL_ID, prompt: 'Hi', max_tokens: 4, json_schema: deep } as OpenAI.CompletionCreateParamsNonStreaming),
        (e: unknown) => e instanceof OpenAI.BadRequestError && /nested more than 32 levels/.test(e.message));
    });
  });

  it('a named tool_choice calls that tool; tool_choice none answers in text', async () => {
    const other = { type: 'function' as const, function: { name: 'noop', parameters: { type: 'object', properties: {} } } };
    const named = await client.chat.completions.create({
      model: MODEL_ID, temperature: 0, max_tokens: 200, tools: [other, weather], tool_choice: { type: 'function', function: { name: 'get_weather' } },
      messages: [{ role: 'user', content: 'Weather?' }],
    });
    assert.equal(named.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(named.choices[0].message.tool_calls?.map((c) => c.type === 'function' && c.function.name), ['get_weather']);
    const none = await client.chat.completions.create({
      model: MODEL_ID, temperature: 0, max_tokens: 12, tools: [weather], tool_choice: 'none', messages: [{ role: 'user', content: 'Weather?' }],
    });
    assert.equal(none.choices[0].message.tool_calls, undefined);
    assert.notEqual(none.choices[0].finish_reason, 'tool_calls');
  });

  it('aborting a stream stops the generation early', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: MODEL_ID, stream: true, max_tokens: 50_000, messages: [{ role: 'user', content: 'Write forever.' }] },
      { signal: controller.signal },
    );
    const before = engine.results.length;
    let chunks = 0;
    // The client ends the iteration (quietly or with an abort error, depending on where it was): either is fine.
    await (async () => {
      for await (const _ of stream) if (++chunks === 5) controller.abort();
    })().catch(() => undefined);
    assert.ok(chunks >= 5, `${chunks} chunks came before the abort`);
    // The server sees the connection close and aborts the engine's step, which then resolves as cancelled.
    for (let i = 0; i < 600 && engine.results.length === before; i++) await new Promise((r) => setTimeout(r, 50));
    const result = engine.results.at(-1)!;
    assert.equal(engine.results.length, before + 1, 'the aborted step ended');
    assert.equal(result.finishReason, 'cancelled', JSON.stringify({ ...result, tokenIds: undefined }));
    assert.ok(result.usage.completionTokens < 50_000, `${result.usage.completionTokens} tokens`);
  });

  it('errors come back as the client\'s typed errors: 404 for an unknown model, 400 for a bad request', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }), OpenAI.NotFoundError);
    await assert.rejects(client.chat.completions.create({ model: MODEL_ID, messages: [] }), (e: unknown) =>
      e instanceof OpenAI.BadRequestError && /messages must be a non-empty list/.test(e.message));
  });

  it('refuses a Host header that is not its own (DNS rebinding), a body over the limit, and an unknown route', async () => {
    const { port } = new URL(server.url);
    const rebind = await rawRequest(server.url, { method: 'GET', path: '/v1/models', headers: { host: `evil.example:${port}` } });
    assert.equal(rebind.status, 403);
    assert.match(JSON.parse(rebind.body).error.message, /not this server's address/);
    const big = await rawRequest(server.url, { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(5 << 20) });
    assert.equal(big.status, 413);
    const nowhere = await rawRequest(server.url, { method: 'GET', path: '/v2/nothing' });
    assert.equal(nowhere.status, 404);
  });

  it('50 concurrent streams: each answered (with the same tokens as alone) or refused with 429, none mixed up', async () => {
    const ask = (i: number) => client.chat.completions.create({
      model: MODEL_ID, stream: true, temperature: 0, max_tokens: 8, messages: [{ role: 'user', content: `Question number ${i}: name a colour.` }],
    }).then(async (stream) => {
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      return { i, text };
    });
    const outcomes = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => ask(i)));
    const answered = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const refused = outcomes.filter((o) => o.status === 'rejected');
    for (const o of refused) assert.ok((o as PromiseRejectedResult).reason instanceof OpenAI.RateLimitError, String((o as PromiseRejectedResult).reason));
    assert.equal(answered.length + refused.length, 50);
    // How many are refused depends on how fast the first ones finish; that a full queue refuses is tested below.
    assert.ok(answered.length >= 1, `${answered.length} answered, ${refused.length} refused (the queue holds 8)`);
    console.log(`  50 concurrent streams: ${answered.length} answered, ${refused.length} refused with 429`);
    for (const { i, text } of answered) {
      const alone = await ask(i);
      assert.equal(text, alone.text, `question ${i}: the answer beside others equals the answer alone`);
    }
  });
});

describe('phi-local serve: keys and limits', () => {
  let engine: Engine;
  before(async () => {
    engine = new Engine();
    await engine.load({ dir: ensureModel('tiny', EXACT_MODEL), executionProvider: 'cpu', threads: 2 });
  });
  after(() => engine?.dispose());

  it('with a key: a wrong or missing key is a 401 (AuthenticationError), the right one works', async () => {
    const server = await serveOpenAi(engine, { port: 0, modelId: MODEL_ID, apiKey: 's3cret' });
    try {
      await assert.rejects(new OpenAI({ baseURL: server.url, apiKey: 'wrong', maxRetries: 0 }).models.list(), OpenAI.AuthenticationError);
      const models = await new OpenAI({ baseURL: server.url, apiKey: 's3cret', maxRetries: 0 }).models.list();
      assert.equal(models.data[0].id, MODEL_ID);
    } finally {
      await server.close();
    }
  });

  it('listening beyond this machine without a key is refused', async () => {
    await assert.rejects(serveOpenAi(engine, { host: '0.0.0.0', port: 0, modelId: MODEL_ID }), /requires an API key/);
  });

  it('a full queue answers 429 with Retry-After (RateLimitError)', async () => {
    const server = await serveOpenAi(engine, { port: 0, modelId: MODEL_ID, maxQueue: 1, maxNewTokens: 100_000 });
    const client = new OpenAI({ baseURL: server.url, apiKey: 'x', maxRetries: 0 });
    const controller = new AbortController();
    try {
      const long = await client.chat.completions.create(
        { model: MODEL_ID, stream: true, max_tokens: 50_000, messages: [{ role: 'user', content: 'Go on.' }] }, { signal: controller.signal });
      const iterator = long[Symbol.asyncIterator]();
      await iterator.next(); // the first one is running
      await assert.rejects(client.chat.completions.create({ model: MODEL_ID, messages: [{ role: 'user', content: 'x' }] }), (e: unknown) =>
        e instanceof OpenAI.RateLimitError && e.headers?.get('retry-after') === '1');
      controller.abort();
      await iterator.next().catch(() => undefined);
    } finally {
      await server.close();
    }
  });
});
