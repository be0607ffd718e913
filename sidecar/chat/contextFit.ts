// phi/chat fits the conversation into the model's context itself (contextTrim.ts is the policy), so the client sends
// it once: no phi/countTokens round trip before every turn. The engine tokenizes the prompt anyway; the fit adds as
// little as it can to that:
// - nothing, while the text is clearly within the budget: a token is at least one byte of the rendered prompt (a
//   byte-level BPE, Phi-4's), so its UTF-8 bytes, with room for the template's markup, bound the tokens from above;
// - otherwise the engine's own count (the loaded model's tokenizer and template), each text tokenized once: a
//   turn's prompt is the last one plus the new messages, so only those are tokenized; the others' counts are
//   remembered.
// A conversation's cut is remembered too (by conversationId), so the next question leaves out the same turns and
// the engine reuses its cached prefix.
import { createHash } from 'node:crypto';
import { EngineError } from '../engineError';
import type { InferenceEngine } from '../inferenceEngine';
import type { ChatMessage, ChatParams, ChatResult, ToolDefinition } from '../protocol';
import { answerReserve, trimNotice, trimTarget, trimToContext, withoutTrimNotice } from './contextTrim';

/** The engines' answer cap when a request sets none (engine/generate.ts, the remote engine). */
const DEFAULT_MAX_NEW_TOKENS = 1024;
/** Counts remembered: more messages than one request may hold (paramsCheck.ts), a few conversations' worth. */
const MAX_COUNTED = 16_384;
/** Conversations whose cut is remembered. */
const MAX_CONVERSATIONS = 256;
/** Bytes of markup a message may add (`<|tool_response|>`, `<|end|>`, the tool-call markers), and a prompt. */
const MESSAGE_MARKUP = 64;
const PROMPT_MARKUP = 256;

export type Trimmed = NonNullable<ChatResult['trimmed']>;

export interface Fitted {
  messages: ChatMessage[];
  /** Set when older messages were left out. */
  trimmed?: Trimmed;
  /** The prompt's tokens before and after the cut, and the most it may have (for the log); unset when not counted. */
  figures?: { total: number; fitted: number; budget: number };
}

/**
 * At least the prompt's tokens, without tokenizing: the UTF-8 bytes of what the template renders, over-estimated.
 * Tool calls and tools are rendered as JSON with a space after each `,` and `:`, at most twice JSON.stringify's.
 */
export function tokenBound(messages: readonly ChatMessage[], tools: readonly ToolDefinition[] | undefined): number {
  let bytes = PROMPT_MARKUP + (tools ? 2 * Buffer.byteLength(JSON.stringify(tools)) : 0);
  for (const m of messages) {
    bytes += MESSAGE_MARKUP + Buffer.byteLength(m.content) + (m.toolCalls?.length ? 2 * Buffer.byteLength(JSON.stringify(m.toolCalls)) : 0);
  }
  return bytes;
}

/** `promise`'s value, or undefined as soon as `signal` aborts (a count of megabytes takes seconds). */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A bounded map that forgets the least recently used entry first. */
function touch<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}

export class ContextFitter {
  /** Counts of messages and prompt frames (count() says which), for the model `countedFor`. */
  private readonly counted = new Map<string, number>();
  private countedFor: string | undefined;
  /** Per conversation, how many of its oldest turns the last prompt left out. */
  private readonly leftOut = new Map<string, number>();

  constructor(private readonly engine: Pick<InferenceEngine, 'countTokens' | 'model'>) {}

