// The remote engine: the model on an OpenAI-compatible server (vLLM, llama-server, Ollama, LM Studio, or
// `phi-local serve`), spoken to over /v1/chat/completions, streamed. The chat turn around each step (running tool
// calls in the extension, going on after their results) stays in the sidecar (sidecar/chat/), as for the local engine.
//
// Mode: chat completions with `tools`, the calls streamed as `tool_calls` deltas (joined by index) and handed to the
// turn as Phi-4's call-list text, so the same parser and schema check judge them. (Rendering Phi-4's own template here
// and using the raw /v1/completions endpoint, which vLLM's Phi-4 tool parser would otherwise need, is not built yet.)
//
// Cancel closes the stream (the server stops generating). A connection that fails before the first byte is retried
// twice; one that breaks after it ends the step with what arrived, and `interrupted` says so. Token counts use the
// server's /tokenize (vLLM's) where it has one, and say they are estimates where it has not.
import { EngineError } from '../engineError';
import type { GenerationOptions, GenerationRequest, GenerationResult, InferenceEngine, LoadRequest } from '../inferenceEngine';
import type { ChatMessage, CountTokensParams, CountTokensResult, ModelInfo, ToolDefinition } from '../protocol';
import { sseData } from './sseStream';

export interface RemoteOptions {
  /** The server's OpenAI base URL, e.g. http://gpu-box:8000/v1. */
  url: string;
  /** The model to use; default: the first the server lists. */
  model?: string;
  apiKey?: string;
}

const RETRIES_BEFORE_FIRST_BYTE = 2;

interface StreamChoice {
  delta?: { content?: string | null; tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[] };
  finish_reason?: string | null;
}

/** Our messages in OpenAI's shape; tool results get the ids of the calls they answer, in order. */
function openAiMessages(messages: ChatMessage[]): unknown[] {
  const pending: string[] = [];
  return messages.map((m, i) => {
    if (m.role === 'assistant' && m.toolCalls?.length) {
      const calls = m.toolCalls.map((c, j) => ({ id: `call_${i}_${j}`, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } }));
      pending.push(...calls.map((c) => c.id));
      return { role: 'assistant', content: m.content || null, tool_calls: calls };
    }
    if (m.role === 'tool') return { role: 'tool', content: m.content, tool_call_id: pending.shift() ?? `call_${i}`, ...(m.name ? { name: m.name } : {}) };
    return { role: m.role, content: m.content };
  });
}

function openAiTools(tools: ToolDefinition[] | undefined): unknown[] | undefined {
  if (!tools?.length) return undefined;
  return tools.map((t) => ({ type: 'function', function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.parameters ?? { type: 'object', properties: {} } } }));
}

export class RemoteEngine implements InferenceEngine {
  private info: ModelInfo | undefined;
  private readonly base: string;

