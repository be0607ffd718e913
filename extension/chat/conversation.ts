// What a chat conversation is, as stored and as sent to the model. Plain data and pure functions: no vscode, no
// I/O, so the store, the webview protocol and the unit tests share one definition.
import type { ChatMessage } from '../../sidecar/protocol';
import { formatUserMessage, type ContextChip } from './contextChips';

export type { ContextChip } from './contextChips';

/** An assistant message's life: streaming until the turn ends, then how it ended. */
export type MessageState = 'streaming' | 'done' | 'cancelled' | 'error';

/** What the footer of an answer shows. */
export interface TurnStats {
  promptTokens: number;
  /** Prompt tokens whose KV came from the previous turn's cache. */
  reusedTokens: number;
  completionTokens: number;
  /** Decoding speed (tokens after the first, per second). */
  tokensPerSecond: number;
  timeToFirstTokenMs: number;
  totalMs: number;
  finishReason: 'stop' | 'length' | 'cancelled' | 'tool-calls';
}

export interface UserMessage {
  id: string;
  role: 'user';
  /** What the user typed. */
  content: string;
  /** Editor context attached to this message (sent to the model ahead of `content`). */
  context: ContextChip[];
  createdAt: number;
}

export interface AssistantMessage {
  id: string;
  role: 'assistant';
  /** The answer's markdown, as far as it got. */
  content: string;
  state: MessageState;
  /** Why the turn failed, when state is 'error'. */
  error?: string;
  stats?: TurnStats;
  createdAt: number;
}

export type StoredMessage = UserMessage | AssistantMessage;

export interface Conversation {
  id: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  messages: StoredMessage[];
}

/** Sent ahead of every conversation. Short: the model is small and the prefix is cached across turns. */
export const SYSTEM_PROMPT =
  'You are Phi, a helpful coding assistant running locally inside the user\'s code editor. ' +
  'Answer concisely. Use Markdown, and put code in fenced code blocks tagged with their language.';

/** A conversation's title: the first line of its first user message, shortened. */
export function titleFor(text: string, max = 60): string {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
  const title = line.replace(/\s+/g, ' ');
  if (title.length === 0) return 'New chat';
  return title.length > max ? `${title.slice(0, max - 1).trimEnd()}…` : title;
}

/**
 * The messages the model sees for a turn: the system prompt, then every user message (with its context) and
 * every answer that got text (done, or stopped part way: the user saw it). Failed answers are left out.
 * `upTo` (exclusive) cuts the history at the message being answered, for retries.
 */
export function toModelMessages(messages: readonly StoredMessage[], upTo = messages.length, systemPrompt = SYSTEM_PROMPT): ChatMessage[] {
  const out: ChatMessage[] = systemPrompt ? [{ role: 'system', content: systemPrompt }] : [];
  for (const m of messages.slice(0, upTo)) {
    if (m.role === 'user') out.push({ role: 'user', content: formatUserMessage(m.content, m.context) });
    else if ((m.state === 'done' || m.state === 'cancelled') && m.content.trim().length > 0) out.push({ role: 'assistant', content: m.content });
  }
  return out;
}
