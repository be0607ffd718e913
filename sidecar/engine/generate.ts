// The generation loop: prompt → prefill (reusing the cached prefix) → decode with sampling until an eos
// token, the end of a tool call, the token limit or a cancel. Streams text that is always whole UTF-8 characters;
// a tool call's text is not streamed but returned on its own (`toolCall`).
import type { Backend } from './backend';
import { EngineError } from '../engineError';
import type { ModelConfig } from './modelFolder';
import { Sampler, type SamplingOptions } from './sampling';
import type { PromptBuilder } from '../prompt/promptBuilder';
import { DraftLength, lookupDraft } from './promptLookup';
import type { Timings } from '../protocol';
import type { ReplayScript } from './replay';
import type { ChatMessage, ToolDefinition } from '../prompt/template';
import { ToolCallGrammars, type ToolCallGrammarsOptions } from '../toolCalls/toolCallConstraint';
import { ToolCallDecoding, type ToolCallTokens, type ToolChoice } from '../toolCalls/toolCallDecoding';
import { SchemaDecoding } from '../toolCalls/schemaDecoding';

export type { ToolChoice } from '../toolCalls/toolCallDecoding';

/** Anything with an `aborted` flag: an AbortSignal, or the worker's shared cancel flag. */
export interface CancelSignal {
  readonly aborted: boolean;
}

export interface GenerateRequest {
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  /** An already tokenized prompt, fed as is instead of rendering `messages` (benchmarks, debugging). */
  promptIds?: number[];
  /** A prompt the caller rendered (inferenceEngine.ts): text or ids, no tool calls looked for. */
  prompt?: string | number[];
  /** A JSON schema the whole output must match (inferenceEngine.ts). */
  responseSchema?: object;
  /** Text the answer starts with, fed after the assistant marker (inline completions: the code before the cursor). */
  assistantPrefix?: string;
  /** Prompt tokens per forward pass for this request (default: the generator's). Smaller: a cancel lands sooner. */
  prefillChunk?: number;
  /** Set to false to keep generating past eos tokens (benchmarks on random weights). Default true. */
  stopOnEos?: boolean;
  /** Upper bound on generated tokens; also capped by what is left of the context. */
  maxNewTokens?: number;
  sampling?: SamplingOptions;
  /**
   * With `tools`: 'auto' (default) lets the model start a call, 'required' makes it start with one, 'none' keeps
   * it from calling. Without tools, no call can start. Once a call starts, only tokens that keep it a valid
   * call list of the declared tools may be sampled, and generation ends after `<|/tool_call|>`.
   */
  toolChoice?: ToolChoice;
  /** At most this many calls in one call list. */
  maxToolCalls?: number;
  /** False: detect calls but do not constrain their text (to measure the constraint and what it prevents). */
  constrainToolCalls?: boolean;
}

/** 'tool-call': the model made a call (see GenerateResult.toolCall). */
export type FinishReason = 'stop' | 'length' | 'cancelled' | 'tool-call';

/** The protocol's figures (first token, prefill and decode times and speeds, total). */
export type GenerateTimings = Timings;

export interface GenerateResult {
  /** The text for the reader: everything before a tool call. */
  text: string;
  /** Every generated token, a tool call's included (its closing `<|/tool_call|>` too). */
  tokenIds: number[];
  /** The call the model made: its text between `<|tool_call|>` and `<|/tool_call|>` (closed: the end tag came). */
  toolCall?: { text: string; closed: boolean };
  finishReason: FinishReason;
  usage: {
    promptTokens: number;
    /** Prompt tokens whose keys and values were reused from the previous turn. */
    reusedTokens: number;
    completionTokens: number;
    /** Speculative decoding: tokens drafted from the prompt, and how many of them the model kept. */
    draftedTokens?: number;
    acceptedDraftTokens?: number;
  };
  timings: GenerateTimings;
  seed: number;
}

export interface GenerateEvents {
  /** Text that became complete with the latest token; `tokens` is how many have been generated so far. */
  onText?(text: string, tokens: number): void;
}

export interface GeneratorOptions {
  /** The context to allow, at most the model's; smaller saves KV memory. */
  contextLength?: number;
  /** Prompt tokens per forward pass while prefilling: bounds the memory for the official graph's full logits. */
  prefillChunk?: number;
  /** Default for requests that do not say. */
  maxNewTokens?: number;
  /** TEST DOUBLE: answers come from this script instead of sampling (see replay.ts). */
  replay?: ReplayScript;
  /** TEST DOUBLE seam: where the tool-call grammar's copies of xgrammar come from (default: the package). */
  xgrammar?: ToolCallGrammarsOptions['load'];
  /**
   * Prompt-lookup speculative decoding (promptLookup.ts): the output is the same, only faster when the answer
   * repeats its prompt. Default: on where the backend rewinds its cache for free.
   */
  speculative?: boolean;
}

