// The sidecar's JSON-RPC protocol: every custom method, with its parameter and result types, declared once and
// imported by both sides (the extension and the sidecar). Standard LSP methods ($/cancelRequest,
// window/workDoneProgress) come from the LSP itself.
//
// The protocol owns its types: nothing here comes from an engine. Engines map their own results onto these (see
// sidecar/chat/), so an engine's internals (a speculative-decoding counter, a backend's name for a provider) never
// become wire format by accident. Each method's direction is declared in code: ClientToSidecar and SidecarToClient at
// the end of this file list every method once.
// This module has no runtime dependency but vscode-languageserver-protocol: no vscode, no onnxruntime.
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';

// ---------------------------------------------------------------------------------------------------------------
// Conversations

export interface ToolCall { name: string; arguments: Record<string, unknown> }

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** Calls the assistant made in this turn (assistant messages only). */
  toolCalls?: ToolCall[];
  /** Name of the tool that produced a 'tool' message (not shown to Phi-4-mini, whose format has no place for it). */
  name?: string;
}

/** A tool the model may call; `parameters` is a JSON schema of its arguments. */
export interface ToolDefinition { name: string; description?: string; parameters?: Record<string, unknown> }

export interface SamplingOptions {
  /** 0 (or topK 1) means greedy. */
  temperature?: number;
  /** Keep only the k most likely tokens; 0 means no limit. */
  topK?: number;
  /** Keep the smallest set of tokens whose probability adds up to at least p; 1 means no limit. */
  topP?: number;
  /** > 1 makes tokens already in the context less likely. */
  repetitionPenalty?: number;
  /** Seed for reproducible sampling; a random one when not given. */
  seed?: number;
}

/** Tokens a turn cost. */
export interface Usage {
  promptTokens: number;
  /** Prompt tokens whose keys and values were reused from an earlier turn (not computed again). */
  reusedTokens: number;
  completionTokens: number;
}

export interface Timings {
  /** From the request to the first generated token (includes prefill). */
  timeToFirstTokenMs: number;
  prefillMs: number;
  prefillTokensPerSecond: number;
  decodeMs: number;
  /** Tokens after the first, per second of decoding. */
  decodeTokensPerSecond: number;
  totalMs: number;
}

// ---------------------------------------------------------------------------------------------------------------
// The model

export type ExecutionProviderChoice = 'auto' | 'cpu' | 'webgpu' | 'cuda' | 'dml';

/**
 * Every execution provider Phi Local knows, best first (the CPU last: it always loads): the one list of them. The
 * engine tries them in this order, Doctor probes them, the download picks the GPU variant when a `gpu` one loads,
 * and a unit test holds package.json's phiLocal.executionProvider enum to it. Keyed by the choice type, so the
 * compiler checks that the two name the same providers.
 */
export const EXECUTION_PROVIDERS: Readonly<Record<Exclude<ExecutionProviderChoice, 'auto'>, { gpu: boolean; platforms?: readonly NodeJS.Platform[] }>> = {
  cuda: { gpu: true, platforms: ['win32', 'linux'] },
  dml: { gpu: true, platforms: ['win32'] },
  webgpu: { gpu: true, platforms: ['win32', 'linux', 'darwin'] },
  // No `platforms`: everywhere.
  cpu: { gpu: false },
};

export type ExecutionProviderName = keyof typeof EXECUTION_PROVIDERS;
export const EXECUTION_PROVIDER_NAMES = Object.keys(EXECUTION_PROVIDERS) as ExecutionProviderName[];
/** What phiLocal.executionProvider and the CLI's --ep accept. */
export const EXECUTION_PROVIDER_CHOICES: readonly ExecutionProviderChoice[] = ['auto', ...EXECUTION_PROVIDER_NAMES];
export const isGpuProvider = (name: string): boolean => EXECUTION_PROVIDERS[name as ExecutionProviderName]?.gpu === true;

