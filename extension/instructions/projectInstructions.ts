// Project instructions: the files developers already keep for assistants (AGENTS.md, .github/copilot-instructions.md,
// .github/instructions/*.instructions.md with their applyTo globs, and .phi/instructions.md), turned into the text
// that goes into the system prompt of the chat, Explain and the refactors. Pure: no vscode (instructionsReader.ts
// finds and reads the files; the unit tests call this directly).
import type { ChatMessage } from '../../sidecar/protocol';

/** One instruction file as read: its workspace-relative path ('/' separators) and its text. */
export interface InstructionFile {
  path: string;
  text: string;
}

export interface InstructionsResult {
  /** What goes into the system prompt ('' when nothing applies). */
  text: string;
  /** The files whose text went in (whole or cut short), in prompt order. */
  used: string[];
  /** The files the budget cut: 'cut short' (part went in) or 'left out'. */
  cut: { path: string; reason: 'cut short' | 'left out' }[];
}

/** The paths the reader looks at, relative to a workspace folder (the scoped ones: INSTRUCTIONS_FOLDER). */
export const INSTRUCTION_PATHS = ['.phi/instructions.md', 'AGENTS.md', '.github/copilot-instructions.md'] as const;
export const INSTRUCTIONS_FOLDER = '.github/instructions';
export const SCOPED_SUFFIX = '.instructions.md';

/**
 * Tokens the instructions may take: Phi-4-mini's context may be a few thousand tokens (phiLocal.contextLength), and the
 * sidecar always keeps the system prompt, so what it takes is lost to the history and the attached code.
 */
export const DEFAULT_BUDGET_TOKENS = 2_000;
/** A rough, safe count for English and code: about 4 characters a token (no tokenizer on the extension's side). */
export const CHARS_PER_TOKEN = 4;
/** Less than this left: a file is left out rather than cut to a stub. */
const MIN_CUT_CHARS = 200;

/** The prompt order: ours first, then the shared ones, then the scoped ones by name; the budget cuts from the end. */
function rank(path: string): number {
  // With several workspace folders a path starts with the folder's name.
  const i = INSTRUCTION_PATHS.findIndex((p) => path === p || path.endsWith(`/${p}`));
  return i >= 0 ? i : INSTRUCTION_PATHS.length;
}

/** The front matter's applyTo globs (comma-separated, quoted or not), and the text without the front matter. */
export function parseFrontMatter(text: string): { applyTo?: string[]; body: string } {
  const m = /^\uFEFF?---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(text);
  if (!m) return { body: text };
  const line = /^applyTo:[ \t]*(.*)$/m.exec(m[1]);
  const value = line?.[1].trim().replace(/^(['"])(.*)\1$/, '$2');
  const applyTo = value ? value.split(',').map((g) => g.trim().replace(/^(['"])(.*)\1$/, '$2')).filter(Boolean) : undefined;
  return { applyTo, body: text.slice(m[0].length) };
}

/** A glob (`**`, `*`, `?`, `{a,b}`) as a regular expression over a whole '/'-separated path. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` also matches no folder at all; a `**` elsewhere: anything.
      if (glob[i + 2] === '/') { re += '(?:.*/)?'; i += 2; } else { re += '.*'; i += 1; }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') { braces++; re += '(?:'; }
    else if (c === '}' && braces > 0) { braces--; re += ')'; }
    else if (c === ',' && braces > 0) re += '|';
    else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Whether `glob` matches `path`; a glob without a '/' matches the file name in any folder (as VS Code's do). */
export function globMatches(glob: string, path: string): boolean {
  const p = path.replace(/\\/g, '/').replace(/^\.\//, '');
  const g = glob.replace(/^\.?\//, '');
  return globToRegExp(g).test(p) || (!g.includes('/') && globToRegExp(g).test(p.split('/').pop() ?? p));
}

/**
 * The instructions for a turn about `fileAtHand` (workspace-relative; undefined: no file), within `budgetTokens`.
 * Scoped files (*.instructions.md) apply only where their applyTo matches the file at hand (one without applyTo: never).
 */
export function buildInstructions(files: readonly InstructionFile[], fileAtHand: string | undefined, budgetTokens = DEFAULT_BUDGET_TOKENS): InstructionsResult {
  const applicable = files
    .map((f) => ({ path: f.path, ...parseFrontMatter(f.text) }))
    .filter((f) => f.body.trim().length > 0)
    .filter((f) => rank(f.path) < INSTRUCTION_PATHS.length || (fileAtHand !== undefined && (f.applyTo ?? []).some((g) => globMatches(g, fileAtHand))))
    .sort((a, b) => rank(a.path) - rank(b.path) || a.path.localeCompare(b.path));
  let left = Math.max(0, budgetTokens) * CHARS_PER_TOKEN;
  const sections: string[] = [];
  const result: InstructionsResult = { text: '', used: [], cut: [] };
  for (const f of applicable) {
    const header = `## From ${f.path}\n`;
    let body = f.body.trim();
    if (header.length + body.length > left) {
      const room = left - header.length;
      if (room < MIN_CUT_CHARS) {
        result.cut.push({ path: f.path, reason: 'left out' });
        continue;
      }
      const cut = body.slice(0, room);
      const lastBreak = cut.lastIndexOf('\n');
      body = `${lastBreak > room / 2 ? cut.slice(0, lastBreak) : cut}\n(cut short)`;
      result.cut.push({ path: f.path, reason: 'cut short' });
    }
    left -= header.length + body.length;
    sections.push(header + body);
    result.used.push(f.path);
  }
  if (sections.length) {
    result.text = `The project's instructions for assistants, from files in the workspace. Follow them where they apply.\n\n${sections.join('\n\n')}`;
  }
  return result;
}

/** `messages` with the instructions added at the end of the system prompt (or as one, when there is none). */
export function withInstructions(messages: readonly ChatMessage[], instructions: string): ChatMessage[] {
  if (!instructions) return [...messages];
  const [first, ...rest] = messages;
  if (first?.role === 'system') return [{ ...first, content: `${first.content}\n\n${instructions}` }, ...rest];
  return [{ role: 'system', content: instructions }, ...messages];
}

/** One log line: which files went in, and what the budget cut. */
export function describeInstructions(r: InstructionsResult): string {
  const used = r.used.length ? r.used.join(', ') : 'none';
  return `project instructions used: ${used}${r.cut.length ? `; cut to fit the budget: ${r.cut.map((c) => `${c.path} (${c.reason})`).join(', ')}` : ''}.`;
}