/** Tokens drafted and already fed after the last sampled one, each with the logits that follow it. */
interface Drafted {
  tokens: number[];
  rows: Float32Array[];
  /** How many of them the sampler has taken so far. */
  taken: number;
}

const now = () => performance.now();

export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** A request cancelled before its prompt was tokenized: nothing fed, nothing generated. */
function cancelledWhileRendering(totalMs: number): GenerateResult {
  return {
    text: '', tokenIds: [], finishReason: 'cancelled', seed: 0,
    usage: { promptTokens: 0, reusedTokens: 0, completionTokens: 0 },
    timings: { timeToFirstTokenMs: totalMs, prefillMs: 0, prefillTokensPerSecond: 0, decodeMs: 0, decodeTokensPerSecond: 0, totalMs },
  };
}

export class Generator {
  /** The tokens whose keys and values are in the backend's cache, in order. */
  private cached: number[] = [];
  readonly contextLength: number;
  private readonly prefillChunk: number;
  private readonly defaultMaxNewTokens: number;
  private readonly replay: ReplayScript | undefined;
  private readonly xgrammar: ToolCallGrammarsOptions['load'];
  private readonly toolCallTokens: ToolCallTokens | undefined;
  private grammars: Promise<ToolCallGrammars> | undefined;
  private readonly speculative: boolean;
  private readonly draftLength = new DraftLength();
  private drafted: Drafted | undefined;
  private draftStats = { drafted: 0, accepted: 0 };

  constructor(
    private readonly backend: Backend,
    readonly prompts: PromptBuilder,
    readonly config: ModelConfig,
    options: GeneratorOptions = {},
  ) {
    this.contextLength = Math.min(options.contextLength ?? config.contextLength, config.contextLength);
    this.prefillChunk = options.prefillChunk ?? 256;
    this.defaultMaxNewTokens = options.maxNewTokens ?? 1024;
    this.replay = options.replay;
    this.xgrammar = options.xgrammar;
    this.speculative = options.speculative ?? backend.rewindIsFree === true;
    const start = prompts.tokenizer.tokenToId('<|tool_call|>');
    const end = prompts.tokenizer.tokenToId('<|/tool_call|>');
    this.toolCallTokens = start !== undefined && end !== undefined ? { start, end } : undefined;
  }

  /** xgrammar's tables for this vocabulary: built once, when a call is first constrained. */
  private toolCallGrammars(): Promise<ToolCallGrammars> {
    if (!this.grammars) {
      // The grammar's own stop token: a call's end tag, or (a tokenizer without call tokens) eos for response schemas.
      const end = this.toolCallTokens?.end ?? this.config.eosTokenIds[0];
      this.grammars = ToolCallGrammars.create(this.prompts.tokenizer, this.config.vocabSize, end, { load: this.xgrammar });
      this.grammars.catch(() => { this.grammars = undefined; });
    }
    return this.grammars;
  }

  get cachedTokens(): readonly number[] {
    return this.cached;
  }

