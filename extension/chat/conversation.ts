// What a chat conversation is, as stored and as sent to the model. Plain data and pure functions: no vscode, no
// I/O, so the store, the webview protocol and the unit tests share one definition.
import { withoutTrimNotice, type ChatMessage, type ChatResult } from '../../sidecar/protocol';
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
  finishReason: ChatResult['finishReason'];
}

/** A tool call's life in the chat: running (or waiting for the user's consent), then how it ended. */
export type ToolStepState = 'running' | 'awaiting-consent' | 'done' | 'error' | 'denied' | 'cancelled';

/** One tool call of a turn, as the chat shows it (collapsed): the tool, its arguments, its result. */
export interface ToolStep {
  /** The sidecar's call id (unique within the turn). */
  id: string;
  name: string;
  /** The arguments as JSON; for a call the sidecar refused, the model's raw output. */
  arguments: string;
  state: ToolStepState;
  /** What the model was told. */
  result?: string;
  /** Where in the answer's text the call was made (characters of `content` before it). */
  offset: number;
}

export interface UserMessage {
  id: string;
  role: 'user';
  /** What the user typed. */
  content: string;
  /** Editor context attached to this message (sent to the model ahead of `content`). */
  context: ContextChip[];
  createdAt: number;
  /** Raised by each change; where windows saved different copies, the highest wins (conversationStore.ts). */
  revision?: number;
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
  /** Tool calls made while answering, in order. */
  steps?: ToolStep[];
  /**
   * The turn as the model saw it (ChatResult.messages: assistant messages with their tool calls, tool results, the
   * final answer), sent back in place of `content` with later turns so the model keeps what the tools told it.
   */
  turn?: ChatMessage[];
  createdAt: number;
  /** Raised by each change; where windows saved different copies, the highest wins (conversationStore.ts). */
  revision?: number;
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

/** Sent instead when the turn offers workspace tools: the same, and how paths are named. */
export const TOOLS_SYSTEM_PROMPT =
  `${SYSTEM_PROMPT} You can call tools to read, search and edit the files of the user's workspace; ` +
  'paths are relative to the workspace folder. Call a tool only when the question needs it.';

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
    else if (m.state === 'done' || m.state === 'cancelled') {
      const turn = m.turn ? historyOfTurn(m.turn) : [];
      if (turn.length > 0) out.push(...turn);
      else if (m.content.trim().length > 0) out.push({ role: 'assistant', content: withoutTrimNotice(m.content) });
    }
  }
  return out;
}

/**
 * A stored turn's messages as they go into the next prompt: only assistant and tool messages (a turn never adds
 * others), and never a call left without its result (a turn stopped while a tool ran), which would read as if the
 * model were still waiting.
 */
export function historyOfTurn(turn: readonly ChatMessage[]): ChatMessage[] {
  const out = turn.filter((m) => (m.role === 'assistant' || m.role === 'tool') && typeof m.content === 'string');
  while (out.length > 0) {
    const last = out[out.length - 1];
    if (last.role === 'assistant' && last.toolCalls?.length) out.pop();
    else if (last.role === 'assistant' && !last.content.trim()) out.pop();
    else break;
  }
  return out;
}