export interface ModelInfo {
  dir: string;
  /** The model's id where a server names it (the remote engine's model); unset for a model folder (its name serves). */
  id?: string;
  /** The implementation running the forward pass (for the local engine: 'native' or 'onnxruntime-node'). */
  backend: string;
  /** Why the native backend is not the one running; unset when it is. */
  backendReason?: string;
  executionProvider: string;
  /** Providers tried before the one that runs, and why they failed. */
  fallbacks: { provider: string; reason: string }[];
  contextLength: number;
  modelContextLength: number;
  numLayers: number;
  vocabSize: number;
  kvType: string;
  loadMs: number;
  warnings: string[];
  /**
   * Prompt tokens per second this machine prefills, measured after the load when the model is idle (a short pass),
   * announced by phi/statusChanged's `model`: what the extension sizes inline completions' windows by. Unset until
   * then, and where the engine does not measure it (a remote server).
   */
  prefillTokensPerSecond?: number;
}

export type EngineErrorCode =
  | 'model-folder'      // a file of the model folder is missing or broken (see `file`)
  | 'model-load'        // the runtime refused the model
  | 'prompt-too-long'   // the prompt does not fit in the context
  | 'no-model'          // a request came before a model was loaded
  | 'busy'              // too many requests already wait for the model: refused, try again
  | 'bad-request'       // the request itself cannot be run (a token id the model lacks, a schema past the bounds)
  | 'internal';

/** Plain data of an engine error, as it travels in a ResponseError's `data`. */
export interface PhiErrorData {
  code: EngineErrorCode;
  message: string;
  /** The model folder file the error is about. */
  file?: string;
}

export type ModelState = 'no-model' | 'loading' | 'ready' | 'error';

export interface SidecarStatus {
  state: ModelState;
  /** The loaded model, when state is 'ready'. */
  model?: ModelInfo;
  /** The folder being loaded, when state is 'loading'. */
  loading?: string;
  /** Why the last load failed, when state is 'error'. */
  error?: PhiErrorData;
  /** Set while a turn is being generated: its speed so far. */
  generating?: { tokens: number; tokensPerSecond: number };
  /** Turns waiting behind the current one. */
  queued: number;
  pid: number;
  rssBytes: number;
  /** What the local engine's KV cache holds, per feature (the status bar's tooltip). */
  kvCache?: KvCacheStatus;
}

/** The local engine's KV cache slots (sidecar/engine/kvSlots.ts): what each feature has cached. */
export interface KvCacheStatus {
  slots: { label: string; tokens: number; bytes: number; busy: boolean }[];
  bytes: number;
  /** `phiLocal.kvCacheMemory`; unset: no bound. */
  budgetBytes?: number;
  /** Prompt heads read back from disk and computed since the load (prefixStore.ts). */
  heads?: { fromDisk: number; computed: number };
}

export interface LoadModelParams {
  dir: string;
  executionProvider?: ExecutionProviderChoice;
  threads?: number;
  contextLength?: number;
  /** `phiLocal.kvCacheMemory`: what the KV caches of all features may take together, MiB (0: no bound). */
  kvCacheMemory?: number;
  /** Set by the client for window/workDoneProgress reports of the load stages. */
  workDoneToken?: string | number;
}

export interface ChatParams {
  /** Chosen by the client; deltas of this turn carry it. */
  turnId: string;
  /**
   * Which conversation the turn belongs to (for the client's bookkeeping and the logs). With it, a conversation too
   * long for the context is cut a quarter below the budget, and its next turns leave out the same oldest turns
   * (the same prompt start, so the cached prefix is reused); without it, each turn leaves out only what it must.
   */
  conversationId?: string;
  /**
   * The conversation. The sidecar fits it into the model's context, with room for the answer (maxNewTokens, at most
   * half the context): whole turns are left out from the oldest, system messages and the latest turn stay (see
   * ChatResult.trimmed); when even those do not fit, the turn fails with 'prompt-too-long'.
   */
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  sampling?: SamplingOptions;
  /** The most tokens of one generation: the answer, or a tool call with the text before it (each step of a turn). */
  maxNewTokens?: number;
  /** 'auto' (default): the model decides; 'required': the turn starts with a tool call; 'none': no calls. */
  toolChoice?: ToolChoice;
  /**
   * 'client' (default): the sidecar asks the client to run each call (RunToolRequest), appends the result and goes
   * on with the same turn. 'return': the turn ends at the model's call, which comes back in the result
   * (finishReason 'tool-calls'): for callers that run tools themselves, like VS Code's language-model API.
   */
  toolExecution?: 'client' | 'return';
  /** Tool calls allowed in one turn before the model must answer (default 5). */
  maxToolCalls?: number;
  /**
   * Which feature asks ('chat', 'explain', 'refactor', 'lm', 'commit'…; default 'chat'): the local engine keeps a KV
   * cache per feature, so an explanation does not throw away the chat's.
   */
  feature?: string;
}

