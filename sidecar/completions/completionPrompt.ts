// The prompt for an inline completion, from the code before and after the cursor.
//
// Phi-4-mini is an instruction-tuned chat model with no fill-in-the-middle training (no <PRE>/<SUF>/<MID> tokens),
// so the prompt is a chat turn: the user turn shows the code after the cursor and asks for only the missing code,
// and the assistant turn is pre-filled with an opening code fence and the code before the cursor, so the model's
// next tokens are, by construction, the code at the cursor. It stops by itself with a closing fence or <|end|>.
// A plain continuation of the prefix (no chat turn) would be simpler but blind to the suffix, and the model would
// happily rewrite code that already follows the cursor.
//
// Order matters for speed: the suffix comes first and the prefix last, so while the user types at one place the
// prompt only grows at its end, and the engine reuses the cached keys and values of everything before (it keeps
// the previous prompt's KV cache): a keystroke costs a few tokens of prefill, not the whole window.
//
// Pure functions, no engine: the unit tests call them directly.
import type { ChatMessage } from '../prompt/template';

export type CompletionMode = 'line' | 'block';

export interface CompletionInput {
  languageId: string;
  /** The file's name, shown to the model (helps it guess conventions). */
  fileName?: string;
  /** The text before the cursor: the client may send a window of it. */
  prefix: string;
  /** The text after the cursor. */
  suffix: string;
  /** 'auto': a block when the line opens one, else one line. */
  multiline?: 'auto' | 'line' | 'block';
  maxPrefixTokens?: number;
  maxSuffixTokens?: number;
}

export interface CompletionPrompt {
  messages: ChatMessage[];
  /** Fed after the assistant marker: the fence and the prefix, less `heldBack`. */
  assistantPrefix: string;
  /**
   * A trailing space of the prefix, left out of the prompt: the tokenizer glues a space to the word after it
   * (" return" is one token), so a prompt that ends in a lone space pushes the model off its usual tokens.
   * The model writes the space again; the shaper removes it from the answer.
   */
  heldBack: string;
  mode: CompletionMode;
  /** Indentation of the line that opens the block (block mode): the block ends at a line indented no deeper. */
  baseIndent: string;
  /** The cursor's line, before and after the cursor. */
  linePrefix: string;
  lineSuffix: string;
  /** The prefix and suffix as they went into the prompt (after the budget). */
  prefix: string;
  suffix: string;
}

export const DEFAULT_MAX_PREFIX_TOKENS = 768;
export const DEFAULT_MAX_SUFFIX_TOKENS = 256;

/**
 * A cheap upper estimate of tokens: o200k averages about 4 characters of code per token; 3 leaves room, so a
 * budget in tokens is never exceeded. The exact tokenizer lives in the engine's worker, and asking it would
 * queue behind the generation the completion is waiting for.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 3);
}

/** The end of `prefix` within `maxTokens`: whole lines, dropped from the start (a single huge line is cut). */
export function budgetPrefix(prefix: string, maxTokens: number): string {
  if (estimateTokens(prefix) <= maxTokens) return prefix;
  const maxChars = maxTokens * 3;
  const tail = prefix.slice(prefix.length - maxChars);
  const lineStart = tail.indexOf('\n');
  // Keep whole lines when there is more than the cursor's line; else the cut line's end.
  return lineStart >= 0 && lineStart < tail.length - 1 ? tail.slice(lineStart + 1) : tail;
}

/** The start of `suffix` within `maxTokens`: whole lines, dropped from the end. */
export function budgetSuffix(suffix: string, maxTokens: number): string {
  if (estimateTokens(suffix) <= maxTokens) return suffix;
  const head = suffix.slice(0, maxTokens * 3);
  const lineEnd = head.lastIndexOf('\n');
  return lineEnd > 0 ? head.slice(0, lineEnd) : head;
}

