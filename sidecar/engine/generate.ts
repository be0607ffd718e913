// The generation loop: prompt → prefill (reusing the cached prefix) → decode with sampling until an eos
// token, the end of a tool call, the token limit or a cancel. Streams text that is always whole UTF-8 characters;
// a tool call's text is not streamed but returned on its own (`toolCall`).
//
// Caches: each request runs in a KV slot of its feature (kvSlots.ts) and reuses the longest prefix of its prompt any
// slot holds. The prompt's head (the leading system messages and the tool definitions: the same for every chat) is
// prefilled on its own and kept on disk (prefixStore.ts), so after a restart it is read back instead of computed.
// Several requests may run at once: their forward passes take turns through the gate (forwardGate.ts).
import type { Backend } from './backend';
import { ForwardGate, type GatePriority, type GateTicket } from './forwardGate';
import { DEFAULT_SLOT_COUNT, KvSlots, commonPrefixLength, type KvSlot, type SlotSummary } from './kvSlots';
import type { PrefixStore } from './prefixStore';
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
  /** The feature asking ('chat', 'completion', 'explain', …): requests of one feature share a KV slot. Default 'chat'. */
  slot?: string;
  /** Who goes first when requests run at once (forwardGate.ts). Default interactive. */
  priority?: 'interactive' | 'background' | 'idle';
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
    /** Of those, the prompt head's read back from disk (prefixStore.ts). */
    diskTokens?: number;
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
  /** KV slots (kvSlots.ts); default DEFAULT_SLOT_COUNT. */
  slots?: number;
  /** What the slots' cached positions may take together; default: no bound. */
  kvBudgetBytes?: number;
  /** Prompt heads on disk; none: heads are kept in memory only. */
  prefixStore?: PrefixStore;
  /** Where the generator says what it did that a user may want to know (a cache file rejected, a save failed). */
  log?(message: string): void;
}

/**
 * Tokens per pass while warming a head: any real request stops a warm-up, and waits for the pass under way (about
 * 2 s on a 2-core CPU with Phi-4-mini, against 8 s for the usual 256).
 */
const WARM_CHUNK = 64;

/** Heads shorter than this are cheap to compute and not worth a file. */
export const MIN_STORED_HEAD = 16;

/** One request's state while it runs: its slot, its turn at the gate, its draft. */
interface Run {
  slot: KvSlot;
  ticket: GateTicket;
  drafted?: Drafted;
  stats: { drafted: number; accepted: number };
  /** How long its last forward pass took, once it had the gate (not counting the wait for other requests' passes). */
  lastPassMs?: number;
}

/** Tokens drafted and already fed after the last sampled one, each with the logits that follow it. */
interface Drafted {
  tokens: number[];
  rows: Float32Array[];
  /** How many of them the sampler has taken so far. */
  taken: number;
}

const now = () => performance.now();

export { commonPrefixLength } from './kvSlots';

const GATE_PRIORITY: Record<NonNullable<GenerateRequest['priority']>, GatePriority> = { interactive: 0, background: 1, idle: 2 };

/** A request cancelled before its prompt was tokenized: nothing fed, nothing generated. */
function cancelledWhileRendering(totalMs: number): GenerateResult {
  return {
    text: '', tokenIds: [], finishReason: 'cancelled', seed: 0,
    usage: { promptTokens: 0, reusedTokens: 0, completionTokens: 0 },
    timings: { timeToFirstTokenMs: totalMs, prefillMs: 0, prefillTokensPerSecond: 0, decodeMs: 0, decodeTokensPerSecond: 0, totalMs },
  };
}

