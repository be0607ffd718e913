// phi/inlineCompletion: prompt (completionPrompt.ts) → the engine at background priority → shaped ghost text
// (completionShaper.ts). The generation stops as soon as the shaper has a whole completion, at the token cap, at
// the time cap, or when the request is cancelled ($/cancelRequest from a newer keystroke, a newer completion
// superseding it in the engine's scheduler, or a chat preempting it).
//
// Why a phi/* request and not LSP's textDocument/inlineCompletion: the LSP method needs the documents synced to the
// server (every open file's full text, then every keystroke), though a completion only needs a window around the
// cursor; vscode-languageclient registers its provider only once the server runs, and the sidecar starts lazily;
// and the result here carries what the LSP item cannot (why it ended, tokens, timings), which the client logs and
// the tests check. The policy (debounce, cache, when to trigger) lives in the extension, which has the document.
import type { Connection } from 'vscode-languageserver/node';
import type { GenerationResult, InferenceEngine } from '../inferenceEngine';
import { toResponseError } from '../engineError';
import { InlineCompletionRequest, type InlineCompletionParams, type InlineCompletionResult } from '../protocol';
import { buildCompletionPrompt } from './completionPrompt';
import { shapeCompletion } from './completionShaper';

export const DEFAULT_TIMEOUT_MS = 4000;
const MAX_TOKENS = { line: 48, block: 160 } as const;
const PREFILL_CHUNK = 64;

export class CompletionService {
  constructor(private readonly engine: Pick<InferenceEngine, 'generate'>) {}

  async complete(params: InlineCompletionParams, signal?: AbortSignal): Promise<InlineCompletionResult> {
    const prompt = buildCompletionPrompt(params);
    const options = { indent: params.indent };
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    if (signal?.aborted) stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let raw = '';
    let complete = false;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    let result: GenerationResult;
    try {
      result = await this.engine.generate(
        {
          messages: prompt.messages, assistantPrefix: prompt.assistantPrefix, maxNewTokens: params.maxTokens ?? MAX_TOKENS[prompt.mode],
          sampling: { temperature: 0 },
          // Short prefill passes: a chat (or the next keystroke) that preempts this one waits for one pass only.
          prefillChunk: PREFILL_CHUNK,
          slot: 'completion',
        },
        {
          priority: 'background',
          signal: stop.signal,
          onText: (text) => {
            // The time cap runs from the first token: it bounds the writing. The prefill before it is not cut
            // short by a timer, since its KV cache serves the next keystroke too (the prompt grows only at its
            // end); a newer keystroke or a chat still stops it between two short prefill passes.
            timer ??= setTimeout(() => { timedOut = true; stop.abort(); }, params.timeoutMs ?? DEFAULT_TIMEOUT_MS);
            raw += text;
            if (!complete && shapeCompletion(raw, prompt, false, options).done) {
              complete = true;
              stop.abort();
            }
          },
        },
      );
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    const { promptTokens, reusedTokens, completionTokens } = result.usage; // the wire's figures, not an engine's extras
    const base = { mode: prompt.mode, usage: { promptTokens, reusedTokens, completionTokens }, timings: result.timings };
    // Stopped by its own caller or by the scheduler: no suggestion (the user moved on).
    if (result.finishReason === 'cancelled' && !complete && !timedOut) {
      return { ...base, text: '', finishReason: 'cancelled', cancelCause: result.cancelCause ?? 'caller' };
    }
    const { text } = shapeCompletion(raw, prompt, true, options);
    const finishReason = complete || result.finishReason === 'stop' ? 'stop' : timedOut ? 'timeout' : 'length';
    return { ...base, text, finishReason };
  }
}

/** Serves phi/inlineCompletion on `connection`; $/cancelRequest reaches the engine through the token. */
export function registerCompletions(connection: Connection, engine: Pick<InferenceEngine, 'generate'>): void {
  const service = new CompletionService(engine);
  connection.onRequest(InlineCompletionRequest, async (params, token) => {
    const abort = new AbortController();
    const subscription = token.onCancellationRequested(() => abort.abort());
    try {
      return await service.complete(params, abort.signal);
    } catch (e) {
      throw toResponseError(e);
    } finally {
      subscription.dispose();
    }
  });
}
