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

/** A prefill of fewer tokens says more about a pass's fixed cost than about the speed. */
export const MIN_OBSERVED_PREFILL_TOKENS = 32;

/**
 * The prefill speed a model's window is sized by: what the sidecar measured after the load, raised by what cold
 * completions have shown since. A measurement taken while the machine was busy reads low, and nothing measures
 * again; a completion's own prefill is the best witness of what the next one will take. Only ever raised: a
 * completion that ran while the machine was busy says nothing new. Per model folder.
 */
export class PrefillSpeed {
  private model: string | undefined;
  private observed = 0;

  /** A completion on `model` prefilled `tokens` (those not reused) at `tokensPerSecond`. */
  observe(model: string, tokens: number, tokensPerSecond: number): void {
    if (model !== this.model) {
      this.model = model;
      this.observed = 0;
    }
    if (tokens >= MIN_OBSERVED_PREFILL_TOKENS && tokensPerSecond > 0) this.observed = Math.max(this.observed, tokensPerSecond);
  }

  /** The speed to size by; undefined while the sidecar has not measured one (a remote engine never does). */
  current(model: string, measured: number | undefined): number | undefined {
    if (!measured) return undefined;
    return model === this.model ? Math.max(measured, this.observed) : measured;
  }
}
