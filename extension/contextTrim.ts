// Fitting a conversation into the model's context: whole turns are left out from the oldest (a turn is a user
// message and the answers, tool calls and tool results after it), system messages and the latest turn always stay.
// The answer then starts with a notice that says so, never a silent cut. Used by the chat panel and by the language
// model provider (VS Code's Chat). Pure: unit-tested without VS Code.
import type { ChatMessage } from '../sidecar/protocol';

export type TrimResult =
  | { fits: true; messages: ChatMessage[]; dropped: number; droppedTurns: number; tokens: number }
  /** Even the system messages and the latest turn alone are over the budget. */
  | { fits: false; tokens: number };

export interface TrimOptions {
  /**
   * Turns left out last time: left out again first, so that the prompt starts the same and the sidecar reuses its
   * cached prefix (dropping one turn more each time would re-read the whole conversation at every question).
   */
  leftOutBefore?: number;
  /** Once turns must go, go down to this many tokens (at most `budget`), so the next questions fit without a new cut. */
  target?: number;
}

/** Tokens kept for the answer: the maxNewTokens setting, at most half the context. */
export function answerReserve(contextLength: number, maxNewTokens: number): number {
  return Math.max(1, Math.min(maxNewTokens, Math.floor(contextLength / 2)));
}

/** Where a trim goes down to: a quarter of the budget below it, room for a few more questions on the same prefix. */
export function trimTarget(budget: number): number {
  return budget - Math.floor(budget / 4);
}

/**
 * @param perMessage each message's tokens (phi/countTokens)
 * @param total the whole prompt's tokens, tools and the template's markup included
 * @param budget the most tokens the prompt may have
 */
export function trimToContext(
  messages: readonly ChatMessage[], perMessage: readonly number[], total: number, budget: number, options: TrimOptions = {},
): TrimResult {
  if (total <= budget) return { fits: true, messages: [...messages], dropped: 0, droppedTurns: 0, tokens: total };
  // Turns: indices where one starts. Leading system messages belong to none (they are kept).
  const starts: number[] = [];
  messages.forEach((m, i) => {
    if (m.role === 'system') return;
    if (starts.length === 0 || m.role === 'user') starts.push(i);
  });
  const keep = new Set(messages.map((_, i) => i));
  let tokens = total;
  let dropped = 0;
  let turns = 0;
  const dropTurn = () => {
    for (let i = starts[turns]; i < starts[turns + 1]; i++) {
      if (messages[i].role === 'system') continue; // a system message between turns stays too
      keep.delete(i);
      tokens -= perMessage[i] ?? 0;
      dropped++;
    }
    turns++;
  };
  // Never the last turn: it holds the question being asked (or the tool results being answered).
  const droppable = starts.length - 1;
  while (turns < droppable && turns < (options.leftOutBefore ?? 0)) dropTurn();
  if (tokens > budget) {
    const target = Math.min(budget, options.target ?? budget);
    while (turns < droppable && tokens > target) dropTurn();
  }
  if (tokens > budget) return { fits: false, tokens };
  return { fits: true, messages: messages.filter((_, i) => keep.has(i)), dropped, droppedTurns: turns, tokens };
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
