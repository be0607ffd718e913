// The terminal's prompts, as pure functions (no vscode here, so the unit tests run them): the raw data a terminal
// wrote made readable (escape sequences out, carriage-return overwrites applied), bounded to its last lines with a
// note of what was cut; the chat question of "Explain" (a selection, or the last command and its output); the turn of
// "Fix This Command"; and the one command read back from the model's answer (a fenced code block, or a single line).
import type { ChatMessage } from '../../sidecar/protocol';
import { fenceFor } from '../chat/contextChips';

/** The most output sent: the last lines (an error is at the end), and at most this many characters of them. */
export const MAX_OUTPUT_LINES = 150;
export const MAX_OUTPUT_CHARS = 6_000;
/** The longest command proposed: past this it is not shown as a one-click command. */
export const MAX_COMMAND_CHARS = 2_000;

/** What one terminal said: a command with its output, or the text the user selected. */
export interface TerminalText {
  source: 'selection' | 'lastCommand';
  /** The command line (shell integration's), when known. */
  commandLine?: string;
  /** The output (or the selection), raw: escape sequences are removed here. */
  text: string;
  exitCode?: number;
  /** The command is still running: the output so far. */
  running?: boolean;
  /** Output left out before it reached us (the recorder keeps only the last part of a long output). */
  droppedChars?: number;
  /** The shell's name (bash, zsh, pwsh…) and the operating system, for Fix. */
  shell?: string;
  platform?: string;
  cwd?: string;
}

export interface BoundedText {
  text: string;
  /** Lines (or, for one long line, characters) left out from the start; 0: nothing was cut. */
  cutLines: number;
  cutChars: number;
  totalLines: number;
}

/**
 * Terminal data as text: OSC (titles, shell integration's 633 marks), CSI (colours, cursor moves), DCS and other
 * escape sequences removed; CR LF as LF; a lone CR (a progress bar redrawing its line) keeps what was written last;
 * backspaces applied; other control characters dropped; trailing spaces and blank lines at the end trimmed.
 */
export function cleanTerminalOutput(raw: string): string {
  const s = raw
    // OSC … BEL or ST; DCS / SOS / PM / APC … ST
    .replace(/\x1b\][\s\S]*?(?:\x07|\x1b\\)/g, '')
    .replace(/\x1b[PX^_][\s\S]*?\x1b\\/g, '')
    // CSI (and its 8-bit form)
    .replace(/(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]/g, '')
    // charset selection, then any other two-character escape
    .replace(/\x1b[()*+\-./][\s\S]?/g, '')
    .replace(/\x1b[\s\S]?/g, '')
    .replace(/\r+\n/g, '\n');
  const lines = s.split('\n').map((line) => {
    // A carriage return starts the line over: what follows overwrites what was there.
    let out = '';
    for (const part of line.split('\r')) out = part + out.slice(part.length);
    // Backspace deletes the character before it.
    let text = '';
    for (const ch of out) {
      if (ch === '\b') text = text.slice(0, -1);
      else if (ch === '\t' || ch >= ' ') text += ch;
    }
    return text.replace(/[\u007f-\u009f]/g, '').trimEnd();
  });
  while (lines.length && !lines[lines.length - 1]) lines.pop();
  while (lines.length && !lines[0]) lines.shift();
  return lines.join('\n');
}

/** The last `maxLines` lines of `text`, within `maxChars` (a line cut at its start when one line alone is longer). */
export function boundOutput(text: string, maxLines = MAX_OUTPUT_LINES, maxChars = MAX_OUTPUT_CHARS): BoundedText {
  const lines = text ? text.split('\n') : [];
  const totalLines = lines.length;
  let kept = lines.slice(Math.max(0, lines.length - maxLines));
  let chars = kept.reduce((n, l) => n + l.length + 1, 0) - (kept.length ? 1 : 0);
  while (kept.length > 1 && chars > maxChars) {
    chars -= kept[0].length + 1;
    kept = kept.slice(1);
  }
  let cutChars = 0;
  if (kept.length === 1 && kept[0].length > maxChars) {
    cutChars = kept[0].length - maxChars;
    kept = [kept[0].slice(cutChars)];
  }
  return { text: kept.join('\n'), cutLines: totalLines - kept.length, cutChars, totalLines };
}

