// Reading one streamed answer of an OpenAI-compatible server into a generation result: text as it arrives, usage,
// the finish reason, an error event, and the two ways an answer can end early — the caller cancelled (the stream is
// closed, which stops the server's generation) or the connection broke (what arrived is kept, and `interrupted` says
// so). The mode says what a chunk holds (chat deltas or completion text).
import type { Response } from 'undici';
import { EngineError } from '../engineError';
import type { GenerationOptions, GenerationRequest, GenerationResult } from '../inferenceEngine';
import type { ServerConnection } from './serverConnection';
import { sseData } from './sseStream';

export function emptyResult(request: GenerationRequest): GenerationResult {
  return {
    text: '', tokenIds: [], finishReason: 'stop', seed: request.sampling?.seed ?? 0,
    usage: { promptTokens: 0, reusedTokens: 0, completionTokens: 0 },
    timings: { timeToFirstTokenMs: 0, prefillMs: 0, prefillTokensPerSecond: 0, decodeMs: 0, decodeTokensPerSecond: 0, totalMs: 0 },
  };
}

export interface StreamRead {
  /** The caller cancelled: `result` is marked so and holds what arrived. */
  cancelled: boolean;
  result: GenerationResult;
  /** The last finish_reason the server sent (undefined: it sent none). */
  finish: string | null | undefined;
  /** The last chunk's choice, for fields a mode reads at the end (vLLM's stop_reason). */
  last: Record<string, unknown> | undefined;
}

/**
 * POSTs `body` to `path` and reads its event stream. `take` gets each parsed chunk and returns its text and finish
 * reason; the text goes to `result.text` and `onText`, or, given a `sink`, there instead (a tool call's text).
 */
export async function readStream<Chunk extends { choices?: unknown[] }>(
  server: ServerConnection, path: string, body: unknown, result: GenerationResult, started: number, options: GenerationOptions,
  take: (chunk: Chunk) => { text?: string; finish?: string | null },
  sink?: (text: string) => void,
): Promise<StreamRead> {
  const cancelled = (): StreamRead => {
    Object.assign(result, { finishReason: 'cancelled', cancelCause: 'caller' });
    return { cancelled: true, result, finish: undefined, last: undefined };
  };
  if (options.signal?.aborted) return cancelled();
  let res: Response;
  try {
    res = await server.post(path, body, options.signal);
  } catch (e) {
    if (options.signal?.aborted) return cancelled();
    throw e;
  }
  let finish: string | null | undefined;
  let last: Record<string, unknown> | undefined;
  let pieces = 0;
  try {
    for await (const data of sseData(res.body as AsyncIterable<Uint8Array>)) {
      if (data === '[DONE]') break;
      const chunk = JSON.parse(data) as Chunk & { usage?: { prompt_tokens: number; completion_tokens: number }; error?: { message: string } };
      if (chunk.error) throw new EngineError('internal', `${server.base} failed mid-answer: ${chunk.error.message}`);
      if (chunk.usage) {
        result.usage.promptTokens += chunk.usage.prompt_tokens;
        result.usage.completionTokens += chunk.usage.completion_tokens;
      }
      if (!chunk.choices?.length) continue;
      last = chunk.choices[0] as Record<string, unknown>;
      const { text, finish: f } = take(chunk);
      if (text && sink) sink(text);
      else if (text) {
        if (!result.timings.timeToFirstTokenMs) result.timings.timeToFirstTokenMs = performance.now() - started;
        result.text += text;
        options.onText?.(text, ++pieces);
      }
      finish = f ?? finish;
    }
  } catch (e) {
    if (options.signal?.aborted) return cancelled();
    if (e instanceof EngineError) throw e;
    // The connection broke after the answer began: keep what arrived, and say so.
    result.interrupted = `The connection to ${server.base} broke mid-answer (${(e as Error).message}); this is what arrived.`;
  }
  if (options.signal?.aborted) return cancelled();
  if (finish === undefined && !result.interrupted) result.interrupted = `${server.base} ended the answer without saying it was complete; this is what arrived.`;
  result.timings.totalMs = performance.now() - started;
  result.timings.decodeMs = result.timings.totalMs - result.timings.timeToFirstTokenMs;
  if (!result.usage.completionTokens) result.usage.completionTokens = pieces;
  return { cancelled: false, result, finish, last };
}
