// `phi-local serve`: an engine behind an OpenAI-compatible HTTP endpoint, so that other tools share the one model in
// memory. /v1/models, /v1/chat/completions (streamed as server-sent events or not; tools with tool_choice
// none/auto/required/named — the local engine's calls come from its constrained decoder, so they always parse and
// fit their schema), /v1/completions (a prompt the client rendered, as text or token ids; `stop`; structured output
// under vLLM's, llama-server's and OpenAI's names; special tokens stay in the text, as vLLM's
// `skip_special_tokens: false`) and vLLM's /tokenize. Errors in OpenAI's JSON shape.
//
// Safe by default: it listens on 127.0.0.1; any other address requires an API key; a request whose Host header is
// not a name of the bound address is refused (DNS rebinding: a web page cannot reach it through a name it controls);
// bodies are capped; requests beyond a small queue get 429 with Retry-After; a client that disconnects cancels its
// generation (the engine stops within one decode step).
import { timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EngineError } from '../engineError';
import type { GenerationResult, InferenceEngine } from '../inferenceEngine';
import { BadRequest, chatCompletionRequest, choiceOutcome, completionRequest, usage } from './openaiMapping';
import { StopStrings } from '../stopStrings';

export interface ServeOptions {
  /** Default 127.0.0.1. Any other address requires `apiKey`. */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Required as `Authorization: Bearer <key>` when set. */
  apiKey?: string;
  /** The id /v1/models lists and requests must name (default: the model folder's name). */
  modelId: string;
  /** Requests waiting or running beyond which the server answers 429 (default 8). */
  maxQueue?: number;
  /** Largest request body in bytes (default 4 MiB). */
  maxBodyBytes?: number;
  /** Upper bound for max_tokens (default 4096). */
  maxNewTokens?: number;
  log?(line: string): void;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8000/v1 */
  readonly url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly type: string, readonly code: string | null = null,
    readonly param: string | null = null, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

function sendError(res: http.ServerResponse, e: HttpError): void {
  if (res.headersSent) {
    // Mid-stream: an SSE error event, then the end (clients surface it as an APIError).
    res.end(`data: ${JSON.stringify({ error: { message: e.message, type: e.type, code: e.code, param: e.param } })}\n\n`);
    return;
  }
  sendJson(res, e.status, { error: { message: e.message, type: e.type, code: e.code, param: e.param } }, e.headers);
}

function readBody(req: http.IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return reject(new HttpError(413, `The request body is over the limit of ${limit} bytes.`, 'invalid_request_error', 'request_too_large'));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, `The request body is over the limit of ${limit} bytes.`, 'invalid_request_error', 'request_too_large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'The request body is not JSON.', 'invalid_request_error'));
      }
    });
    req.on('error', reject);
  });
}

