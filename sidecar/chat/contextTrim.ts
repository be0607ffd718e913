// Which messages of a conversation go into the model's context (the policy; contextFit.ts counts and applies it):
// whole turns are left out from the oldest (a turn is a user message and the answers, tool calls and tool results
// after it), system messages and the latest turn always stay. The answer then starts with a notice that says so,
// never a silent cut. Pure: unit-tested without an engine. (Moved here from the extension, which fitted before each
// turn with a round trip to phi/countTokens. The answer's share and removing the notice are the protocol's: protocol.ts.)
import { answerReserve, TRIM_NOTICE, withoutTrimNotice, type ChatMessage } from '../protocol';

export { answerReserve, withoutTrimNotice };

export type TrimResult =
  | { fits: true; messages: ChatMessage[]; dropped: number; droppedTurns: number; tokens: number }
  /** Even the system messages and the latest turn alone are over the budget. */
  | { fits: false; tokens: number };

export interface TrimOptions {
  /**
   * Turns left out last time: left out again first, so that the prompt starts the same and the engine reuses its
   * cached prefix (dropping one turn more each time would re-read the whole conversation at every question).
   */
  leftOutBefore?: number;
  /** Once turns must go, go down to this many tokens (at most `budget`), so the next questions fit without a new cut. */
  target?: number;
}

/** Where a trim goes down to: a quarter of the budget below it, room for a few more questions on the same prefix. */
export function trimTarget(budget: number): number {
  return budget - Math.floor(budget / 4);
}

/**
 * @param perMessage each message's tokens (phi/countTokens' perMessage)
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

/** The line an answer starts with when older messages were left out. */
export function trimNotice(dropped: number, contextLength: number): string {
  const what = dropped === 1 ? 'the oldest message of this conversation was' : `the ${dropped} oldest messages of this conversation were`;
  return `${TRIM_NOTICE.start}${what} left out to fit the model's context of ${contextLength}${TRIM_NOTICE.end}\n\n`;
}