  async generate(request: GenerateRequest, signal: CancelSignal, events: GenerateEvents = {}): Promise<GenerateResult> {
    const start = now();
    const prompt = request.promptIds ?? await this.promptOf(request, signal);
    if (!prompt) return cancelledWhileRendering(now() - start);
    if (prompt.length === 0) throw new EngineError('internal', 'The prompt is empty.');
    if (prompt.length >= this.contextLength) {
      throw new EngineError('prompt-too-long',
        `The prompt is ${prompt.length} tokens, but the context holds ${this.contextLength}` +
        (this.contextLength < this.config.contextLength ? ` (the model could take up to ${this.config.contextLength}; raise the context length setting)` : '') +
        '. Remove attached context or older messages, or start a new chat.');
    }
    const maxNew = Math.min(request.maxNewTokens ?? this.defaultMaxNewTokens, this.contextLength - prompt.length);
    const sampler = new Sampler(request.sampling);
    const eos = new Set(request.stopOnEos === false ? [] : this.config.eosTokenIds);
    const decoder = this.prompts.tokenizer.createStreamDecoder();
    // TEST DOUBLE (replay mode): the canned reply's tokens are taken instead of sampled ones, unconstrained.
    const forced = this.replay?.nextReply(this.prompts.tokenizer);
    const calls = request.responseSchema && !forced ? new SchemaDecoding(request.responseSchema, this.config.eosTokenIds, () => this.toolCallGrammars())
      : this.toolCallDecoding(forced ? { ...request, constrainToolCalls: false } : request);
    const speculate = this.speculative;
    this.draftStats = { drafted: 0, accepted: 0 };

    const reused = this.reusablePrefix(prompt);
    let logits = await this.prefill(prompt.slice(reused), reused, signal, request.prefillChunk ?? this.prefillChunk);
    const prefillMs = now() - start;
    const tokens = [...prompt];
    const generated: number[] = [];
    let text = '';
    let toolCall: GenerateResult['toolCall'];
    let finishReason: FinishReason = logits ? 'length' : 'cancelled';
    let firstTokenAt = now();
    const emit = (piece: string) => {
      if (!piece) return;
      text += piece;
      events.onText?.(piece, generated.length);
    };
    try {
      while (logits) {
        let next: number;
        if (forced) next = forced[generated.length] ?? this.config.eosTokenIds[0];
        else {
          if (calls?.constrains(generated.length)) {
            logits = new Float32Array(logits); // the backend's row stays as it was
            await calls.constrain(logits, generated.length);
          }
          next = sampler.sample(logits, tokens);
        }
        if (generated.length === 0) firstTokenAt = now();
        // Inside a constrained call an eos token cannot be sampled; one here ends an unconstrained (or replayed)
        // call that lacks its end tag.
        if (eos.has(next)) {
          finishReason = 'stop';
          break;
        }
        tokens.push(next);
        generated.push(next);
        const phase = calls ? await calls.accept(next) : 'text';
        if (phase === 'text') emit(decoder.push(next));
        else if (toolCall === undefined) {
          // The call token: what the reader sees ends here; the call's text is collected on its own.
          emit(decoder.flush());
          toolCall = { text: '', closed: false };
        } else if (phase === 'done') {
          toolCall.text += decoder.flush();
          toolCall.closed = true;
          finishReason = 'tool-call';
          break;
        } else toolCall.text += decoder.push(next);
        if (generated.length >= maxNew) break;
        if (signal.aborted) {
          finishReason = 'cancelled';
          break;
        }
        const room = Math.min(maxNew - generated.length, this.contextLength - tokens.length) - 1;
        logits = await this.step(next, tokens, speculate ? Math.min(room, this.draftLength.value) : 0);
      }
    } finally {
      calls?.release();
      this.dropDraft();
    }
    const tail = decoder.flush();
    if (toolCall) toolCall.text += tail;
    else emit(tail);
    const end = now();
    const decodeMs = generated.length > 1 ? end - firstTokenAt : 0;
    const prefilled = prompt.length - reused;
    return {
      text, tokenIds: generated, finishReason, seed: sampler.seed, ...(toolCall ? { toolCall } : {}),
      usage: {
        promptTokens: prompt.length, reusedTokens: reused, completionTokens: generated.length,
        draftedTokens: this.draftStats.drafted, acceptedDraftTokens: this.draftStats.accepted,
      },
      timings: {
        timeToFirstTokenMs: (generated.length > 0 ? firstTokenAt : end) - start,
        prefillMs,
        prefillTokensPerSecond: prefillMs > 0 ? (prefilled * 1000) / prefillMs : 0,
        decodeMs,
        decodeTokensPerSecond: decodeMs > 0 ? ((generated.length - 1) * 1000) / decodeMs : 0,
        totalMs: end - start,
      },
    };
  }

  /**
   * The prompt's ids: the caller's own prompt (text with special tokens matched, or ids), or the conversation rendered.
   * Undefined when `signal` came while tokenizing: megabytes of text take seconds, and a Stop must not wait for them.
   */
  private async promptOf(request: GenerateRequest, signal: CancelSignal): Promise<number[] | undefined> {
    if (typeof request.prompt === 'string') return this.prompts.tokenizer.encodeAsync(request.prompt, signal);
    if (request.prompt) {
      const size = this.prompts.tokenizer.vocabSize;
      const bad = request.prompt.find((id) => !Number.isInteger(id) || id < 0 || id >= size);
      if (bad !== undefined) throw new EngineError('bad-request', `The prompt has token id ${bad}, which the tokenizer does not have (0–${size - 1}).`);
      return request.prompt;
    }
    return (await this.prompts.renderAsync(request.messages, request.tools, request.assistantPrefix, signal))?.ids;
  }