function sameKey(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function serveOpenAi(engine: InferenceEngine, options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && !options.apiKey) {
    throw new Error(`Listening on ${host} (reachable from other machines) requires an API key: set --api-key or PHI_LOCAL_API_KEY.`);
  }
  const maxQueue = options.maxQueue ?? 8;
  const maxBodyBytes = options.maxBodyBytes ?? 4 << 20;
  const maxNewTokens = options.maxNewTokens ?? 4096;
  const log = options.log ?? (() => {});
  let inFlight = 0;
  let allowedHosts = new Set<string>();

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    if (!allowedHosts.has(hostHeader)) {
      throw new HttpError(403, `Host "${hostHeader}" is not this server's address; requests must name it (protection against DNS rebinding).`, 'invalid_request_error', 'host_not_allowed');
    }
    if (options.apiKey) {
      const auth = req.headers.authorization ?? '';
      const key = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (!sameKey(key, options.apiKey)) throw new HttpError(401, 'Incorrect or missing API key: send Authorization: Bearer <key>.', 'invalid_request_error', 'invalid_api_key');
    }
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/v1/models') {
      return sendJson(res, 200, { object: 'list', data: [{ id: options.modelId, object: 'model', created: 0, owned_by: 'phi-local', max_model_len: engine.model?.contextLength }] });
    }
    if (req.method === 'POST' && url.pathname === '/tokenize') return tokenize(req, res);
    if (req.method === 'POST' && url.pathname === '/v1/chat/completions') return chatCompletions(req, res);
    if (req.method === 'POST' && url.pathname === '/v1/completions') return completions(req, res);
    throw new HttpError(404, `No route ${req.method} ${url.pathname}: this server has GET /v1/models, POST /v1/chat/completions, POST /v1/completions and POST /tokenize.`, 'invalid_request_error', 'not_found');
  };

  /** vLLM's /tokenize: {model, prompt} or {model, messages} → {count, max_model_len, tokens}, by the model's tokenizer. */
  const tokenize = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const body = (await readBody(req, maxBodyBytes)) as { model?: unknown; prompt?: unknown; messages?: unknown };
    if (body?.model !== options.modelId) throw new HttpError(404, `The model ${JSON.stringify(body?.model)} does not exist here.`, 'invalid_request_error', 'model_not_found', 'model');
    let counted;
    if (typeof body.prompt === 'string') counted = await engine.countTokens({ text: body.prompt });
    else {
      try {
        counted = await engine.countTokens({ messages: chatCompletionRequest({ messages: body.messages }, maxNewTokens).generation.messages });
      } catch (e) {
        if (e instanceof BadRequest) throw new HttpError(400, e.message, 'invalid_request_error', null, e.param ?? null);
        throw e;
      }
    }
    sendJson(res, 200, { count: counted.tokens, max_model_len: engine.model?.contextLength, tokens: [] });
  };

  /** The body parsed by `parse` (a BadRequest is a 400), for the served model, with room in the queue. */
  const admit = async <T>(req: http.IncomingMessage, parse: (body: unknown, limit: number) => T): Promise<T> => {
    const body = await readBody(req, maxBodyBytes);
    let request: T;
    try {
      request = parse(body, maxNewTokens);
    } catch (e) {
      if (e instanceof BadRequest) throw new HttpError(400, e.message, 'invalid_request_error', null, e.param ?? null);
      throw e;
    }
    const model = (body as { model?: unknown }).model;
    if (model !== options.modelId) throw new HttpError(404, `The model ${JSON.stringify(model)} does not exist here; GET /v1/models lists "${options.modelId}".`, 'invalid_request_error', 'model_not_found', 'model');
    if (inFlight >= maxQueue) {
      throw new HttpError(429, `${inFlight} requests are running or waiting; try again shortly.`, 'rate_limit_exceeded', 'rate_limit_exceeded', null, { 'retry-after': '1' });
    }
    return request;
  };

  /** Aborted when the client goes away before its response was ended: its generation stops. */
  const clientGone = (res: http.ServerResponse): AbortController => {
    const abort = new AbortController();
    res.on('close', () => { if (!res.writableFinished) abort.abort(); });
    return abort;
  };

  const completions = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const request = await admit(req, completionRequest);
    inFlight++;
    const abort = clientGone(res);
    // A stop string ends the generation: this controller stops the engine, `abort` (the client) stops everything.
    const stopped = new AbortController();
    abort.signal.addEventListener('abort', () => stopped.abort(), { once: true });
    const stops = new StopStrings(request.stop, request.includeStop);
    const id = `cmpl-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (text: string, finishReason: string | null, extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: 'text_completion', created, model: options.modelId, choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason, ...extra }] })}\n\n`;
    let text = '';
    const onText = (piece: string) => {
      const out = stops.push(piece);
      if (stops.matched !== undefined) stopped.abort();
      if (!out) return;
      text += out;
      if (request.stream) res.write(chunk(out, null));
    };
    try {
      if (request.stream) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      const result = await engine.generate(request.generation, { signal: stopped.signal, onText });
      if (abort.signal.aborted) return;
      if (stops.matched === undefined) {
        const rest = stops.flush();
        text += rest;
        if (rest && request.stream) res.write(chunk(rest, null));
      }
      const finishReason = stops.matched !== undefined || result.finishReason !== 'length' ? 'stop' : 'length';
      // vLLM's stop_reason: the stop string that ended the answer (null for eos or the length limit).
      const stopReason = { stop_reason: stops.matched ?? null };
      const counted = usage(result);
      if (request.stream) {
        res.write(chunk('', finishReason, stopReason));
        if (request.includeUsage) res.write(`data: ${JSON.stringify({ id, object: 'text_completion', created, model: options.modelId, choices: [], usage: counted })}\n\n`);
        res.end('data: [DONE]\n\n');
      } else {
        sendJson(res, 200, {
          id, object: 'text_completion', created, model: options.modelId,
          choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason, ...stopReason }], usage: counted,
        });
      }
      log(`completion ${result.usage.promptTokens}+${result.usage.completionTokens} tokens, ${stops.matched !== undefined ? 'stop string' : result.finishReason}`);
    } finally {
      inFlight--;
    }
  };

  const chatCompletions = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const request = await admit(req, chatCompletionRequest);
    inFlight++;
    const abort = clientGone(res);
    const id = `chatcmpl-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (delta: unknown, finishReason: string | null, extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: options.modelId, choices: [{ index: 0, delta, finish_reason: finishReason }], ...extra })}\n\n`;
    try {
      let result: GenerationResult;
      if (request.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        res.write(chunk({ role: 'assistant', content: '' }, null));
        result = await engine.generate(request.generation, { signal: abort.signal, onText: (text) => res.write(chunk({ content: text }, null)) });
        if (abort.signal.aborted) return;
        const outcome = choiceOutcome(result, request.generation.tools ?? []);
        outcome.toolCalls?.forEach((call, index) => res.write(chunk({ tool_calls: [{ index, ...call }] }, null)));
        res.write(chunk({}, outcome.finishReason));
        if (request.includeUsage) {
          res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: options.modelId, choices: [], usage: usage(result) })}\n\n`);
        }
        res.end('data: [DONE]\n\n');
      } else {
        result = await engine.generate(request.generation, { signal: abort.signal });
        if (abort.signal.aborted) return;
        const outcome = choiceOutcome(result, request.generation.tools ?? []);
        sendJson(res, 200, {
          id, object: 'chat.completion', created, model: options.modelId,
          choices: [{
            index: 0, finish_reason: outcome.finishReason, logprobs: null,
            message: { role: 'assistant', content: outcome.content, ...(outcome.toolCalls ? { tool_calls: outcome.toolCalls } : {}) },
          }],
          usage: usage(result),
        });
      }
      log(`${request.stream ? 'stream' : 'chat'} ${result.usage.promptTokens}+${result.usage.completionTokens} tokens, ${result.finishReason}`);
    } finally {
      inFlight--;
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) return sendError(res, e);
      const error = EngineError.from(e);
      const status = error.code === 'prompt-too-long' || error.code === 'bad-request' ? 400 : error.code === 'no-model' ? 503 : error.code === 'busy' ? 429 : 500;
      log(`error: ${error.message}`);
      sendError(res, new HttpError(status, error.message, status === 400 ? 'invalid_request_error' : status === 429 ? 'rate_limit_exceeded' : 'server_error',
        error.code, null, status === 429 ? { 'retry-after': '1' } : {}));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8000, host, () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address() as AddressInfo;
  const names = LOOPBACK.has(host) ? ['127.0.0.1', 'localhost', '[::1]'] : [host.includes(':') ? `[${host}]` : host];
  allowedHosts = new Set(names.map((n) => `${n}:${port}`.toLowerCase()));
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/v1`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
