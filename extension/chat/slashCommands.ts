// Slash commands in the chat's input box: `/explain`, `/fix`, `/tests`, `/doc` (on the selection, or the active
// file), `/new`, `/clear`, and one `/<name>` per prompt file (promptFiles.ts). This module has the list, parses what
// the user typed, and builds the message a command sends; slashCommandRunner.ts runs them with the editor and the
// chat. Pure: no vscode (the list's completion items are bundled into the webview's protocol too).
import { MAX_CHIP_CHARS, truncate, type ContextChip } from './contextChips';
import { inputNames, splitInputs, substituteVariables, usesSelection, type PromptFile, type PromptVariables } from './promptFiles';
import type { CompletionItemView } from './webviewProtocol';

/** What a command does: a task on the code at hand, a new conversation, clearing this one, or a prompt file. */
export type CommandKind = 'code' | 'new' | 'clear' | 'prompt';

export interface SlashCommand {
  /** Without the slash. */
  name: string;
  description: string;
  kind: CommandKind;
  /** `code` commands: what the model is asked to do with the code (which goes ahead of the message, as context). */
  instruction?: string;
  /** `prompt` commands: the file. */
  prompt?: PromptFile;
}

export const BUILTIN_COMMANDS: readonly SlashCommand[] = [
  {
    name: 'explain', kind: 'code', description: 'Explain the selected code (or the active file)',
    instruction: 'Explain the code above: what it does, how it works step by step, and anything surprising or risky in it.',
  },
  {
    name: 'fix', kind: 'code', description: 'Find and fix the problems in the selected code',
    instruction: 'Find the bugs and problems in the code above and fix them. Reply with the corrected code in one fenced code block, then a short list of what you changed and why.',
  },
  {
    name: 'tests', kind: 'code', description: 'Write unit tests for the selected code',
    instruction: 'Write unit tests for the code above, with the test framework its project most likely uses. Cover the usual cases, the edge cases and the errors. Reply with the tests in one fenced code block.',
  },
  {
    name: 'doc', kind: 'code', description: 'Write documentation comments for the selected code',
    instruction: 'Write documentation comments for the code above, in the usual style of its language (JSDoc, docstrings, …). Reply with the code and its new comments in one fenced code block; change nothing else.',
  },
  { name: 'new', kind: 'new', description: 'Start a new conversation (this one stays in History)' },
  { name: 'clear', kind: 'clear', description: 'Clear this conversation (deletes it from History; Undo in the notification)' },
];

/** A command line: `/name` and what follows it. */
export interface CommandLine {
  name: string;
  /** The text after the name, trimmed ('' if none). */
  args: string;
}

/** `/name rest…` (the whole message, trimmed); undefined when the message is not one. */
export function parseCommandLine(text: string): CommandLine | undefined {
  const m = /^\/([A-Za-z0-9][\w.-]*)(?=$|[\s:])([\s\S]*)$/.exec(text.trim());
  return m ? { name: m[1], args: m[2].trim() } : undefined;
}

/**
 * The commands: the built-in ones, then one per prompt file, sorted by name. A prompt file named like a built-in
 * command (or like an earlier prompt file, from another workspace folder) is left out.
 */
export function commandList(prompts: readonly PromptFile[]): SlashCommand[] {
  const taken = new Set(BUILTIN_COMMANDS.map((c) => c.name.toLowerCase()));
  const fromFiles: SlashCommand[] = [];
  for (const p of [...prompts].sort((a, b) => a.name.localeCompare(b.name))) {
    if (taken.has(p.name.toLowerCase())) continue;
    taken.add(p.name.toLowerCase());
    fromFiles.push({ name: p.name, kind: 'prompt', description: p.description ?? `Prompt file ${p.path}`, prompt: p });
  }
  return [...BUILTIN_COMMANDS, ...fromFiles];
}

/** The command a message runs, and the text after it; undefined for ordinary text (an unknown `/word` too). */
export function findCommand(text: string, commands: readonly SlashCommand[]): { command: SlashCommand; args: string } | undefined {
  const line = parseCommandLine(text);
  if (!line) return undefined;
  const command = commands.find((c) => c.name === line.name) ?? commands.find((c) => c.name.toLowerCase() === line.name.toLowerCase());
  return command ? { command, args: line.args } : undefined;
}

/** The input box's completion list for these commands. */
export function completionItems(commands: readonly SlashCommand[]): CompletionItemView[] {
  return commands.map((c) => ({
    label: `/${c.name}`,
    description: c.description,
    detail: c.kind === 'prompt' ? 'prompt file' : undefined,
    atStart: true,
  }));
}

/** What the user typed, as the transcript shows it: the command line, spaces tidied. */
function typedLine(command: SlashCommand, args: string): string {
  return args ? `/${command.name} ${args.replace(/^:\s*/, '')}` : `/${command.name}`;
}

/**
 * The user message of a `code` command: the command as typed (so the transcript shows it), the task's instruction,
 * and the text after the command as an extra instruction. The code goes with it as its context chip (contextChips.ts
 * writes it ahead of the message for the model).
 */
export function buildCodeMessage(command: SlashCommand, args: string): string {
  const parts = [typedLine(command, args), command.instruction ?? ''];
  if (args) parts.push(`Also: ${args}`);
  return parts.filter(Boolean).join('\n\n');
}

/** A prompt file's message: the command as typed, the body with its variables filled in, and the rest of the text. */
export function buildPromptMessage(command: SlashCommand, args: string, vars: Omit<PromptVariables, 'inputs'>): string {
  const body = command.prompt?.body ?? '';
  const { inputs, rest } = splitInputs(args, inputNames(body));
  const parts = [typedLine(command, args), substituteVariables(body, { ...vars, inputs })];
  if (rest) parts.push(rest);
  return parts.filter((p) => p.trim()).join('\n\n');
}

/** Whether a prompt command should take the editor's context chip along (not when its body has the selection). */
export function promptTakesContext(command: SlashCommand): boolean {
  return !usesSelection(command.prompt?.body ?? '');
}

/** Lines of a selection as a chip numbers them: 1-based, inclusive, a selection ending at column 0 not taking that line. */
export function selectionLines(start: { line: number }, end: { line: number; character: number }): { startLine: number; endLine: number } {
  const startLine = start.line + 1;
  return { startLine, endLine: end.character === 0 && end.line > start.line ? end.line : end.line + 1 };
}

/** A whole file sent to a command is cut shorter than a selection (as editorContext.ts does for its chip). */
export const MAX_FILE_CHARS = 8_000;

/** The code a `code` command works on, as a context chip: the selection when there is one, else the whole file. */
export function codeChip(source: {
  /** Workspace-relative. */
  path: string;
  languageId: string;
  fileText: string;
  selection?: { text: string; start: { line: number; character: number }; end: { line: number; character: number } };
}): ContextChip | undefined {
  const s = source.selection;
  if (s && s.text.trim()) {
    const { text, truncated } = truncate(s.text, MAX_CHIP_CHARS);
    const id = `command-selection:${source.path}:${s.start.line}:${s.start.character}-${s.end.line}:${s.end.character}`;
    return { id, kind: 'selection', path: source.path, languageId: source.languageId, text, truncated, ...selectionLines(s.start, s.end) };
  }
  if (!source.fileText.trim()) return undefined;
  const { text, truncated } = truncate(source.fileText, MAX_FILE_CHARS);
  return { id: `command-file:${source.path}`, kind: 'file', path: source.path, languageId: source.languageId, text, truncated };
}