export class Generator {
  readonly contextLength: number;
  private readonly prefillChunk: number;
  /** Prompt tokens per second of a cold WARM_CHUNK-token pass, once timed (measurePrefill, or a warm-up's pass). */
  private prefillSpeed: number | undefined;
  private readonly defaultMaxNewTokens: number;
  private readonly replay: ReplayScript | undefined;
  private readonly xgrammar: ToolCallGrammarsOptions['load'];
  private readonly toolCallTokens: ToolCallTokens | undefined;
  private grammars: Promise<ToolCallGrammars> | undefined;
  private readonly speculative: boolean;
  private readonly draftLength = new DraftLength();
  private readonly slots: KvSlots;
  private readonly gate = new ForwardGate();
  private readonly store: PrefixStore | undefined;
  private readonly log: (message: string) => void;
  /** Head tokens by the head's messages and tools (rendering 8 tool definitions twice per request adds up). */
  private readonly heads = new Map<string, number[]>();
  /** The backend's selected slot (the one its forward passes append to). */
  private selected = 0;
  /** Head saves under way (the result goes out first; the file is written after). */
  private saving: Promise<void> = Promise.resolve();

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
    this.slots = new KvSlots(options.slots ?? DEFAULT_SLOT_COUNT, backend.bytesPerPosition, options.kvBudgetBytes ?? Infinity);
    this.store = options.prefixStore;
    this.log = options.log ?? (() => {});
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

  /** The tokens the most recently used slot holds (tests, benchmarks). */
  get cachedTokens(): readonly number[] {
    return [...this.slots.slots].sort((a, b) => b.lastUsed - a.lastUsed)[0].tokens;
  }

  /** What each slot holds, for the status. */
  cacheSummary(): { slots: SlotSummary[]; bytes: number } {
    return { slots: this.slots.summary(), bytes: this.slots.usedBytes };
  }

  /** Head files still being written (tests wait for them). */
  settled(): Promise<void> {
    return this.saving;
  }

