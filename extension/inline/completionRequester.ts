// One inline completion request from the editor, start to end: the cache first (no debounce on a hit), then the
// debounce (skipped when the user asked explicitly), then the model, and the answer into the cache. A request that
// is cancelled at any point (a newer keystroke) returns nothing and its model call is cancelled too.
// No vscode: the provider (inlineCompletionProvider.ts) hands in the fetch; the unit tests hand in fakes.
import type { InlineCompletionParams, InlineCompletionResult } from '../../sidecar/protocol';
import { CompletionCache, type CompletionKey } from './completionCache';
import { debounce, realTimer, type Cancellation, type Timer } from './debounce';

export interface CompletionAsk {
  key: CompletionKey;
  params: InlineCompletionParams;
  /** The user asked (command, keybinding): no debounce, and a cached "nothing" is asked again. */
  explicit: boolean;
}

export interface CompletionAnswer {
  text: string;
  fromCache: boolean;
  result?: InlineCompletionResult;
}

export type CompletionFetch = (params: InlineCompletionParams, token: Cancellation) => Promise<InlineCompletionResult>;

export class CompletionRequester {
  constructor(
    private readonly fetch: CompletionFetch,
    private readonly debounceMs: () => number,
    readonly cache = new CompletionCache(),
    /** What the debounce waits with (real timers; the unit tests move a clock themselves). */
    private readonly timer: Timer = realTimer,
  ) {}

  async request(ask: CompletionAsk, token: Cancellation): Promise<CompletionAnswer | undefined> {
    const cached = this.cache.get(ask.key);
    if (cached !== undefined && !(ask.explicit && cached === '')) return { text: cached, fromCache: true };
    if (!ask.explicit && !(await debounce(this.debounceMs(), token, this.timer))) return undefined;
    if (token.isCancellationRequested) return undefined;
    const result = await this.fetch(ask.params, token);
    // Cancelled (by a newer keystroke, a newer completion or a chat): nothing to show, nothing to remember.
    if (result.finishReason === 'cancelled') return undefined;
    this.cache.set(ask.key, result.text);
    return token.isCancellationRequested ? undefined : { text: result.text, fromCache: false, result };
  }
}
