// Tool results go into the model's context, which is small: each result is cut to a byte budget, at a line end
// where one is near, and says that it was cut and how to see the rest. No vscode import (unit-tested).

/** Default budget of one tool result: 8 KB, about 2,000 tokens. */
export const RESULT_BUDGET_BYTES = 8 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

export function byteLength(text: string): number {
  return encoder.encode(text).length;
}

/** The longest prefix of `text` that is at most `maxBytes` of UTF-8, never splitting a character. */
function prefixWithin(text: string, maxBytes: number): string {
  const bytes = encoder.encode(text);
  if (bytes.length <= maxBytes) return text;
  let end = Math.max(0, maxBytes);
  // Back up to the start of a character (continuation bytes are 10xxxxxx).
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return decoder.decode(bytes.subarray(0, end));
}

export interface Fitted {
  text: string;
  truncated: boolean;
}

/**
 * `text` if it fits `maxBytes`, else its beginning (cut at a line end when one is in the last quarter) followed by
 * a marker line `[truncated: …]` with `hint`; the whole result, marker included, fits `maxBytes`.
 */
export function fitToBudget(text: string, maxBytes = RESULT_BUDGET_BYTES, hint = ''): Fitted {
  const total = byteLength(text);
  if (total <= maxBytes) return { text, truncated: false };
  const marker = (shown: number) => `\n[truncated: showing ${shown} of ${total} bytes.${hint ? ` ${hint}` : ''}]`;
  // The marker's length depends on the number in it; reserve for the widest.
  const room = maxBytes - byteLength(marker(total));
  let kept = prefixWithin(text, Math.max(0, room));
  const lineEnd = kept.lastIndexOf('\n');
  if (lineEnd >= 0 && lineEnd >= kept.length * 0.75) kept = kept.slice(0, lineEnd);
  return { text: kept + marker(byteLength(kept)), truncated: true };
}

/** One line cut to `max` characters, with an ellipsis. */
export function clipLine(line: string, max = 200): string {
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
