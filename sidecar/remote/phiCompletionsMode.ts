// The remote engine's exact mode for Phi-4 models: the prompt is rendered here, with the model's own chat template
// and tokenizer (sidecar/prompt/, the same tokens as the local engine: pasted `<|end|>` stays text), and sent as token
// ids to the raw /v1/completions endpoint. Why not the server's chat endpoint: vLLM's Phi-4-mini tool parser
// (phi4_mini_json) needs its own template, which asks for `functools[…]` instead of the model's `<|tool_call|>`,
// yields nothing while streaming, and cuts arguments at the first `]`.
//
// A turn takes at most two requests:
// 1. the answer's text, streamed, stopping at `<|tool_call|>` (tool choice auto), or with that token banned by
//    logit_bias (none, or no tools); skipped for required;
// 2. after `<|tool_call|>`, the call list, constrained by the server's structured output to the call-list schema
//    (toolCallSchema.ts) under vLLM's name (`structured_outputs.json`) and llama-server's (`json_schema`); a server
//    without either leaves it to the model, and the turn's parser and schema check judge it as ever.
// Special tokens are asked for as text (vLLM's `skip_special_tokens: false`), so the call token can be seen; the end
// markers are held back and never shown.
import { EngineError } from '../engineError';
import type { GenerationOptions, GenerationRequest, GenerationResult } from '../inferenceEngine';
import type { PromptBuilder } from '../prompt/promptBuilder';
import { StopStrings } from '../stopStrings';
import { toolCallListSchema } from '../toolCalls/toolCallSchema';
import { toolSchemaBeyondBounds } from '../toolCalls/toolSchemaBounds';
import type { ServerConnection } from './serverConnection';
import { emptyResult, readStream } from './streamResult';

const CALL = '<|tool_call|>';
const CALL_END = '<|/tool_call|>';
/** Phi-4-mini's end markers: eos (`<|end|>`), end of text, and a turn the model starts by itself. */
const END_MARKERS = ['<|end|>', '<|endoftext|>', '<|user|>', '<|assistant|>'];
/** What the local engine generates at most when a request does not say (sidecar/engine/generate.ts). */
const DEFAULT_MAX_NEW_TOKENS = 1024;

interface CompletionChunk {
  choices?: { text?: string; finish_reason?: string | null; stop_reason?: string | number | null }[];
  /** llama-server's name for the stop string that ended the answer. */
  stopping_word?: string;
}

export interface PhiPrompt {
  prompts: PromptBuilder;
  /** The server's context (max_model_len), 0 when it does not say. */
  contextLength: number;
}

export async function generateByPhiCompletions(
  server: ServerConnection, model: string, phi: PhiPrompt, request: GenerationRequest, options: GenerationOptions,
): Promise<GenerationResult> {
  const started = performance.now();
  const { prompts, contextLength } = phi;
  const tokenizer = prompts.tokenizer;
  const callId = tokenizer.tokenToId(CALL);
  const tools = request.prompt === undefined ? request.tools ?? [] : [];
  const choice = tools.length === 0 || callId === undefined ? 'none' : request.toolChoice ?? 'auto';
  // Rendered in pieces that let the sidecar answer status and cancel meanwhile (a huge paste takes seconds).
  const prompt = typeof request.prompt === 'string' ? await tokenizer.encodeAsync(request.prompt, options.signal)
    : request.prompt ?? (await prompts.renderAsync(request.messages, tools, request.assistantPrefix, options.signal))?.ids;
  if (!prompt) return { ...emptyResult(request), finishReason: 'cancelled', cancelCause: 'caller' };
  if (contextLength && prompt.length >= contextLength) {
    throw new EngineError('prompt-too-long', `The prompt is ${prompt.length} tokens, but ${server.base} serves a context of ${contextLength}. ` +
      'Remove attached context or older messages, or start a new chat.');
  }
  const room = contextLength ? contextLength - prompt.length : Infinity;
  const maxNew = Math.min(request.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS, room);
  const sampling = {
    temperature: request.sampling?.temperature ?? 0,
    ...(request.sampling?.topP !== undefined ? { top_p: request.sampling.topP } : {}),
    ...(request.sampling?.seed !== undefined ? { seed: request.sampling.seed } : {}),
  };
  const result = emptyResult(request);
  const schema = request.responseSchema;

  // 1. The text.
  let called = choice === 'required';
  if (!called) {
    const watch = [...(choice === 'auto' ? [CALL] : []), ...END_MARKERS];
    const stops = new StopStrings(watch);
    const body = {
      model, prompt, stream: true, stream_options: { include_usage: true }, max_tokens: maxNew, ...sampling,
      skip_special_tokens: false,
      ...(choice === 'auto' ? { stop: [CALL], include_stop_str_in_output: true } : {}),
      ...(choice === 'none' && callId !== undefined && request.prompt === undefined ? { logit_bias: { [callId]: -100 } } : {}),
      ...(schema ? { structured_outputs: { json: schema }, json_schema: schema } : {}),
    };
    const read = await readStream<CompletionChunk>(server, '/completions', body, result, started, options, (chunk) => {
      const c = chunk.choices![0];
      return { text: stops.push(c.text ?? ''), finish: c.finish_reason };
    });
    if (read.cancelled) return read.result;
    if (stops.matched === undefined) {
      const rest = stops.flush();
      result.text += rest;
      if (rest) options.onText?.(rest, 0);
    }
    // The call token: seen in the text, or named as the stop reason (vLLM: stop_reason; llama-server: stopping_word).
    const stopReason = read.last?.stop_reason ?? (read.last as CompletionChunk | undefined)?.stopping_word;
    called = choice === 'auto' && !result.interrupted && (stops.matched === CALL || stopReason === CALL);
    if (!called) {
      result.finishReason = read.finish === 'length' ? 'length' : 'stop';
      return finish(result, started);
    }
  }

  // 2. The call list, after the text and the call token.
  const callPrompt = [...prompt, ...tokenizer.encode(result.text), callId!];
  const callSchema = toolCallListSchema(tools, {
    maxCalls: request.maxToolCalls, looseArguments: (tool) => toolSchemaBeyondBounds(tool.parameters) !== undefined,
  });
  let callText = '';
  const body = {
    model, prompt: callPrompt, stream: true, stream_options: { include_usage: true },
    max_tokens: Math.max(1, maxNew - result.usage.completionTokens), ...sampling,
    skip_special_tokens: false, stop: [CALL_END],
    structured_outputs: { json: callSchema }, json_schema: callSchema,
  };
  const usageBefore = { ...result.usage };
  const read = await readStream<CompletionChunk>(server, '/completions', body, result, started, options, (chunk) => {
    const c = chunk.choices![0];
    return { text: c.text ?? '', finish: c.finish_reason };
  }, (text) => { callText += text; });
  if (read.cancelled) return read.result;
  // Both requests' prompts were counted; the turn's prompt is the first.
  if (result.usage.promptTokens > usageBefore.promptTokens && usageBefore.promptTokens > 0) result.usage.promptTokens = usageBefore.promptTokens;
  const text = callText.split(CALL_END)[0];
  result.toolCall = { text: END_MARKERS.reduce((t, m) => t.split(m)[0], text).trim(), closed: read.finish === 'stop' && !result.interrupted };
  result.finishReason = 'tool-call';
  return finish(result, started);
}

function finish(result: GenerationResult, started: number): GenerationResult {
  result.timings.totalMs = performance.now() - started;
  result.timings.decodeMs = result.timings.totalMs - result.timings.timeToFirstTokenMs;
  return result;
}
