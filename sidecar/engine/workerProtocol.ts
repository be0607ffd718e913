// Messages between the engine's host (the sidecar's main thread) and its worker thread. onnxruntime-node's
// create and run block the thread they run on for seconds, so the model lives in the worker and the main
// thread stays free to answer status and cancel.
import type { BackendChoice } from './backendChoice';
import type { EngineErrorCode } from './errors';
import type { ExecutionProviderChoice, ProviderFailure } from './executionProvider';
import type { GenerateRequest, GenerateResult } from './generate';
import type { RenderedPrompt } from './promptBuilder';
import type { ChatMessage, ToolDefinition } from './template';

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
}

export interface ModelInfo {
  dir: string;
  /** The implementation running the forward pass: 'native' or 'onnxruntime-node'. */
  backend: string;
  /** Why the native backend is not the one running; unset when it is. */
  backendReason?: string;
  executionProvider: string;
  /** Providers tried before the one that runs, and why they failed. */
  fallbacks: ProviderFailure[];
  contextLength: number;
  modelContextLength: number;
  numLayers: number;
  vocabSize: number;
  kvType: string;
  loadMs: number;
  warnings: string[];
}


export type HostMessage =
  | { kind: 'load'; id: number; dir: string; options: LoadOptions }
  | { kind: 'generate'; id: number; request: GenerateRequest; cancel: SharedArrayBuffer }
  | { kind: 'prompt'; id: number; messages: ChatMessage[]; tools?: ToolDefinition[] }
  | { kind: 'reset'; id: number }
  | { kind: 'unload'; id: number };

export type WorkerMessage =
  | { kind: 'progress'; id: number; message: string }
  | { kind: 'text'; id: number; text: string; tokens: number }
  | { kind: 'done'; id: number; value: ModelInfo | GenerateResult | RenderedPrompt | null }
  | { kind: 'failed'; id: number; error: { code: EngineErrorCode; message: string; file?: string } };