const LANGUAGES: Record<string, [name: string, fence: string]> = {
  typescript: ['TypeScript', 'ts'], typescriptreact: ['TypeScript React', 'tsx'], javascript: ['JavaScript', 'js'],
  javascriptreact: ['JavaScript React', 'jsx'], python: ['Python', 'python'], java: ['Java', 'java'], c: ['C', 'c'],
  cpp: ['C++', 'cpp'], csharp: ['C#', 'csharp'], go: ['Go', 'go'], rust: ['Rust', 'rust'], ruby: ['Ruby', 'ruby'],
  php: ['PHP', 'php'], shellscript: ['shell', 'sh'], powershell: ['PowerShell', 'powershell'], sql: ['SQL', 'sql'],
  html: ['HTML', 'html'], css: ['CSS', 'css'], scss: ['SCSS', 'scss'], json: ['JSON', 'json'], jsonc: ['JSON', 'jsonc'],
  yaml: ['YAML', 'yaml'], markdown: ['Markdown', 'markdown'], kotlin: ['Kotlin', 'kotlin'], swift: ['Swift', 'swift'],
  lua: ['Lua', 'lua'], r: ['R', 'r'], dart: ['Dart', 'dart'], scala: ['Scala', 'scala'], plaintext: ['text', 'text'],
};

/** The language's name for the model and its code fence tag. */
export function languageOf(languageId: string): { name: string; fence: string } {
  const known = LANGUAGES[languageId];
  if (known) return { name: known[0], fence: known[1] };
  const id = languageId.replace(/[^A-Za-z0-9_+#.-]/g, '') || 'text';
  return { name: id, fence: id };
}

export const indentOf = (line: string) => /^[ \t]*/.exec(line)![0];

/** Whether a line ends by opening a block: `{`, `(`, `[`, `=>`, `:` in Python, `then`/`do`. */
export function opensBlock(line: string, languageId: string): boolean {
  const t = line.replace(/\s+$/, '');
  if (/[{([]$/.test(t) || t.endsWith('=>')) return true;
  if (languageId === 'python' && t.endsWith(':')) return true;
  return /\b(then|do)$/.test(t) && ['shellscript', 'lua', 'ruby', 'elixir'].includes(languageId);
}

/** Line or block, and the indentation a block is measured against. */
export function completionMode(prefix: string, languageId: string, multiline: CompletionInput['multiline'] = 'auto'): { mode: CompletionMode; baseIndent: string } {
  const lines = prefix.split('\n');
  const current = lines[lines.length - 1];
  if (current.trim() !== '') {
    const opens = opensBlock(current, languageId);
    const mode = multiline === 'auto' ? (opens ? 'block' : 'line') : multiline;
    return { mode, baseIndent: indentOf(current) };
  }
  // An empty line right after a line that opens a block: the user is about to write the block's body.
  const previous = [...lines.slice(0, -1)].reverse().find((l) => l.trim() !== '');
  const opens = previous !== undefined && opensBlock(previous, languageId);
  const mode = multiline === 'auto' ? (opens ? 'block' : 'line') : multiline;
  return { mode, baseIndent: opens ? indentOf(previous) : indentOf(current) };
}

export function buildCompletionPrompt(input: CompletionInput): CompletionPrompt {
  const prefix = budgetPrefix(input.prefix, input.maxPrefixTokens ?? DEFAULT_MAX_PREFIX_TOKENS);
  const suffix = budgetSuffix(input.suffix, input.maxSuffixTokens ?? DEFAULT_MAX_SUFFIX_TOKENS);
  const { name, fence } = languageOf(input.languageId);
  const file = input.fileName ? ` in ${input.fileName}` : '';
  const user = suffix.trim()
    ? `Complete the ${name} code${file} at the cursor. The code after the cursor is:\n\`\`\`${fence}\n${suffix}\n\`\`\`\n` +
      'Write only the code that goes at the cursor, without repeating the code after it.'
    : `Complete the ${name} code${file} at the cursor. Write only the code that goes at the cursor.`;
  const heldBack = prefix.endsWith(' ') ? ' ' : '';
  const { mode, baseIndent } = completionMode(prefix, input.languageId, input.multiline);
  return {
    messages: [{ role: 'user', content: user }],
    assistantPrefix: `\`\`\`${fence}\n${prefix.slice(0, prefix.length - heldBack.length)}`,
    heldBack,
    mode,
    baseIndent,
    linePrefix: prefix.slice(prefix.lastIndexOf('\n') + 1),
    lineSuffix: suffix.split('\n', 1)[0],
    prefix,
    suffix,
  };
}
