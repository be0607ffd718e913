// What apply_edit changes in a file's text, worked out before anything is shown or written: the exact range and its
// replacement, or a message the model can act on (text not found, found twice, lines out of range). Small models
// copy text imperfectly, so two slips are forgiven: `\n` for the file's `\r\n`, and the `12| ` line numbers that
// read_file puts in front of each line. No vscode import (unit-tested).

export interface EditRequest {
  /** Replace this exact text (it must occur once)… */
  oldText?: string;
  /** …or these lines (1-based, inclusive). */
  startLine?: number;
  endLine?: number;
  newText: string;
}

export interface EditPlan {
  /** Offsets into the original text. */
  start: number;
  end: number;
  replacement: string;
  /** The whole text after the edit. */
  result: string;
  /** For the consent prompt and the model: "lines 3–4". */
  where: string;
}

export class EditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EditError';
  }
}

const LINE_NUMBER = /^\s*\d+\s?[|:] ?/;

/** `12| foo` → `foo` on every line, if every non-empty line has such a prefix (read_file's format). */
function stripLineNumbers(text: string): string | undefined {
  const lines = text.split('\n');
  if (!lines.some((l) => l.trim()) || !lines.every((l) => !l.trim() || LINE_NUMBER.test(l))) return undefined;
  return lines.map((l) => l.replace(LINE_NUMBER, '')).join('\n');
}

function occurrences(haystack: string, needle: string): number[] {
  const at: number[] = [];
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) at.push(i);
  return at;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function where(text: string, start: number, end: number): string {
  const a = lineOf(text, start);
  const b = lineOf(text, Math.max(start, end - 1));
  return a === b ? `line ${a}` : `lines ${a}–${b}`;
}

/** Offsets of the start of each line. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

export function planEdit(original: string, request: EditRequest, name = 'the file'): EditPlan {
  const crlf = original.includes('\r\n');
  const toFile = (s: string) => (crlf ? s.replace(/\r?\n/g, '\r\n') : s);
  const hasOld = typeof request.oldText === 'string';
  const hasLines = request.startLine !== undefined || request.endLine !== undefined;
  if (hasOld && hasLines) throw new EditError('Give either old_text, or start_line and end_line, not both.');
  if (!hasOld && !hasLines) throw new EditError('Say what to replace: old_text (the exact current text), or start_line and end_line.');

  if (hasOld) {
    if (request.oldText!.length === 0) throw new EditError('old_text is empty. Give the exact text to replace, or start_line and end_line.');
    const candidates: [string, string][] = [[request.oldText!, request.newText]];
    const stripped = stripLineNumbers(request.oldText!);
    if (stripped !== undefined) candidates.push([stripped, stripLineNumbers(request.newText) ?? request.newText]);
    for (const [oldText, newText] of candidates) {
      const needle = toFile(oldText);
      const found = occurrences(original, needle);
      if (found.length > 1) {
        throw new EditError(`old_text occurs ${found.length} times in ${name} (at ${found.slice(0, 5).map((o) => where(original, o, o + needle.length)).join(', ')}). Include more of the surrounding lines so that it occurs once.`);
      }
      if (found.length === 1) {
        const start = found[0];
        const end = start + needle.length;
        const replacement = toFile(newText);
        return { start, end, replacement, result: original.slice(0, start) + replacement + original.slice(end), where: where(original, start, end) };
      }
    }
    throw new EditError(`old_text was not found in ${name}. Read the file again with read_file and copy the exact text, including spaces.`);
  }

  const starts = lineStarts(original);
  // A final line break does not start another line.
  const lineCount = original.length === 0 ? 0 : original.endsWith('\n') ? starts.length - 1 : starts.length;
  const first = request.startLine ?? request.endLine!;
  const last = request.endLine ?? request.startLine!;
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last < first) {
    throw new EditError(`start_line and end_line must be line numbers (1 or more) with start_line ≤ end_line; got ${request.startLine}–${request.endLine}.`);
  }
  if (last > Math.max(lineCount, 1)) throw new EditError(`${name} has ${lineCount} lines; end_line ${last} is past its end.`);
  const start = starts[first - 1] ?? 0;
  // The lines' text without their final line break, which stays.
  let end = last < starts.length ? starts[last] - 1 : original.length;
  if (end > start && original[end - 1] === '\r' && original[end] === '\n') end--;
  end = Math.max(start, end);
  const replacement = toFile(request.newText.replace(/\r?\n$/, ''));
  return {
    start, end, replacement,
    result: original.slice(0, start) + replacement + original.slice(end),
    where: first === last ? `line ${first}` : `lines ${first}–${last}`,
  };
}