  async generate(request: GenerateRequest, signal: CancelSignal, events: GenerateEvents = {}): Promise<GenerateResult> {
    const start = now();
    const prompt = request.promptIds ?? await this.promptOf(request, signal);
    if (!prompt) return cancelledWhileRendering(now() - start);
    const head = this.headLength(request, prompt);
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

    const ticket: GateTicket = { priority: GATE_PRIORITY[request.priority ?? 'interactive'], streaming: false };
    const { run, reused, fromDisk } = await this.begin(request.slot ?? 'chat', prompt, head, maxNew, ticket);
    let logits: Float32Array | undefined;
    try {
      logits = await this.prefill(run, prompt, reused, head, signal, request.prefillChunk ?? this.prefillChunk);
    } catch (e) {
      this.finish(run, prompt.slice(0, head));
      throw e;
    }
    ticket.streaming = true;
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
        logits = await this.step(run, next, tokens, speculate ? Math.min(room, this.draftLength.value) : 0);
      }
    } finally {
      calls?.release();
      this.finish(run, prompt.slice(0, head));
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
        ...(fromDisk ? { diskTokens: fromDisk } : {}),
        draftedTokens: run.stats.drafted, acceptedDraftTokens: run.stats.accepted,
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

  /**
   * Prompt tokens per second, from one timed pass of WARM_CHUNK ordinary tokens in a spare slot (then emptied): how
   * fast a cold prompt goes on this machine, for sizing what must answer within a time cap (inline completions).
   * 0 when no slot is spare; undefined when `signal` came before the timed pass (a request wants the model).
   */
  async measurePrefill(signal?: { readonly aborted: boolean }): Promise<number | undefined> {
    if (this.prefillSpeed) return this.prefillSpeed; // a warm-up timed such a pass already
    const ticket: GateTicket = { priority: GATE_PRIORITY.idle, streaming: false };
    const spare = this.slots.acquire('measure', []);
    if (!spare) return 0;
    try {
      // Ids of ordinary text (not special tokens); a fixed, repeating sentence.
      const sample = this.prompts.tokenizer.encode('The quick brown fox jumps over the lazy dog. '.repeat(Math.ceil(WARM_CHUNK / 8))).slice(0, WARM_CHUNK);
      spare.slot.tokens = [];
      const run: Run = { slot: spare.slot, ticket, stats: { drafted: 0, accepted: 0 } };
      await this.forward(run, sample.slice(0, 4)); // warms the kernels for this shape family
      if (signal?.aborted) return undefined;
      run.slot.tokens = [];
      await this.forward(run, sample);
      this.prefillSpeed = (sample.length * 1000) / run.lastPassMs!;
      return this.prefillSpeed;
    } finally {
      spare.slot.tokens = [];
      spare.slot.label = '';
      this.slots.release(spare.slot);
    }
  }

  /** Forgets every slot's cache (e.g. before an unrelated request, or to measure a cold prefill). */
  reset(): void {
    for (const slot of this.slots.slots) {
      if (slot.busy) continue;
      slot.tokens = [];
      slot.label = '';
    }
  }

  /**
   * Computes a prompt head ahead of need (right after a load, at idle priority): the leading system messages and
   * tools of `request`, read from disk when stored there, else prefilled and stored. Stops between chunks when
   * `signal` comes. Resolves to where the head now is.
   */
  async warm(request: GenerateRequest, signal: CancelSignal): Promise<'memory' | 'disk' | 'computed' | 'cancelled' | 'none'> {
    const head = this.headTokens(request.messages, request.tools);
    if (!head || head.length < 2) return 'none';
    if (this.slots.slots.some((s) => commonPrefixLength(s.tokens, head) === head.length)) return 'memory';
    const ticket: GateTicket = { priority: GATE_PRIORITY.idle, streaming: false };
    // The head plus one token, so that the head itself may be prefilled in full (the last prompt token is always fed).
    const { run, reused, fromDisk } = await this.begin(request.slot ?? 'chat', [...head, -1], head.length, 0, ticket);
    try {
      if (fromDisk) return 'disk';
      if (reused >= head.length) return 'memory';
      const done = await this.prefill(run, head, reused, head.length, signal, WARM_CHUNK);
      return done ? 'computed' : 'cancelled';
    } finally {
      this.finish(run, head);
    }
  }

  /** LongRoPE: sequences longer than the switch use other rotary factors, so their keys differ. */
  private usesLongRope(length: number): boolean {
    return this.config.ropeSwitchLength !== undefined && length > this.config.ropeSwitchLength;
  }

  /**
   * The tokens of the leading system messages and the tool definitions, as every prompt with them starts: the
   * common prefix of two renders that differ only in the first user message.
   */
  private headTokens(messages: readonly ChatMessage[] | undefined, tools: readonly ToolDefinition[] | undefined): number[] | undefined {
    const firstOther = messages?.findIndex((m) => m.role !== 'system') ?? 0;
    const lead = messages?.slice(0, firstOther < 0 ? messages.length : firstOther) ?? [];
    if (lead.length === 0 && !tools?.length) return undefined;
    const key = JSON.stringify([lead, tools ?? []]);
    let head = this.heads.get(key);
    if (!head) {
      const a = this.prompts.render([...lead, { role: 'user', content: 'a' }], tools).ids;
      const b = this.prompts.render([...lead, { role: 'user', content: 'b' }], tools).ids;
      head = a.slice(0, commonPrefixLength(a, b));
      if (this.heads.size >= 32) this.heads.delete(this.heads.keys().next().value!);
      this.heads.set(key, head);
    }
    return head;
  }

  /** How many leading tokens of `prompt` are its head (0: the caller rendered the prompt, or it has no head). */
  private headLength(request: GenerateRequest, prompt: readonly number[]): number {
    if (request.promptIds || request.prompt !== undefined || !request.messages?.length) return 0;
    const head = this.headTokens(request.messages, request.tools);
    if (!head || head.length >= prompt.length || commonPrefixLength(head, prompt) < head.length) return 0;
    return head.length;
  }

  /**
   * Takes a slot for a request and makes it hold as much of `prompt` as can be had without computing: what the slot
   * holds, a longer prefix another slot holds (copied), or the head from disk. Idle slots past the memory budget
   * are emptied. Everything that touches the backend runs inside the gate.
   */
  private async begin(label: string, prompt: readonly number[], head: number, maxNew: number, ticket: GateTicket): Promise<{ run: Run; reused: number; fromDisk: number }> {
    return this.gate.run(ticket, () => {
      const choice = this.slots.acquire(label, prompt);
      if (!choice) throw new EngineError('busy', 'Every KV cache slot is in use. Try again when an answer is done.');
      const { slot } = choice;
      const run: Run = { slot, ticket, stats: { drafted: 0, accepted: 0 } };
      try {
        if (choice.copyFrom) {
          this.backend.copySlot(choice.copyFrom.slot.index, slot.index, choice.copyFrom.length);
          slot.tokens = choice.copyFrom.slot.tokens.slice(0, choice.copyFrom.length);
        }
        this.select(slot.index);
        for (const idle of this.slots.evictionsFor(slot, Math.min(this.contextLength, prompt.length + maxNew))) {
          this.backend.freeSlot(idle.index);
          idle.tokens = [];
        }
        // At least one token must be fed to get the logits for the next one; and keys computed under one set of
        // LongRoPE factors cannot serve a sequence under the other.
        let reused = this.usesLongRope(slot.tokens.length) !== this.usesLongRope(prompt.length) ? 0
          : Math.min(commonPrefixLength(slot.tokens, prompt), prompt.length - 1);
        let fromDisk = 0;
        if (this.store && head >= MIN_STORED_HEAD && reused < head && !this.usesLongRope(prompt.length)) {
          const headTokens = prompt.slice(0, head);
          const started = now();
          const outcome = this.store.load(headTokens);
          if (outcome.problem) this.log(`Prompt cache: ${outcome.problem}.`);
          if (outcome.data) {
            const read = now();
            this.backend.importPositions(outcome.data, head);
            slot.tokens = headTokens;
            reused = fromDisk = head;
            this.log(`Prompt cache: a ${head}-token prompt head (${(outcome.data.byteLength / 2 ** 20).toFixed(0)} MiB) read from disk and checked in ${Math.round(read - started)} ms, into the cache in ${Math.round(now() - read)} ms.`);
          }
        }
        slot.tokens.length = reused;
        return { run, reused, fromDisk };
      } catch (e) {
        this.slots.release(slot);
        throw e;
      }
    });
  }

  /** The request is over: its draft dropped, its slot free again (idle slots back within the budget), its head stored if it was not. */
  private finish(run: Run, head: number[]): void {
    this.dropDraft(run);
    this.slots.release(run.slot);
    // While requests ran at once, none of their slots could be emptied: now the idle ones can.
    if (this.slots.overBudget()) {
      void this.gate.run({ priority: GATE_PRIORITY.idle, streaming: true }, () => {
        for (const idle of this.slots.evictionsFor(undefined, 0)) {
          if (idle.busy || idle.index === this.selected) continue;
          this.backend.freeSlot(idle.index);
          idle.tokens = [];
        }
      }).catch((e) => {
        // Nothing here should throw (the selected slot is never freed); if something does, a log line, not an
        // unhandled rejection that would end the worker.
        this.log(`KV cache: could not empty idle slots: ${(e as Error).message}`);
      });
    }
    if (this.store && head.length >= MIN_STORED_HEAD && !this.store.has(head)) {
      const store = this.store;
      // After the result is out (setImmediate runs after the worker has posted it).
      this.saving = this.saving.then(() => new Promise((go) => setImmediate(go))).then(() => this.saveHead(store, run.slot, head)).catch((e) => {
        this.log(`Prompt cache: could not store a prompt head: ${(e as Error).message}`);
      });
    }
  }

  private async saveHead(store: PrefixStore, slot: KvSlot, head: number[]): Promise<void> {
    const data = await this.gate.run({ priority: GATE_PRIORITY.idle, streaming: true }, () => {
      // The slot may have moved on (another request, an eviction, the LongRoPE switch) since: then there is nothing to store.
      if (commonPrefixLength(slot.tokens, head) < head.length || this.usesLongRope(slot.tokens.length) || store.has(head)) return undefined;
      this.select(slot.index);
      return this.backend.exportPositions(head.length);
    });
    if (data) await store.save(head, data);
  }

  private select(index: number): void {
    this.backend.selectSlot(index);
    this.selected = index;
  }

  /** Runs `tokens` after what `run`'s slot holds (inside the gate) and records them as held. */
  private forward(run: Run, tokens: readonly number[], options?: { allPositions?: boolean }): Promise<Float32Array> {
    return this.gate.run(run.ticket, async () => {
      this.select(run.slot.index);
      this.backend.truncate(run.slot.tokens.length);
      const started = now();
      const logits = await this.backend.forward(tokens, options);
      run.lastPassMs = now() - started;
      run.slot.tokens.push(...tokens);
      return logits;
    });
  }

  /**
   * Feeds `prompt` from position `from` on; returns the last logits, or undefined when cancelled. The head (its first
   * `head` positions) is fed in chunks of its own, so its keys and values are the same whether it was computed now or
   * read back from disk.
   */
  private async prefill(run: Run, prompt: readonly number[], from: number, head: number, signal: CancelSignal, chunkSize: number): Promise<Float32Array | undefined> {
    run.slot.tokens.length = from;
    let logits: Float32Array | undefined;
    let i = from;
    const end = prompt.length;
    while (i < end) {
      if (signal.aborted) return undefined;
      // From an empty cache, a long-RoPE sequence must go in one pass: the graph picks the long factors only
      // when the whole sequence it sees is past the switch.
      const oneShot = i === 0 && this.usesLongRope(prompt.length);
      const stop = oneShot ? end : Math.min(end, i + chunkSize, i < head ? head : end);
      logits = await this.forward(run, prompt.slice(i, stop));
      // A warm-up's full pass after its first (which may pay for the kernels' first run) is the pass measurePrefill
      // would time: its speed, so the measurement after a load costs nothing when a head was computed.
      if (!this.prefillSpeed && chunkSize === WARM_CHUNK && stop - i === WARM_CHUNK && i > from && run.lastPassMs) {
        this.prefillSpeed = (WARM_CHUNK * 1000) / run.lastPassMs;
      }
      i = stop;
    }
    return logits;
  }

  /**
   * Feeds one sampled token and returns the logits after it. Crossing the LongRoPE switch re-feeds the whole
   * sequence under the long factors. With `draft` > 0, up to that many tokens guessed from the sequence
   * (promptLookup.ts) go into the same forward pass; while the sampler keeps picking them, their logits are
   * already there and no pass runs. The first pick that differs drops the rest of the draft from the cache.
   */
  private async step(run: Run, token: number, sequence: readonly number[], draft = 0): Promise<Float32Array> {
    const ready = this.takeDrafted(run, token);
    if (ready) return ready;
    if (this.usesLongRope(sequence.length) && !this.usesLongRope(run.slot.tokens.length)) {
      run.slot.tokens = [];
      return this.forward(run, sequence);
    }
    // A draft never crosses the LongRoPE switch: the positions past it need the long factors.
    const guess = draft > 0 && !this.usesLongRope(sequence.length + draft) ? lookupDraft(sequence, draft) : [];
    if (guess.length === 0) return this.forward(run, [token]);
    const rows = await this.forward(run, [token, ...guess], { allPositions: true });
    const width = rows.length / (guess.length + 1);
    const row = (i: number) => rows.subarray(i * width, (i + 1) * width);
    run.drafted = { tokens: guess, rows: guess.map((_, i) => row(i + 1)), taken: 0 };
    run.stats.drafted += guess.length;
    return row(0);
  }

  /** The logits after `token` when it is the next drafted one (already fed); otherwise the draft is dropped. */
  private takeDrafted(run: Run, token: number): Float32Array | undefined {
    const d = run.drafted;
    if (!d) return undefined;
    if (d.tokens[d.taken] !== token) {
      this.dropDraft(run);
      return undefined;
    }
    const row = d.rows[d.taken++];
    run.stats.accepted++;
    if (d.taken === d.tokens.length) {
      this.draftLength.update(d.tokens.length, d.taken);
      run.drafted = undefined;
    }
    return row;
  }

  /** Forgets the drafted tokens the sampler did not take (the backend drops them before the slot's next pass). */
  private dropDraft(run: Run): void {
    const d = run.drafted;
    if (!d) return;
    run.drafted = undefined;
    this.draftLength.update(d.tokens.length, d.taken);
    run.slot.tokens.length -= d.tokens.length - d.taken;
  }
}
