// The generation loop: prompt → prefill (reusing the cached prefix) → decode with sampling until an eos
// token, the token limit or a cancel. Streams text that is always whole UTF-8 characters.
import type { Backend } from './backend';
import { EngineError } from './errors';
import type { ModelConfig } from './modelFolder';
import { Sampler, type SamplingOptions } from './sampling';
import type { PromptBuilder } from './promptBuilder';
import type { ChatMessage, ToolDefinition } from './template';

/** Anything with an `aborted` flag: an AbortSignal, or the worker's shared cancel flag. */
export interface CancelSignal {
  readonly aborted: boolean;
}

export interface GenerateRequest {
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  /** An already tokenized prompt, fed as is instead of rendering `messages` (benchmarks, debugging). */
  promptIds?: number[];
  /** Text the answer starts with, fed after the assistant marker (inline completions: the code before the cursor). */
  assistantPrefix?: string;
  /** Set to false to keep generating past eos tokens (benchmarks on random weights). Default true. */
  stopOnEos?: boolean;
  /** Upper bound on generated tokens; also capped by what is left of the context. */
  maxNewTokens?: number;
  sampling?: SamplingOptions;
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

export interface GenerateTimings {
  /** From the request to the first generated token (includes prefill). */
  timeToFirstTokenMs: number;
  prefillMs: number;
  prefillTokensPerSecond: number;
  decodeMs: number;
  /** Tokens after the first, per second of decoding. */
  decodeTokensPerSecond: number;
  totalMs: number;
}

export interface GenerateResult {
  text: string;
  tokenIds: number[];
  finishReason: FinishReason;
  usage: {
    promptTokens: number;
    /** Prompt tokens whose keys and values were reused from the previous turn. */
    reusedTokens: number;
    completionTokens: number;
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
}

const now = () => performance.now();

export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export class Generator {
  /** The tokens whose keys and values are in the backend's cache, in order. */
  private cached: number[] = [];
  readonly contextLength: number;
  private readonly prefillChunk: number;
  private readonly defaultMaxNewTokens: number;

  constructor(
    private readonly backend: Backend,
    readonly prompts: PromptBuilder,
    readonly config: ModelConfig,
    options: GeneratorOptions = {},
  ) {
    this.contextLength = Math.min(options.contextLength ?? config.contextLength, config.contextLength);
    this.prefillChunk = options.prefillChunk ?? 256;
    this.defaultMaxNewTokens = options.maxNewTokens ?? 1024;
  }

  get cachedTokens(): readonly number[] {
    return this.cached;
  }

  async generate(request: GenerateRequest, signal: CancelSignal, events: GenerateEvents = {}): Promise<GenerateResult> {
    const start = now();
    const prompt = request.promptIds ?? this.prompts.render(request.messages, request.tools, request.assistantPrefix).ids;
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

    const reused = this.reusablePrefix(prompt);
    let logits = await this.prefill(prompt.slice(reused), reused, signal);
    const prefillMs = now() - start;
    const tokens = [...prompt];
    const generated: number[] = [];
    let text = '';
    let finishReason: FinishReason = logits ? 'length' : 'cancelled';
    let firstTokenAt = now();
    while (logits) {
      const next = sampler.sample(logits, tokens);
      if (generated.length === 0) firstTokenAt = now();
      if (eos.has(next)) {
        finishReason = 'stop';
        break;
      }
      tokens.push(next);
      generated.push(next);
      const piece = decoder.push(next);
      if (piece) {
        text += piece;
        events.onText?.(piece, generated.length);
      }
      if (generated.length >= maxNew) break;
      if (signal.aborted) {
        finishReason = 'cancelled';
        break;
      }
      logits = await this.step(next, tokens);
    }
    const tail = decoder.flush();
    if (tail) {
      text += tail;
      events.onText?.(tail, generated.length);
    }
    const end = now();
    const decodeMs = generated.length > 1 ? end - firstTokenAt : 0;
    const prefilled = prompt.length - reused;
    return {
      text, tokenIds: generated, finishReason, seed: sampler.seed,
      usage: { promptTokens: prompt.length, reusedTokens: reused, completionTokens: generated.length },
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
  private async prefill(tokens: readonly number[], keep: number, signal: CancelSignal): Promise<Float32Array | undefined> {
    this.backend.truncate(keep);
    this.cached.length = keep;
    let logits: Float32Array | undefined;
    let i = 0;
    while (i < tokens.length) {
      if (signal.aborted) return undefined;
      // From an empty cache, a long-RoPE sequence must go in one pass: the graph picks the long factors only
      // when the whole sequence it sees is past the switch.
      const oneShot = this.cached.length === 0 && this.usesLongRope(tokens.length);
      const chunk = tokens.slice(i, oneShot ? tokens.length : i + this.prefillChunk);
      logits = await this.backend.forward(chunk);
      this.cached.push(...chunk);
      i += chunk.length;
    }
    return logits;
  }

  /** Feeds one sampled token; crossing the LongRoPE switch re-feeds the whole sequence under the long factors. */
  private async step(token: number, sequence: readonly number[]): Promise<Float32Array> {
    if (this.usesLongRope(sequence.length) && !this.usesLongRope(this.cached.length)) {
      this.reset();
      const logits = await this.backend.forward(sequence);
      this.cached.push(...sequence);
      return logits;
    }
    const logits = await this.backend.forward([token]);
    this.cached.push(token);
    return logits;
  }
}