/** What the reader is told about a cut, or '' when nothing was cut. */
export function cutNote(b: BoundedText, droppedChars = 0): string {
  const parts: string[] = [];
  if (b.cutLines > 0) parts.push(`the first ${b.cutLines.toLocaleString('en-US')} of ${b.totalLines.toLocaleString('en-US')} lines were left out`);
  if (b.cutChars > 0) parts.push(`the start of the last line (${b.cutChars.toLocaleString('en-US')} characters) was left out`);
  if (droppedChars > 0) parts.push(`${droppedChars.toLocaleString('en-US')} earlier characters of output were not kept`);
  return parts.length ? `(Only the end is shown: ${parts.join('; ')}.)` : '';
}

/** The output block: the command (as a prompt line) and its output, fenced, with the note of what was cut. */
export function formatTerminalText(t: TerminalText): { block: string; bounded: BoundedText; note: string } {
  const bounded = boundOutput(cleanTerminalOutput(t.text));
  const note = cutNote(bounded, t.droppedChars);
  const body = [t.commandLine ? `$ ${t.commandLine.trim()}` : '', bounded.text].filter((x) => x).join('\n') || '(no output)';
  const fence = fenceFor(body);
  return { block: `${fence}text\n${body}\n${fence}${note ? `\n${note}` : ''}`, bounded, note };
}

function outcome(t: TerminalText): string {
  if (t.running) return ' (still running: its output so far)';
  if (t.exitCode === undefined) return '';
  return t.exitCode === 0 ? ' (it succeeded, exit code 0)' : ` (it failed, exit code ${t.exitCode})`;
}

/** The chat question of Explain: the text, then what to explain. */
export function explainQuestion(t: TerminalText): string {
  const { block } = formatTerminalText(t);
  const head = t.source === 'selection'
    ? 'Explain this text I selected in my terminal:'
    : `Explain the output of my last terminal command${t.commandLine ? `, \`${oneLine(t.commandLine)}\`` : ''}${outcome(t)}:`;
  return `${head}\n\n${block}\n\nWhat does it mean? If it is an error, say what caused it and how to fix it.`;
}

/** The system prompt of Fix: one command, in one fenced block, then a sentence. */
export const FIX_SYSTEM_PROMPT =
  'You are Phi, a helpful assistant for the command line, running locally inside the user\'s code editor. ' +
  'The user ran a shell command that did not do what they wanted. Answer with exactly one corrected command, on one line, ' +
  'in a single fenced code block tagged with the shell, then one short sentence saying what was wrong. ' +
  'Never give more than one command or code block. If no command can fix it, write no code block and say why in one sentence.';

/** The turn of Fix This Command. */
export function fixMessages(t: TerminalText): ChatMessage[] {
  const { block } = formatTerminalText(t);
  const where = [t.shell && `Shell: ${t.shell}.`, t.platform && `Operating system: ${t.platform}.`, t.cwd && `Working directory: ${t.cwd}.`].filter(Boolean).join(' ');
  const what = t.source === 'selection'
    ? 'This is the text I selected in my terminal (the command and what it printed):'
    : `This is my last terminal command${outcome(t)} and the end of its output:`;
  return [
    { role: 'system', content: FIX_SYSTEM_PROMPT },
    { role: 'user', content: `${what}\n\n${block}\n\n${where ? `${where}\n\n` : ''}Give me the one command that does what I meant.` },
  ];
}

export type ExtractedCommand =
  | { command: string; note: string }
  | { command?: undefined; reason: string; note: string };

interface Block {
  info: string;
  body: string[];
}

/** The fenced code blocks of a Markdown text; one still open at the end (the answer stopped) counts. */
function fencedBlocks(text: string): { blocks: Block[]; prose: string[] } {
  const blocks: Block[] = [];
  const prose: string[] = [];
  let open: { fence: string; block: Block } | undefined;
  for (const line of text.split('\n')) {
    if (open) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(line);
      if (close && close[1][0] === open.fence[0] && close[1].length >= open.fence.length) {
        blocks.push(open.block);
        open = undefined;
      } else {
        open.block.body.push(line);
      }
      continue;
    }
    const start = /^\s*(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/.exec(line);
    if (start) open = { fence: start[1], block: { info: start[2].toLowerCase(), body: [] } };
    else prose.push(line);
  }
  if (open) blocks.push(open.block);
  return { blocks, prose };
}

/** Lines that are not commands: blank, shell comments. */
const isNoise = (line: string) => !line.trim() || /^\s*(#|\/\/|rem\s)/i.test(line);
/** A prompt before a command, as people write it: `$ `, `% `, `> `, `PS C:\…> `, `user@host:~$ `. */
const PROMPT = /^\s*(?:PS [^>]*>\s|[\w.-]+@[\w.-]+:[^$#]*[$#]\s|[$%>]\s)/;

/** The one command of a block, or why there is not one. */
function commandOfBlock(block: Block): { command?: string; several?: boolean } {
  let lines = block.body;
  // A console transcript: the lines with a prompt are the commands, the rest is output.
  if (lines.some((l) => PROMPT.test(l))) lines = lines.filter((l) => PROMPT.test(l));
  // Continuation lines (a trailing backslash, or PowerShell's backtick) join the next one.
  const logical: string[] = [];
  let pending = '';
  for (const raw of lines) {
    const line = raw.replace(PROMPT, '').trimEnd();
    if (!pending && isNoise(line)) continue;
    const cont = /(?:\\|`)$/.exec(line);
    if (cont) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push((pending + line.trim()).trim());
    pending = '';
  }
  if (pending.trim()) logical.push(pending.trim());
  if (logical.length === 0) return {};
  if (logical.length > 1) return { several: true };
  return { command: logical[0] };
}

