// The seam between the sidecar's services (chat, completions, token counts: what the protocol offers) and whatever
// runs the model. An engine takes one generation step at a time: a conversation (with the tools offered) in, the
// answer's text and at most one tool-call list out, streamed, cancellable. The chat turn around it (running the
// calls, going on after their results) is the engine's caller's business (sidecar/chat/), the same for every engine.
//
// The local ONNX Runtime engine (sidecar/engine/) is one implementation. A new engine is a folder of its own that
// implements this interface, plus one line in sidecar/engineChoice.ts.
import type {
  CancelCause, ChatMessage, CountTokensParams, CountTokensResult, ExecutionProviderChoice, ModelInfo, SamplingOptions,
  KvCacheStatus, Timings, ToolDefinition, Usage,
} from './protocol';

export type { CancelCause } from './protocol';

/** One generation step: the model continues `messages` (rendered with its chat template) as the assistant. */
export interface GenerationRequest {
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  /**
   * Instead of `messages`: a prompt the caller rendered itself (OpenAI's /v1/completions), as token ids or as text
   * (whose special-token text, `<|user|>` and the like, is matched as special tokens, as servers do). No tool call is
   * looked for: the output comes back whole in `text`, special tokens included.
   */
  prompt?: string | number[];
  /** A JSON schema the whole output must match (structured output); the answer ends when the value is complete. */
  responseSchema?: object;
  /** Text the answer starts with, fed after the assistant marker (inline completions: the code before the cursor). */
  assistantPrefix?: string;
  /** Prompt tokens per forward pass, where the engine prefills in passes (smaller: a cancel lands sooner). */
  prefillChunk?: number;
  /** Upper bound on generated tokens; also capped by what is left of the context. */
  maxNewTokens?: number;
  sampling?: SamplingOptions;
  /** With `tools`: 'auto' lets the model call, 'required' makes it start with a call, 'none' keeps it from calling. */
  toolChoice?: 'auto' | 'required' | 'none';
  /** At most this many calls in one call list. */
  maxToolCalls?: number;
  /** The feature asking ('chat', 'completion', 'explain'…): an engine with several KV caches keeps one per feature. */
  slot?: string;
}

/** What a step generated. */
export interface GenerationResult {
  /** The text for the reader: everything before a tool call. */
  text: string;
  /** Every generated token, a tool call's included. */
  tokenIds: number[];
  /** The call list the model wrote, as text (its JSON between the tool-call markers); parsed by the caller. */
  toolCall?: { text: string; closed: boolean };
  /** 'tool-call': the step ended with a call list. */
  finishReason: 'stop' | 'length' | 'cancelled' | 'tool-call';
  /** Set when cancelled: by the caller, or (background work) by a newer or more urgent request. */
  cancelCause?: CancelCause;
  /** Set when the step ended early for a reason outside the model (a remote server's stream broke): what to tell. */
  interrupted?: string;
  usage: Usage;
  timings: Timings;
  seed: number;
}

export interface GenerationOptions {
  /** Aborting stops the step within one decode step (or at once while it waits) and resolves with what it has. */
  signal?: AbortSignal;
  /** Text that became complete; `tokens`: generated so far in this step. */
  onText?(text: string, tokens: number): void;
  /** 'interactive' (default): someone waits for it. 'background': inline completions, run when nothing else waits. */
  priority?: 'interactive' | 'background';
}

export interface LoadRequest {
  /** The model folder (the one with genai_config.json). */
  dir: string;
  executionProvider?: ExecutionProviderChoice;
  threads?: number;
  contextLength?: number;
  /** What the KV caches may take together (bytes), where the engine has them. */
  kvCacheBytes?: number;
  /** A stage of the load, for the user to see. */
  onProgress?(message: string): void;
}

export interface InferenceEngine {
  /** The model that is loaded, if any. */
  readonly model: ModelInfo | undefined;
  /** Loads a model (replacing the one loaded); rejects with an EngineError that says what is wrong. */
  load(request: LoadRequest): Promise<ModelInfo>;
  /**
   * Where an engine caches prompts: computes the head of a kind of prompt (its system messages and tools) ahead of
   * need, at the lowest priority, and resolves to where it is now ('memory', 'disk', 'computed', 'cancelled', 'none').
   */
  warm?(request: { slot: string; messages: ChatMessage[]; tools?: ToolDefinition[] }, signal?: AbortSignal): Promise<string>;
  /** What its KV caches hold, where it has them. */
  readonly cacheStatus?: KvCacheStatus;
  /** Set by the server: where an engine says what a user may want to know (a cache file rejected…). */
  onLog?: (message: string) => void;
  /** Set by the server: the loaded model's info changed after its load (its prefill speed was measured). */
  onModelChanged?: (model: ModelInfo) => void;
  generate(request: GenerationRequest, options?: GenerationOptions): Promise<GenerationResult>;
  /** The exact prompt the model would be fed for a conversation. */
  renderPrompt(messages: ChatMessage[], tools?: ToolDefinition[]): Promise<{ text: string; ids: number[] }>;
  /** Tokens by the loaded model's own tokenizer and template; answered at once, even while a step runs. */
  countTokens(params: CountTokensParams): Promise<CountTokensResult>;
  dispose(): Promise<void>;
}