  /** How this request handles tool calls; undefined when the tokenizer has no call tokens (not Phi-4's) or the caller rendered the prompt. */
  private toolCallDecoding(request: GenerateRequest): ToolCallDecoding | undefined {
    if (!this.toolCallTokens || request.prompt !== undefined) return undefined;
    const tools = request.tools ?? [];
    return new ToolCallDecoding({
      tools,
      choice: tools.length === 0 ? 'none' : (request.toolChoice ?? 'auto'),
      constrain: request.constrainToolCalls !== false,
      maxCalls: request.maxToolCalls,
    }, this.toolCallTokens, () => this.toolCallGrammars());
  }

  /** Forgets the cache (e.g. before an unrelated request, or to measure a cold prefill). */
  reset(): void {
    this.backend.truncate(0);
    this.cached = [];
  }

  /** LongRoPE: sequences longer than the switch use other rotary factors, so their keys differ. */
  private usesLongRope(length: number): boolean {
    return this.config.ropeSwitchLength !== undefined && length > this.config.ropeSwitchLength;
  }

  /** How many leading prompt tokens can keep their cached keys and values. */
  private reusablePrefix(prompt: readonly number[]): number {
    if (this.usesLongRope(this.cached.length) !== this.usesLongRope(prompt.length)) return 0;
    // At least one token must be fed to get the logits for the next one.
    return Math.min(commonPrefixLength(this.cached, prompt), prompt.length - 1);
  }

  /** Feeds `tokens` after the first `keep` cached ones; returns the last logits, or undefined when cancelled. */
  private async prefill(tokens: readonly number[], keep: number, signal: CancelSignal, chunkSize: number): Promise<Float32Array | undefined> {
    this.backend.truncate(keep);
    this.cached.length = keep;
    let logits: Float32Array | undefined;
    let i = 0;
    while (i < tokens.length) {
      if (signal.aborted) return undefined;
      // From an empty cache, a long-RoPE sequence must go in one pass: the graph picks the long factors only
      // when the whole sequence it sees is past the switch.
      const oneShot = this.cached.length === 0 && this.usesLongRope(tokens.length);
      const chunk = tokens.slice(i, oneShot ? tokens.length : i + chunkSize);
      logits = await this.backend.forward(chunk);
      this.cached.push(...chunk);
      i += chunk.length;
    }
    return logits;
  }

  /**
   * Feeds one sampled token and returns the logits after it. Crossing the LongRoPE switch re-feeds the whole
   * sequence under the long factors. With `draft` > 0, up to that many tokens guessed from the sequence
   * (promptLookup.ts) go into the same forward pass; while the sampler keeps picking them, their logits are
   * already there and no pass runs. The first pick that differs drops the rest of the draft from the cache.
   */
  private async step(token: number, sequence: readonly number[], draft = 0): Promise<Float32Array> {
    const ready = this.takeDrafted(token);
    if (ready) return ready;
    if (this.usesLongRope(sequence.length) && !this.usesLongRope(this.cached.length)) {
      this.reset();
      const logits = await this.backend.forward(sequence);
      this.cached.push(...sequence);
      return logits;
    }
    // A draft never crosses the LongRoPE switch: the positions past it need the long factors.
    const guess = draft > 0 && !this.usesLongRope(sequence.length + draft) ? lookupDraft(sequence, draft) : [];
    if (guess.length === 0) {
      const logits = await this.backend.forward([token]);
      this.cached.push(token);
      return logits;
    }
    const rows = await this.backend.forward([token, ...guess], { allPositions: true });
    this.cached.push(token, ...guess);
    const width = rows.length / (guess.length + 1);
    const row = (i: number) => rows.subarray(i * width, (i + 1) * width);
    this.drafted = { tokens: guess, rows: guess.map((_, i) => row(i + 1)), taken: 0 };
    this.draftStats.drafted += guess.length;
    return row(0);
  }

  /** The logits after `token` when it is the next drafted one (already fed); otherwise the draft is dropped. */
  private takeDrafted(token: number): Float32Array | undefined {
    const d = this.drafted;
    if (!d) return undefined;
    if (d.tokens[d.taken] !== token) {
      this.dropDraft();
      return undefined;
    }
    const row = d.rows[d.taken++];
    this.draftStats.accepted++;
    if (d.taken === d.tokens.length) {
      this.draftLength.update(d.tokens.length, d.taken);
      this.drafted = undefined;
    }
    return row;
  }

  /** Forgets the drafted tokens the sampler did not take, in the cache too. */
  private dropDraft(): void {
    const d = this.drafted;
    if (!d) return;
    this.drafted = undefined;
    this.draftLength.update(d.tokens.length, d.taken);
    const keep = this.cached.length - (d.tokens.length - d.taken);
    this.backend.truncate(keep);
    this.cached.length = keep;
  }

}