  /** `signal`: the turn's; a Stop while the fit counts ends the fit at once (with the messages as they came). */
  async fit(params: ChatParams, signal?: AbortSignal): Promise<Fitted> {
    // Our notice at the start of an earlier answer was never the model's: it stays out of the prompt.
    const messages = params.messages.map((m) => {
      const content = m.role === 'assistant' ? withoutTrimNotice(m.content) : m.content;
      return content === m.content ? m : { ...m, content };
    });
    const contextLength = this.engine.model?.contextLength ?? 0;
    // No model (the engine says so), or a remote server that does not tell its context (it judges the prompt itself).
    if (contextLength <= 0) return { messages };
    const tools = params.tools?.length ? params.tools : undefined;
    const reserve = answerReserve(contextLength, params.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS);
    const budget = contextLength - reserve;
    const id = params.conversationId;
    if (tokenBound(messages, tools) <= budget) {
      if (id) touch(this.leftOut, id, 0, MAX_CONVERSATIONS); // as a counted prompt that fits: nothing left out
      return { messages };
    }
    const counted = await unlessAborted(this.count(messages, tools), signal);
    // Stopped: the turn ends cancelled before the engine starts on it (the count goes on, to be remembered).
    if (!counted) return { messages };
    const { total, perMessage } = counted;
    // The target only pays with the memory: without it (no conversation id), a deeper cut is lost on the next turn.
    const trim = trimToContext(messages, perMessage, total, budget, id ? { leftOutBefore: this.leftOut.get(id), target: trimTarget(budget) } : {});
    if (!trim.fits) {
      const toolTokens = tools ? await this.toolTokens(messages, tools) : 0;
      throw new EngineError('prompt-too-long', `The request is ${trim.tokens} tokens` +
        (tools ? ` (${toolTokens} of them the definitions of the ${tools.length} tools offered)` : '') +
        `, but the model's context of ${contextLength} keeps ${reserve} of them for the answer.`);
    }
    if (id) touch(this.leftOut, id, trim.droppedTurns, MAX_CONVERSATIONS);
    const figures = { total, fitted: trim.tokens, budget };
    if (trim.dropped === 0) return { messages: trim.messages, figures };
    return {
      messages: trim.messages, figures,
      trimmed: { droppedMessages: trim.dropped, droppedTurns: trim.droppedTurns, notice: trimNotice(trim.dropped, contextLength) },
    };
  }

  /**
   * The whole prompt's tokens (tools and markup included) and each message's. A message's tokens are its content's
   * (phi/countTokens of the text, as inside a message) and its markup's (the same message without content:
   * `<|role|>`, tool calls, `<|end|>`; the same for every message of a role); the prompt's own markup and the tools
   * are a count of the first message without content, with the tools. So each text is tokenized once, and all of it
   * is remembered. Exact, as special tokens bound every content and the tokenizer never merges across them.
   */
  async count(messages: ChatMessage[], tools: ToolDefinition[] | undefined): Promise<{ total: number; perMessage: number[] }> {
    const model = this.engine.model?.dir;
    if (model !== this.countedFor) {
      this.counted.clear();
      this.countedFor = model;
    }
    const [perMessage, frame] = await Promise.all([Promise.all(messages.map((m) => this.messageTokens(m))), this.frameTokens(messages[0], tools)]);
    return { total: perMessage.reduce((sum, n) => sum + n, frame), perMessage };
  }

  private async messageTokens(m: ChatMessage): Promise<number> {
    return this.remembered(['message', m.role, m.content, m.toolCalls, m.name], async () => {
      if (!m.content) return (await this.engine.countTokens({ messages: [m] })).perMessage?.[0] ?? 0;
      const [text, markup] = await Promise.all([this.engine.countTokens({ text: m.content }), this.messageTokens({ ...m, content: '' })]);
      return text.tokens + markup;
    });
  }

  /** The prompt's tokens beyond its messages' own: the template's markup, and the tools where the first message is. */
  private async frameTokens(first: ChatMessage | undefined, tools: ToolDefinition[] | undefined): Promise<number> {
    const frame = first && { ...first, content: '' };
    return this.remembered(['frame', frame, tools], async () => {
      const [all, own] = await Promise.all([this.engine.countTokens({ messages: frame ? [frame] : [], tools }), frame ? this.messageTokens(frame) : 0]);
      return all.tokens - own;
    });
  }

  /** A count remembered by what was counted (hashed: a message may have a MiB), computed when it is not. */
  private async remembered(what: unknown[], compute: () => Promise<number>): Promise<number> {
    const key = createHash('sha1').update(JSON.stringify(what)).digest('base64');
    const n = this.counted.get(key) ?? await compute();
    touch(this.counted, key, n, MAX_COUNTED);
    return n;
  }

  /** What the tools' definitions add to a prompt (for the refusal: VS Code's Agent mode offers dozens). */
  private async toolTokens(messages: ChatMessage[], tools: ToolDefinition[]): Promise<number> {
    return (await this.frameTokens(messages[0], tools)) - (await this.frameTokens(messages[0], undefined));
  }
}
