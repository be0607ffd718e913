// Editor context attached to a chat message (the current selection, or the active file), and how it is written
// into the message the model reads: a fenced block named after the file, ahead of the question. Pure: no vscode.

export interface ContextChip {
  id: string;
  kind: 'selection' | 'file';
  /** Workspace-relative path (or the file name for files outside the workspace). */
  path: string;
  /** VS Code language id; the fence's info string. */
  languageId: string;
  text: string;
  /** 1-based, inclusive; for selections. */
  startLine?: number;
  endLine?: number;
  /** The text was cut to fit (see `truncate`). */
  truncated?: boolean;
}

/** Largest context a chip carries, in characters (about 3 characters a token: ~4k tokens). */
export const MAX_CHIP_CHARS = 12_000;

/** What the chip shows: `main.ts:10-20` for a selection, `main.ts` for a file. */
export function chipLabel(chip: Pick<ContextChip, 'kind' | 'path' | 'startLine' | 'endLine'>): string {
  const name = chip.path.split(/[\\/]/).pop() || chip.path;
  if (chip.kind === 'selection' && chip.startLine !== undefined) {
    return chip.endLine !== undefined && chip.endLine !== chip.startLine ? `${name}:${chip.startLine}-${chip.endLine}` : `${name}:${chip.startLine}`;
  }
  return name;
}

/** The chip's tooltip: where its text comes from. */
export function chipTitle(chip: ContextChip): string {
  const where = chip.kind === 'selection' ? `Selection in ${chip.path} (lines ${chip.startLine}–${chip.endLine})` : `File ${chip.path}`;
  return chip.truncated ? `${where}, cut to ${MAX_CHIP_CHARS.toLocaleString('en-US')} characters` : where;
}

/** Cuts `text` to at most `max` characters, at a line break where there is one. */
export function truncate(text: string, max = MAX_CHIP_CHARS): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  const cut = text.slice(0, max);
  const lastBreak = cut.lastIndexOf('\n');
  return { text: lastBreak > max / 2 ? cut.slice(0, lastBreak + 1) : cut, truncated: true };
}

/** A fence longer than any run of backticks in `text`, so the text cannot close it. */
export function fenceFor(text: string): string {
  let longest = 0;
  for (const m of text.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return '`'.repeat(Math.max(3, longest + 1));
}

/** Language ids whose name is not a useful fence tag. */
const NO_TAG = new Set(['plaintext', 'unknown', '']);

/** One chip as the model reads it. */
export function formatChip(chip: ContextChip): string {
  const where = chip.kind === 'selection' && chip.startLine !== undefined
    ? `Selected code from \`${chip.path}\` (lines ${chip.startLine}-${chip.endLine ?? chip.startLine})`
    : `The file \`${chip.path}\``;
  const fence = fenceFor(chip.text);
  const tag = NO_TAG.has(chip.languageId) ? '' : chip.languageId;
  const body = chip.text.endsWith('\n') ? chip.text : `${chip.text}\n`;
  return `${where}${chip.truncated ? ' (cut short)' : ''}:\n${fence}${tag}\n${body}${fence}`;
}

/** The user message the model reads: the attached context first, then what the user typed. */
export function formatUserMessage(text: string, chips: readonly ContextChip[]): string {
  if (chips.length === 0) return text;
  return `${chips.map(formatChip).join('\n\n')}\n\n${text}`;
}
