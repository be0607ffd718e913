// When Phi offers ghost text on its own, and how much of the document goes along. Pure functions.

/**
 * Whether to complete without being asked. Not in the middle of a word (the user is editing it), and not with code
 * right of the cursor, except closers and punctuation an editor auto-inserts (`)`, `]`, `"`, `;`…): a completion
 * there would have to be fill-in-the-middle, which this model does poorly.
 */
export function autoTriggerAllowed(linePrefix: string, lineSuffix: string): { ok: true } | { ok: false; reason: string } {
  if (/[\p{L}\p{N}_$]$/u.test(linePrefix) && /^[\p{L}\p{N}_$]/u.test(lineSuffix)) return { ok: false, reason: 'mid-word' };
  if (!/^[\s)\]}>'"`;,.:]*$/.test(lineSuffix)) return { ok: false, reason: 'code right of the cursor' };
  if (linePrefix.trim() === '' && lineSuffix.trim() !== '') return { ok: false, reason: 'code right of the cursor' };
  return { ok: true };
}

/** `phiLocal.completions.enable`, like Copilot's `github.copilot.enable`: `{"*": true, "plaintext": false}`. */
export function completionsEnabledFor(languageId: string, setting: unknown): boolean {
  const map = setting && typeof setting === 'object' ? (setting as Record<string, unknown>) : {};
  const own = map[languageId];
  if (typeof own === 'boolean') return own;
  const all = map['*'];
  return typeof all === 'boolean' ? all : true;
}

/**
 * The first line of the prefix window: at most `maxLines` above the cursor, rounded down to a multiple of `step`,
 * so it stays put while the user types (a moving start would change the prompt's beginning, which defeats both the
 * completion cache and the engine's KV reuse).
 */
export function prefixStartLine(cursorLine: number, maxLines = 150, step = 32): number {
  return Math.max(0, Math.floor((cursorLine - maxLines) / step) * step);
}
