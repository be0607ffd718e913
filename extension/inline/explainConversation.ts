// An inline explanation as data: the code it is about, and the questions and answers so far. It becomes the
// model's messages, and, for "Continue in chat", a chat conversation with the same context. Pure: no vscode.
import type { ChatMessage } from '../../sidecar/protocol';
import { SYSTEM_PROMPT, titleFor, type Conversation, type StoredMessage } from '../chat/conversation';
import { formatUserMessage, truncate, type ContextChip } from '../chat/contextChips';

export const EXPLAIN_QUESTION = 'Explain what this code does, briefly: its purpose, then how it works. Mention anything surprising.';

export interface ExplainTurn {
  question: string;
  answer: string;
  /** The answer was stopped part way. */
  stopped?: boolean;
}

export interface Explanation {
  chip: ContextChip;
  turns: ExplainTurn[];
}

export function explanationFor(path: string, languageId: string, text: string, startLine: number, endLine: number): Explanation {
  const cut = truncate(text);
  const chip: ContextChip = { id: `explain:${path}:${startLine}-${endLine}`, kind: 'selection', path, languageId, text: cut.text, startLine, endLine, truncated: cut.truncated };
  return { chip, turns: [{ question: EXPLAIN_QUESTION, answer: '' }] };
}

/** What the model reads for the last turn: the code comes with the first question, as in the chat. */
export function explainMessages(e: Explanation): ChatMessage[] {
  const out: ChatMessage[] = [{ role: 'system', content: SYSTEM_PROMPT }];
  e.turns.forEach((t, i) => {
    out.push({ role: 'user', content: i === 0 ? formatUserMessage(t.question, [e.chip]) : t.question });
    if (i < e.turns.length - 1 && t.answer.trim()) out.push({ role: 'assistant', content: t.answer });
  });
  return out;
}

/** The explanation as a chat conversation (for "Continue in chat"). */
export function toConversation(e: Explanation, id: string, now = Date.now()): Conversation {
  const messages: StoredMessage[] = [];
  e.turns.forEach((t, i) => {
    messages.push({ id: `${id}-u${i}`, role: 'user', content: t.question, context: i === 0 ? [e.chip] : [], createdAt: now });
    messages.push({ id: `${id}-a${i}`, role: 'assistant', content: t.answer, state: t.stopped ? 'cancelled' : 'done', createdAt: now });
  });
  return { id, title: titleFor(`Explain ${e.chip.path}:${e.chip.startLine}-${e.chip.endLine}`), createdAt: now, updatedAt: now, messages };
}
