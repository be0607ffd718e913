// Fitting a conversation into the model's context: whole turns are left out from the oldest (a turn is a user
// message and the answers, tool calls and tool results after it), system messages and the latest turn always stay.
// The answer then starts with a notice that says so, never a silent cut. Pure: unit-tested without VS Code.
import type { ChatMessage } from '../../sidecar/protocol';

export type TrimResult =
  | { fits: true; messages: ChatMessage[]; dropped: number; tokens: number }
  /** Even the system messages and the latest turn alone are over the budget. */
  | { fits: false; tokens: number };

/**
 * @param perMessage each message's tokens (phi/countTokens)
 * @param total the whole prompt's tokens, tools and the template's markup included
 * @param budget the most tokens the prompt may have
 */
export function trimToContext(messages: readonly ChatMessage[], perMessage: readonly number[], total: number, budget: number): TrimResult {
  if (total <= budget) return { fits: true, messages: [...messages], dropped: 0, tokens: total };
  // Turns: indices where one starts. Leading system messages belong to none (they are kept).
  const starts: number[] = [];
  messages.forEach((m, i) => {
    if (m.role === 'system') return;
    if (starts.length === 0 || m.role === 'user') starts.push(i);
  });
  const keep = new Set(messages.map((_, i) => i));
  let tokens = total;
  let dropped = 0;
  // Never the last turn: it holds the question being asked (or the tool results being answered).
  for (let t = 0; t < starts.length - 1 && tokens > budget; t++) {
    for (let i = starts[t]; i < starts[t + 1]; i++) {
      if (messages[i].role === 'system') continue; // a system message between turns stays too
      keep.delete(i);
      tokens -= perMessage[i] ?? 0;
      dropped++;
    }
  }
  if (tokens > budget) return { fits: false, tokens };
  return { fits: true, messages: messages.filter((_, i) => keep.has(i)), dropped, tokens };
}

const NOTICE_START = '*Phi Local: ';
const NOTICE_END = ' tokens.*';

/** The line an answer starts with when older messages were left out. */
export function trimNotice(dropped: number, contextLength: number): string {
  const what = dropped === 1 ? 'the oldest message of this conversation was' : `the ${dropped} oldest messages of this conversation were`;
  return `${NOTICE_START}${what} left out to fit the model's context of ${contextLength}${NOTICE_END}\n\n`;
}

/** An answer without the trim notice at its start (it is ours, not the model's, and stays out of later prompts). */
export function withoutTrimNotice(text: string): string {
  if (!text.startsWith(NOTICE_START)) return text;
  const end = text.indexOf(`${NOTICE_END}\n`);
  if (end < 0 || text.lastIndexOf('\n', end) >= 0) return text;
  return text.slice(end + NOTICE_END.length).replace(/^\n\n?/, '');
}
