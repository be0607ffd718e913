// Long text → pieces of at most PIECE_CHARS characters, cut where tokenizing the pieces one by one gives the very
// ids of tokenizing the text whole.
//
// Why pieces: @huggingface/tokenizers (0.2.0) merges each pre-token with a heap of linked nodes, a few objects and a
// JSON key per character, and caches only pre-tokens under 256 characters. Text without breaks is one giant pre-token:
// 1 MB of one letter took 13.6 s here and 300 MB–1 GB (33 s on the machine of issue 15); in pieces of a few thousand
// characters it takes 1.5–4 µs a character (ordinary text, whose pre-tokens are short and repeat, about 0.6 µs), so
// time grows linearly. Pieces also give callers places to stop and to let others run (tokenizer.ts encodeAsync).
//
// Why the cuts are exact: a byte-level BPE tokenizer splits text at added tokens (`<|end|>` …), then into pre-tokens
// with a GPT-style pattern (GPT-2, cl100k, o200k: Phi-4's), and merges only inside a pre-token. In those patterns
// a pre-token never holds a letter followed by something other than a letter, a combining mark or the `'` of `'s`,
// `'t`, … , nor a digit followed by a non-digit: letters and digits end runs, and every other kind of pre-token
// (punctuation, whitespace) holds neither. So between such a pair a pre-token ends, in the text and in a piece
// alike; and since the piece before ends in a letter or digit, the pattern's only look-ahead (`\s+(?!\S)`, on a
// whitespace run) cannot decide differently at the piece's end. Cuts inside an added token are skipped.
//
// Where the ids may differ: a stretch of more than PIECE_CHARS characters without one such pair (a single word,
// number or run of punctuation or whitespace that long: no ordinary text has one) is cut at PIECE_CHARS anyway,
// which may change the few ids around that cut; the ids still decode to the same text.

/** The longest piece. BPE costs grow with a pre-token's length; 4096 keeps a piece at a few ms even when unbroken. */
export const PIECE_CHARS = 4096;

const enum Kind { Other, Letter, Digit, Joiner }

/** Letter, digit, or what joins a letter run (a combining mark, `'`); ASCII from a table, the rest by regex. */
const ASCII: readonly Kind[] = Array.from({ length: 128 }, (_, c) =>
  /[A-Za-z]/.test(String.fromCharCode(c)) ? Kind.Letter : /[0-9]/.test(String.fromCharCode(c)) ? Kind.Digit : c === 0x27 ? Kind.Joiner : Kind.Other);
function kind(code: number): Kind {
  if (code < 128) return ASCII[code];
  const ch = String.fromCharCode(code);
  return /\p{L}/u.test(ch) ? Kind.Letter : /\p{N}/u.test(ch) ? Kind.Digit : /\p{M}/u.test(ch) ? Kind.Joiner : Kind.Other;
}

const isSurrogate = (code: number) => code >= 0xd800 && code <= 0xdfff;

/** Whether a pre-token surely ends between `text[i - 1]` and `text[i]` (see above). Surrogates: not decided, no. */
function preTokenEnds(text: string, i: number): boolean {
  if (i <= 0 || i >= text.length) return false;
  const x = text.charCodeAt(i - 1);
  const y = text.charCodeAt(i);
  if (isSurrogate(x) || isSurrogate(y)) return false;
  const before = kind(x);
  const after = kind(y);
  if (before === Kind.Digit) return after !== Kind.Digit;
  return before === Kind.Letter && after !== Kind.Letter && after !== Kind.Joiner;
}

/** The added token `text[i]` is inside of (i not at its start), as [start, end); undefined when none. */
function addedTokenAround(text: string, i: number, addedTokens: readonly string[]): [number, number] | undefined {
  for (const token of addedTokens) {
    for (let k = 1; k < token.length && k <= i; k++) if (text.startsWith(token, i - k)) return [i - k, i - k + token.length];
  }
  return undefined;
}

/** Whether tokenizing `text` cut at `i` gives the ids of tokenizing it whole (see above). */
export function isExactCut(text: string, i: number, addedTokens: readonly string[]): boolean {
  return preTokenEnds(text, i) && !addedTokenAround(text, i, addedTokens);
}

/** `text` in pieces of at most `maxChars` (more only to keep an added token whole); joined, they are `text`. */
export function* textPieces(text: string, addedTokens: readonly string[], maxChars = PIECE_CHARS): Generator<string> {
  let start = 0;
  while (text.length - start > maxChars) {
    let end = start + maxChars;
    while (end > start && !isExactCut(text, end, addedTokens)) end--;
    if (end === start) {
      // No safe cut: at the limit, but not between the halves of a UTF-16 pair, nor inside an added token.
      end = start + maxChars;
      if (isSurrogate(text.charCodeAt(end)) && text.charCodeAt(end) >= 0xdc00) end += end - 1 > start ? -1 : 1;
      const token = addedTokenAround(text, end, addedTokens);
      if (token) end = token[0] > start ? token[0] : token[1];
    }
    yield text.slice(start, end);
    start = end;
  }
  if (start < text.length) yield text.slice(start);
}