/** The blocks that hold output, not commands: their info string says so. */
const OUTPUT_INFO = new Set(['text', 'output', 'plaintext', 'log', 'txt']);

/** Prose around the command: what the model said it changed, on one line, shortened. */
function noteOf(lines: string[]): string {
  const text = lines.join(' ').replace(/\s+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/** Takes out one command wrapped in backticks or written after a prompt, from a line of prose. */
function bareLine(line: string): string {
  let s = line.trim();
  const wrapped = /^(`+)([\s\S]+?)\1$/.exec(s);
  if (wrapped) s = wrapped[2].trim();
  return s.replace(PROMPT, '').trim();
}

function checked(command: string, note: string): ExtractedCommand {
  if (!command) return { reason: 'the answer holds no command', note };
  if (command.length > MAX_COMMAND_CHARS) return { reason: `the command is longer than ${MAX_COMMAND_CHARS} characters`, note };
  // One line only: sendText would run each line; and no control characters (an escape could hide what runs).
  if (/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/.test(command)) return { reason: 'the command holds control characters or line breaks', note };
  // Nor invisible or direction-changing characters: what is shown must read as what runs.
  if (/[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/.test(command)) return { reason: 'the command holds invisible characters', note };
  return { command, note };
}

/**
 * The one command in the model's answer: the command of its one fenced code block (several blocks that hold the
 * same command count as one; a console transcript's prompt lines; comments and continuation lines handled), else
 * the answer itself when it is a single line. Several different commands, or prose only, is no command: the reason
 * says which.
 */
export function extractCommand(answer: string): ExtractedCommand {
  const { blocks, prose } = fencedBlocks(answer.replace(/\r\n?/g, '\n'));
  const note = noteOf(prose);
  const commandBlocks = blocks.filter((b) => !OUTPUT_INFO.has(b.info));
  if (commandBlocks.length > 0) {
    const found = commandBlocks.map(commandOfBlock);
    if (found.some((f) => f.several)) return { reason: 'the answer holds more than one command', note };
    const commands = [...new Set(found.map((f) => f.command).filter((c): c is string => !!c))];
    if (commands.length > 1) return { reason: 'the answer holds more than one command', note };
    if (commands.length === 1) return checked(commands[0], note);
    return { reason: 'the answer\'s code block is empty', note };
  }
  if (blocks.length > 0) return { reason: 'the answer holds output, not a command', note };
  const lines = prose.filter((l) => l.trim());
  if (lines.length === 1) return checked(bareLine(lines[0]), '');
  return { reason: lines.length === 0 ? 'the answer is empty' : 'the answer is not a single command', note };
}

/**
 * Text for a notification, shown as it is: VS Code turns `[label](https:…|command:…|file:…)` in a notification's
 * message into a link, so a command (or a note) from the model could show a label in place of what it says, or a
 * command link. A zero-width space between `]` and `(` keeps the characters as they are, visibly the same.
 */
export function plainForNotification(text: string): string {
  return text.replace(/\]\(/g, ']\u200b(');
}

/** A command line shortened for a title or a sentence. */
export function oneLine(text: string, max = 80): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
