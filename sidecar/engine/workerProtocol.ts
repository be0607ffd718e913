// Messages between the engine's host (the sidecar's main thread) and its worker thread. onnxruntime-node's
// create and run block the thread they run on for seconds, so the model lives in the worker and the main
// thread stays free to answer status and cancel.
import type { BackendChoice } from './backendChoice';
import type { EngineErrorCode } from '../engineError';
import type { ExecutionProviderChoice, ProviderFailure } from './executionProvider';
import type { GenerateRequest, GenerateResult } from './generate';
import type { RenderedPrompt } from '../prompt/promptBuilder';
import type { ChatMessage, KvCacheStatus, ModelInfo, ToolDefinition } from '../protocol';

export interface LoadOptions {
  /** Which forward-pass implementation; `auto` (default): a GPU if one loads, else native, else onnxruntime-node. */
  backend?: BackendChoice;
  executionProvider?: ExecutionProviderChoice;
  /** Threads per operator; ONNX Runtime's default when not given. */
  threads?: number;
  /** Context to allow (at most the model's): the KV cache grows up to it. */
  contextLength?: number;
  prefillChunk?: number;
  maxNewTokens?: number;
  /** Load the official graph as it is, without the last-position-logits rewrite. Default true. */
  rewriteGraph?: boolean;
  /** TEST DOUBLE: answers are the canned replies of this file (replay.ts), not the model's. */
  replayFile?: string;
  /** Where prompt heads' keys and values are kept on disk (a folder per model inside it); none: memory only. */
  prefixCacheDir?: string;
  /** Bound on that folder, bytes. Default DEFAULT_PREFIX_CACHE_BYTES. */
  prefixCacheBytes?: number;
  /** What the KV slots' cached positions may take together, bytes. Default: no bound. */
  kvCacheBytes?: number;
}

/** The environment variable naming the prompt-head folder (the extension sets it to its storage). */
export const PREFIX_CACHE_ENV = 'PHI_LOCAL_PREFIX_CACHE';

/** The prompt-head files of every model together: a few heads of a few models. */
export const DEFAULT_PREFIX_CACHE_BYTES = 4 * 2 ** 30;

export type { ModelInfo };


export type HostMessage =
  | { kind: 'load'; id: number; dir: string; options: LoadOptions }
  | { kind: 'generate'; id: number; request: GenerateRequest; cancel: SharedArrayBuffer }
  | { kind: 'prompt'; id: number; messages: ChatMessage[]; tools?: ToolDefinition[] }
  | { kind: 'warm'; id: number; request: { slot: string; messages: ChatMessage[]; tools?: ToolDefinition[] }; cancel: SharedArrayBuffer }
  /** Times a short cold prefill (after a load, at idle priority); answers tokens per second, or 'cancelled'. */
  | { kind: 'measure'; id: number; cancel: SharedArrayBuffer }
  | { kind: 'unload'; id: number };

export type WorkerMessage =
  | { kind: 'progress'; id: number; message: string }
  | { kind: 'text'; id: number; text: string; tokens: number }
  | { kind: 'done'; id: number; value: ModelInfo | GenerateResult | RenderedPrompt | number | string | null }
  | { kind: 'failed'; id: number; error: { code: EngineErrorCode; message: string; file?: string } }
  /** What the KV slots hold, after each request. */
  | { kind: 'cache'; status: KvCacheStatus }
  /** Something a user may want to know (a cache file rejected, a save that failed). */
  | { kind: 'log'; message: string };