/** One kind of prompt whose head (system messages and tools) the engine should compute ahead of need. */
export interface PromptHead {
  /** The feature that will send it (its KV cache). */
  feature: string;
  messages: ChatMessage[];
  tools?: ToolDefinition[];
}

export interface WarmPromptsParams {
  heads: PromptHead[];
}

export interface WarmPromptsResult {
  /** Per head, in order: 'memory', 'disk' (read back), 'computed' (and stored), 'cancelled' (a request came), 'none'. */
  heads: { feature: string; where: string; ms: number }[];
}

export type ToolChoice = 'auto' | 'required' | 'none';

/** A call the model made, validated against the tool's schema. */
export interface ToolCallInfo {
  /** Unique within the turn; chosen by the sidecar. */
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

export interface ChatDelta {
  turnId: string;
  text: string;
}

/** Sidecar → client: run one tool call of a turn. The turn waits for the answer. */
export interface RunToolParams {
  turnId: string;
  call: ToolCallInfo;
}

/** What the model is told about a call; `isError` for a failed or refused call, `denied` when the user said no. */
export interface ToolResult {
  content: string;
  isError?: boolean;
  denied?: boolean;
}

/** A step of a turn that the client did not run itself: a call the sidecar could not accept, with why. */
export interface ToolStepNotice {
  turnId: string;
  /** The model's raw output for the call. */
  raw: string;
  error: string;
}

/** The answer to phi/chat: the whole turn. */
export interface ChatResult {
  /** The answer's text for the reader (tool calls are in `messages`); it starts with `trimmed.notice` when set. */
  text: string;
  /** Every generated token id of the turn, tool calls included. */
  tokenIds: number[];
  /** 'tool-calls': the turn ended at a call (toolExecution 'return'); 'cancelled': see `cancelCause`. */
  finishReason: 'stop' | 'length' | 'cancelled' | 'tool-calls';
  /** Who cancelled it: the client, or (for background work) a newer or more urgent request. */
  cancelCause?: CancelCause;
  /** The answer ended early for a reason outside the model (a remote server's stream broke): what happened. */
  interrupted?: string;
  usage: Usage;
  timings: Timings;
  /** The sampling seed used (so a sampled answer can be reproduced). */
  seed: number;
  /**
   * The turn as it goes into the conversation, in order: assistant messages (with their toolCalls), tool results,
   * and the final assistant answer. Send them back with the next turn so the cached prefix is reused.
   */
  messages: ChatMessage[];
  /** The calls that ended the turn (toolExecution 'return'). */
  toolCalls?: ToolCallInfo[];
  /**
   * Set when the oldest messages were left out to fit the context: how many (whole turns), and the notice the answer
   * starts with (the turn's first phi/chatDelta; it is not in `messages`, and left out of prompts when sent back).
   */
  trimmed?: { droppedMessages: number; droppedTurns: number; notice: string };
}

export interface RenderPromptParams {
  messages: ChatMessage[];
  tools?: ToolDefinition[];
}

export interface CountTokensParams {
  /** Text: its tokens as they are inside a message. */
  text?: string;
  /** Messages instead: the whole prompt's tokens (with `tools`), and what each message adds to it. */
  messages?: ChatMessage[];
  tools?: ToolDefinition[];
}

export interface CountTokensResult {
  tokens: number;
  /** With `messages`: each message's own tokens, its role markers included. */
  perMessage?: number[];
}

export const StatusRequest = new RequestType0<SidecarStatus, PhiErrorData>('phi/status');
/** Progress of the load stages goes to the client's workDoneToken (window/workDoneProgress). */
export const LoadModelRequest = new RequestType<LoadModelParams, ModelInfo, PhiErrorData>('phi/loadModel');
/** One assistant turn; cancel it with $/cancelRequest: the answer so far comes back with finishReason 'cancelled'. */
export const ChatRequest = new RequestType<ChatParams, ChatResult, PhiErrorData>('phi/chat');
/** Sidecar → client: the model called a tool (toolExecution 'client'). Answer with what the model should see. */
export const RunToolRequest = new RequestType<RunToolParams, ToolResult, void>('phi/runTool');
/** A tool call the sidecar refused (invalid after repair): the model is told, and so is the user. */
export const ToolStepNotification = new NotificationType<ToolStepNotice>('phi/toolStepRefused');
export const RenderPromptRequest = new RequestType<RenderPromptParams, { text: string; ids: number[] }, PhiErrorData>('phi/renderPrompt');
/** Tokens by the loaded model's tokenizer and template, answered at once even while a turn is generated. */
export const CountTokensRequest = new RequestType<CountTokensParams, CountTokensResult, PhiErrorData>('phi/countTokens');
/**
 * Computes prompt heads ahead of need, after a load, at the lowest priority: any other request stops it (the rest
 * are then 'cancelled'; ask again when idle). Heads stored on disk are read back instead of computed.
 */
export const WarmPromptsRequest = new RequestType<WarmPromptsParams, WarmPromptsResult, PhiErrorData>('phi/warmPrompts');
/** Text of a turn as it is generated, whole UTF-8 characters only. */
export const ChatDeltaNotification = new NotificationType<ChatDelta>('phi/chatDelta');
/** Sent whenever the status changes (load stages, generation speed about twice a second). */
export const StatusNotification = new NotificationType<SidecarStatus>('phi/statusChanged');

/** One execution provider tried on this machine (phi/probeProviders): whether it loads, and if not, why. */
export interface ProviderProbe {
  provider: string;
  loads: boolean;
  reason?: string;
}

export interface ProviderProbeResult {
  providers: ProviderProbe[];
  onnxruntimeVersion: string;
}

/** What phi/checkModelFolder finds in a folder: readModelFolder's verdict, without loading the model. */
export interface ModelFolderCheck {
  dir: string;
  ok: boolean;
  error?: PhiErrorData;
  warnings: string[];
  /** The folder's files and their sizes (top level). */
  files: { name: string; bytes: number }[];
  summary?: { modelType: string; numLayers: number; contextLength: number; kvType: string; exportedFor: string[] };
}

/** Tries each execution provider on a tiny built-in graph (cached per sidecar process). */
export const ProbeProvidersRequest = new RequestType0<ProviderProbeResult, PhiErrorData>('phi/probeProviders');
/** Checks a model folder the way loading it would, without loading it (for Phi: Doctor). */
export const CheckModelFolderRequest = new RequestType<{ dir: string }, ModelFolderCheck, PhiErrorData>('phi/checkModelFolder');

/** An inline completion at the cursor (phi/inlineCompletion); see sidecar/completions/. */
export interface InlineCompletionParams {
  languageId: string;
  /** The file's name, shown to the model. */
  fileName?: string;
  /** The text before the cursor (a window of it is enough: whole lines from a stable start keep the KV cache warm). */
  prefix: string;
  /** The text after the cursor. */
  suffix: string;
  /** 'auto' (default): a block when the cursor's line opens one, else the rest of the line. */
  multiline?: 'auto' | 'line' | 'block';
  /** The document's indentation style: lines the model indents otherwise are converted. */
  indent?: { insertSpaces: boolean; tabSize: number };
  /** Token cap of the completion (default: 48 for a line, 160 for a block). */
  maxTokens?: number;
  /** Time cap on writing, from the first token, in ms (default 4000): then the completion ends with what it has. */
  timeoutMs?: number;
  maxPrefixTokens?: number;
  maxSuffixTokens?: number;
}

export interface InlineCompletionResult {
  /** The text to insert at the cursor; empty: nothing to suggest. */
  text: string;
  /**
   * 'stop': the completion is complete; 'length' / 'timeout': cut by the token or time cap; 'cancelled': see
   * `cancelCause` (the client cancelled it, a newer completion superseded it, or a chat preempted it).
   */
  finishReason: 'stop' | 'length' | 'timeout' | 'cancelled';
  cancelCause?: CancelCause;
  mode: 'line' | 'block';
  usage: Usage;
  timings: Timings;
}

/** Why a request ended cancelled: the client asked, a newer completion superseded it, or a chat preempted it. */
export type CancelCause = 'caller' | 'superseded' | 'preempted';

/**
 * Ghost text for the cursor. A background request: chats go first, and a newer completion supersedes this one
 * (it then ends at once, or within one decode step if it runs, with finishReason 'cancelled'). Custom rather than
 * LSP's textDocument/inlineCompletion: see sidecar/completions/completionService.ts.
 */
export const InlineCompletionRequest = new RequestType<InlineCompletionParams, InlineCompletionResult, PhiErrorData>('phi/inlineCompletion');

export interface ServeParams {
  /** 'start' (again: the same server), 'stop', or 'status'. */
  action: 'start' | 'stop' | 'status';
  /** Port on 127.0.0.1; 0 picks a free one. Default 8000. */
  port?: number;
  /** Required of clients as `Authorization: Bearer <key>` when set. */
  apiKey?: string;
}

export interface ServeResult {
  /** The OpenAI base URL while it serves, e.g. http://127.0.0.1:8000/v1. */
  url?: string;
  /** The model id clients name (the model folder's name). */
  modelId?: string;
}

/**
 * `phi-local serve` inside the sidecar: the loaded model behind an OpenAI-compatible endpoint on 127.0.0.1, so that
 * other tools share the one model in memory (sidecar/serve/serveService.ts). It goes when the sidecar goes.
 */
export const ServeRequest = new RequestType<ServeParams, ServeResult, PhiErrorData>('phi/serve');

/** Tokens phi/chat keeps for the answer when it fits a conversation: maxNewTokens, at most half the context. */
export function answerReserve(contextLength: number, maxNewTokens: number): number {
  return Math.max(1, Math.min(maxNewTokens, Math.floor(contextLength / 2)));
}

/** How the line starts and ends that phi/chat puts before an answer when it left older messages out (ChatResult.trimmed). */
export const TRIM_NOTICE = { start: '*Phi Local: ', end: ' tokens.*' } as const;

/** An answer without phi/chat's trim notice at its start (it is the sidecar's, not the model's: keep it out of prompts). */
export function withoutTrimNotice(text: string): string {
  if (!text.startsWith(TRIM_NOTICE.start)) return text;
  const end = text.indexOf(`${TRIM_NOTICE.end}\n`);
  if (end < 0 || text.lastIndexOf('\n', end) >= 0) return text;
  return text.slice(end + TRIM_NOTICE.end.length).replace(/^\n\n?/, '');
}

/**
 * Bounds on what one request may carry (the sizes no client needs; past them, memory and time grow for nothing); the
 * sidecar refuses more with InvalidParams naming the bound (paramsCheck.ts). Text: the largest context is 131,072
 * tokens, and code and prose run about 4 characters a token (4.2 on this repository's code), so the longest prompt
 * that fits is about half a MiB. A message (or text to count, or an inline completion's prefix) may have 1 MiB, room
 * even for 8 characters a token; a request 8 MiB of text in all: a conversation several contexts long, which phi/chat
 * fits to the context itself (the extension leaves out its oldest turns past this bound: they could never fit).
 * Tokenizing a MiB takes about 0.6 s for code or prose, 1.5–4 s without spaces, in pieces others run between.
 */
export const REQUEST_LIMITS = {
  messages: 10_000, messageChars: 1 << 20, requestChars: 8 << 20, tools: 256, maxNewTokens: 131_072, maxToolCalls: 50,
} as const;

/** JSON-RPC error codes the sidecar answers with; `data` carries the PhiErrorData. */
export const PhiErrorCodes = {
  /** The engine refused the request (see data.code). */
  engine: -32001,
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Directions: every method above, once (test/unit/protocol.test.ts checks that none is missing or in both).

/** What the client (the extension) sends; the sidecar answers. */
export const ClientToSidecar = {
  StatusRequest, LoadModelRequest, ChatRequest, RenderPromptRequest, CountTokensRequest, ProbeProvidersRequest,
  CheckModelFolderRequest, InlineCompletionRequest, ServeRequest, WarmPromptsRequest,
} as const;

/** What the sidecar sends; the client answers the requests (phi/runTool) and shows the notifications. */
export const SidecarToClient = {
  RunToolRequest, ToolStepNotification, ChatDeltaNotification, StatusNotification,
} as const;
