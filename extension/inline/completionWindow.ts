// How much code around the cursor an inline completion can show the model on this machine. A cold completion (at a
// new place) must prefill its whole window before its first token, and a completion that comes after the user has
// moved on is worth nothing: so the window is sized from the prefill speed the sidecar measured after the load, to fit
// within a share of phiLocal.completions.timeoutMs. Where even a few lines cannot, completions on this machine need
// a GPU or a remote engine, and the user is told so once instead of watching a spinner.
// Pure: the unit tests call it directly.

/** The sidecar's own limits (sidecar/completions/completionPrompt.ts): a window never grows past them. */
export const MAX_PREFIX_TOKENS = 768;
export const MAX_SUFFIX_TOKENS = 256;
/** Of the time cap, the share the prefill may take; the rest is for writing the line. */
export const PREFILL_SHARE = 0.6;
/** The prompt's own words around the code (the instruction, the fences, the role markers): 49 tokens for a TypeScript file named orderTotals.ts; longer names and language names take a few more. */
export const PROMPT_OVERHEAD_TOKENS = 56;
/** Below this many tokens of code (two or three lines) a completion has too little to go on. */
export const MIN_WINDOW_TOKENS = 48;

/**
 * The window: tokens of code before and after the cursor, and what a cold completion then waits before its first
 * token. `fits` false: even the smallest window takes longer than the cap allows (the window given is that smallest
 * one, for a user who enables completions anyway).
 */
export interface CompletionWindow {
  fits: boolean;
  maxPrefixTokens: number;
  maxSuffixTokens: number;
  coldMs: number;
}

export function completionWindow(prefillTokensPerSecond: number | undefined, timeoutMs: number): CompletionWindow | undefined {
  if (!prefillTokensPerSecond || prefillTokensPerSecond <= 0) return undefined;
  const budget = Math.floor((prefillTokensPerSecond * timeoutMs * PREFILL_SHARE) / 1000) - PROMPT_OVERHEAD_TOKENS;
  const msFor = (tokens: number) => Math.round(((tokens + PROMPT_OVERHEAD_TOKENS) * 1000) / prefillTokensPerSecond);
  const fits = budget >= MIN_WINDOW_TOKENS;
  const tokens = Math.max(budget, MIN_WINDOW_TOKENS);
  // Three quarters before the cursor (what the code at the cursor continues), a quarter after.
  const maxPrefixTokens = Math.min(MAX_PREFIX_TOKENS, Math.floor(tokens * 0.75));
  const maxSuffixTokens = Math.min(MAX_SUFFIX_TOKENS, tokens - maxPrefixTokens);
  return { fits, maxPrefixTokens, maxSuffixTokens, coldMs: msFor(maxPrefixTokens + maxSuffixTokens) };
}
