// Recent completions, so that the same position (or one the user reached by typing what the ghost text showed)
// is answered at once, without the debounce or the model. Cody found about one completion in seven comes from its
// cache; llama.vscode caches the position after an accepted suggestion the same way.
// No vscode: the unit tests use it directly.

export interface CompletionKey {
  /** The document (its URI) and version-independent: the text decides. */
  document: string;
  /** The text before the cursor, as sent to the model (a window of whole lines from a stable start). */
  prefix: string;
  /** The text after the cursor, as sent. */
  suffix: string;
}

interface Entry extends CompletionKey {
  completion: string;
}

export class CompletionCache {
  /** Least recently used first. */
  private readonly entries: Entry[] = [];

  constructor(private readonly capacity = 64) {}

  get size(): number {
    return this.entries.length;
  }

  /**
   * The completion for `key`: a stored one for the same text, or the rest of one whose ghost text the user has
   * been typing (same suffix, prefix grown by the start of the completion). '' means "nothing to suggest here".
   */
  get(key: CompletionKey): string | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e.document !== key.document || e.suffix !== key.suffix || !key.prefix.startsWith(e.prefix)) continue;
      const typed = key.prefix.slice(e.prefix.length);
      let rest: string | undefined;
      if (typed === '') rest = e.completion;
      else if (e.completion.startsWith(typed) && e.completion.length > typed.length) rest = e.completion.slice(typed.length);
      if (rest === undefined) continue;
      this.entries.splice(i, 1);
      this.entries.push(e);
      return rest;
    }
    return undefined;
  }

  set(key: CompletionKey, completion: string): void {
    const i = this.entries.findIndex((e) => e.document === key.document && e.prefix === key.prefix && e.suffix === key.suffix);
    if (i >= 0) this.entries.splice(i, 1);
    this.entries.push({ ...key, completion });
    while (this.entries.length > this.capacity) this.entries.shift();
  }

  clear(): void {
    this.entries.length = 0;
  }
}
