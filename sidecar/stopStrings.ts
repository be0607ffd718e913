// Stop strings (OpenAI's `stop` in serve; the end markers the remote engine watches for): the text ends where one of
// them first appears. Streamed text is held back while its end could still be the start of a stop string, so no
// piece of one is ever passed on.
export class StopStrings {
  private held = '';
  /** The stop string that ended the answer, once one did. */
  matched: string | undefined;

  constructor(private readonly stops: readonly string[], private readonly keepStop = false) {}

  /** Text that can be sent now; after a match, only what came before the stop string (and it, if kept). */
  push(text: string): string {
    if (this.matched !== undefined) return '';
    this.held += text;
    let at = -1;
    for (const stop of this.stops) {
      const i = this.held.indexOf(stop);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        this.matched = stop;
      }
    }
    if (this.matched !== undefined) {
      const out = this.held.slice(0, at) + (this.keepStop ? this.matched : '');
      this.held = '';
      return out;
    }
    const keep = this.partialTail();
    const out = this.held.slice(0, this.held.length - keep);
    this.held = this.held.slice(this.held.length - keep);
    return out;
  }

  /** What was held back when the answer ended without a stop string. */
  flush(): string {
    const out = this.held;
    this.held = '';
    return out;
  }

  /** The length of the longest end of the held text that begins some stop string. */
  private partialTail(): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, this.held.length); n > longest; n--) {
        if (this.held.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
}