  constructor(private readonly options: RemoteOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  get model(): ModelInfo | undefined {
    return this.info;
  }

  private headers(): Record<string, string> {
    return { 'content-type': 'application/json', ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}) };
  }

  /** A request, retried while the connection fails before any answer; an HTTP error becomes an EngineError that says what to do. */
  private async request(path: string, init: RequestInit): Promise<Response> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= RETRIES_BEFORE_FIRST_BYTE; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      if (init.signal?.aborted) throw new EngineError('internal', 'cancelled');
      try {
        const res = await fetch(`${this.base}${path}`, { ...init, headers: this.headers() });
        if (res.ok) return res;
        const body = await res.text().catch(() => '');
        let message = body.slice(0, 300);
        try {
          message = JSON.parse(body)?.error?.message ?? message;
        } catch { /* not JSON */ }
        const hint = res.status === 401 ? ' Set the server\'s API key (Phi: Set Remote API Key).'
          : res.status === 404 ? ' Check the URL (it ends in /v1) and pick a model the server lists.'
          : res.status === 429 ? ' The server is busy; try again shortly.' : '';
        throw new EngineError(res.status === 400 ? 'prompt-too-long' : 'internal', `${this.base}${path} answered ${res.status}: ${message}.${hint}`);
      } catch (e) {
        if (e instanceof EngineError) throw e;
        if (init.signal?.aborted) throw e;
        lastError = e;
      }
    }
    const cause = (lastError as { cause?: { code?: string; message?: string } })?.cause;
    throw new EngineError('model-load', `Could not reach ${this.base} (${cause?.code ?? cause?.message ?? (lastError as Error)?.message}): check the URL, that the server runs, and the proxy.`);
  }

  async load(request: LoadRequest): Promise<ModelInfo> {
    const started = performance.now();
    this.info = undefined;
    request.onProgress?.(`Asking ${this.base} for its models`);
    const res = await this.request('/models', { method: 'GET' });
    const list = ((await res.json()) as { data?: { id: string; max_model_len?: number }[] }).data ?? [];
    const chosen = this.options.model ? list.find((m) => m.id === this.options.model) : list[0];
    if (!chosen) {
      throw new EngineError('model-load', this.options.model
        ? `${this.base} does not serve "${this.options.model}"; it lists ${list.map((m) => m.id).join(', ') || 'no model'}.`
        : `${this.base} lists no model.`);
    }
    const host = new URL(this.base).host;
    this.info = {
      dir: `${this.base} · ${chosen.id}`, backend: 'remote', executionProvider: `remote (${host})`, fallbacks: [],
      contextLength: chosen.max_model_len ?? 0, modelContextLength: chosen.max_model_len ?? 0, numLayers: 0, vocabSize: 0,
      kvType: 'remote', loadMs: performance.now() - started, warnings: [],
    };
    return this.info;
  }

  private modelId(): string {
    if (!this.info) throw new EngineError('no-model', 'No remote model is connected. Check the remote engine\'s settings.');
    return this.info.dir.split(' · ').slice(1).join(' · ');
  }

  async generate(request: GenerationRequest, options: GenerationOptions = {}): Promise<GenerationResult> {
    const model = this.modelId();
    const started = performance.now();
    const tools = openAiTools(request.tools);
    const body = {
      model, stream: true, stream_options: { include_usage: true },
      messages: openAiMessages(request.assistantPrefix
        ? [...request.messages, { role: 'assistant', content: request.assistantPrefix }] : request.messages),
      ...(tools && request.toolChoice !== 'none' ? { tools, tool_choice: request.toolChoice ?? 'auto', ...(request.maxToolCalls === 1 ? { parallel_tool_calls: false } : {}) } : {}),
      ...(request.maxNewTokens ? { max_tokens: request.maxNewTokens } : {}),
      temperature: request.sampling?.temperature ?? 0,
      ...(request.sampling?.topP !== undefined ? { top_p: request.sampling.topP } : {}),
      ...(request.sampling?.seed !== undefined ? { seed: request.sampling.seed } : {}),
    };
    const result: GenerationResult = {
      text: '', tokenIds: [], finishReason: 'stop', seed: request.sampling?.seed ?? 0,
      usage: { promptTokens: 0, reusedTokens: 0, completionTokens: 0 },
      timings: { timeToFirstTokenMs: 0, prefillMs: 0, prefillTokensPerSecond: 0, decodeMs: 0, decodeTokensPerSecond: 0, totalMs: 0 },
    };
    const calls: { name: string; arguments: string }[] = [];
    let pieces = 0;
    let finish: string | null | undefined;
    const cancelled = () => ({ ...result, finishReason: 'cancelled' as const, cancelCause: 'caller' as const });
    if (options.signal?.aborted) return cancelled();
    let res: Response;
    try {
      res = await this.request('/chat/completions', { method: 'POST', body: JSON.stringify(body), signal: options.signal });
    } catch (e) {
      if (options.signal?.aborted) return cancelled();
      throw e;
    }
    try {
      for await (const data of sseData(res.body!)) {
        if (data === '[DONE]') break;
        const chunk = JSON.parse(data) as { choices?: StreamChoice[]; usage?: { prompt_tokens: number; completion_tokens: number }; error?: { message: string } };
        if (chunk.error) throw new EngineError('internal', `${this.base} failed mid-answer: ${chunk.error.message}`);
        if (chunk.usage) {
          result.usage.promptTokens = chunk.usage.prompt_tokens;
          result.usage.completionTokens = chunk.usage.completion_tokens;
        }
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        const text = choice.delta?.content;
        if (text) {
          if (!result.timings.timeToFirstTokenMs) result.timings.timeToFirstTokenMs = performance.now() - started;
          result.text += text;
          options.onText?.(text, ++pieces);
        }
        for (const d of choice.delta?.tool_calls ?? []) {
          calls[d.index] ??= { name: '', arguments: '' };
          if (d.function?.name) calls[d.index].name = d.function.name;
          calls[d.index].arguments += d.function?.arguments ?? '';
        }
        finish = choice.finish_reason ?? finish;
      }
    } catch (e) {
      if (options.signal?.aborted) return cancelled();
      if (e instanceof EngineError) throw e;
      // The connection broke after the answer began: keep what arrived, and say so.
      result.interrupted = `The connection to ${this.base} broke mid-answer (${(e as Error).message}); this is what arrived.`;
    }
    if (options.signal?.aborted) return cancelled();
    if (finish === undefined && !result.interrupted) result.interrupted = `${this.base} ended the answer without saying it was complete; this is what arrived.`;
    result.timings.totalMs = performance.now() - started;
    result.timings.decodeMs = result.timings.totalMs - result.timings.timeToFirstTokenMs;
    if (!result.usage.completionTokens) result.usage.completionTokens = pieces;
    if (calls.length) {
      // Phi-4's call-list text, which the turn parses and checks against the schemas like a local call.
      const list = calls.filter(Boolean).map((c) => `{"name": ${JSON.stringify(c.name)}, "arguments": ${c.arguments || '{}'}}`);
      result.toolCall = { text: `[${list.join(', ')}]`, closed: true };
      result.finishReason = 'tool-call';
    } else {
      result.finishReason = finish === 'length' ? 'length' : 'stop';
    }
    return result;
  }

  async renderPrompt(): Promise<{ text: string; ids: number[] }> {
    throw new EngineError('internal', 'The remote engine does not render prompts: the server applies its chat template.');
  }

  async countTokens(params: CountTokensParams): Promise<CountTokensResult> {
    const model = this.modelId();
    const count = async (body: Record<string, unknown>): Promise<number> => {
      const res = await fetch(`${this.base.replace(/\/v1$/, '')}/tokenize`, { method: 'POST', headers: this.headers(), body: JSON.stringify({ model, ...body }) }).catch(() => undefined);
      if (res?.ok) {
        const n = ((await res.json()) as { count?: unknown }).count;
        if (typeof n === 'number') return n;
      }
      // No tokenizer endpoint: an estimate (about 3.5 characters a token for English and code), on the safe side.
      return Math.ceil(JSON.stringify(body).length / 3);
    };
    if (params.messages) {
      const tokens = await count({ messages: openAiMessages(params.messages), add_generation_prompt: true });
      const perMessage = await Promise.all(params.messages.map((m) => count({ prompt: m.content }).then((n) => n + 3)));
      return { tokens, perMessage };
    }
    return { tokens: await count({ prompt: params.text ?? '' }) };
  }

  async dispose(): Promise<void> {
    this.info = undefined;
  }
}
