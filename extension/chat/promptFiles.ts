// Prompt files (VS Code's format): `.github/prompts/<name>.prompt.md` in a workspace folder, an optional YAML front
// matter (`description`, `mode`, `model`, `tools`, …) between `---` lines, then the prompt's body, which may name
// variables: `${selection}`, `${file}`, `${input:name}`, …. Each becomes the chat command `/<name>`. This module parses
// them and fills in their variables; promptFileReader.ts finds and watches them. Pure: no vscode, no I/O.

/** Where the prompt files are, in each workspace folder, and how their names end. */
export const PROMPTS_FOLDER = '.github/prompts';
export const PROMPT_SUFFIX = '.prompt.md';
/** Larger files are skipped (a prompt is a paragraph or two; the model's context is small). */
export const MAX_PROMPT_FILE_BYTES = 64 * 1024;
/** At most this many prompt files become commands (the rest are left out, in name order). */
export const MAX_PROMPT_FILES = 100;

export interface PromptFile {
  /** The command's name: the file name without `.prompt.md`. */
  name: string;
  /** Where it came from (workspace-relative), for tooltips and the log. */
  path: string;
  description?: string;
  /** `ask` · `edit` · `agent` in VS Code; the chat panel has one mode, so it is kept for information only. */
  mode?: string;
  /** Every front matter key with its value as written (lists as their text). */
  attributes: Record<string, string>;
  /** The prompt, without the front matter. */
  body: string;
}

/** `explain-more.prompt.md` → `explain-more`; undefined for other files and names a command cannot have. */
export function promptNameOf(fileName: string): string | undefined {
  if (!fileName.endsWith(PROMPT_SUFFIX)) return undefined;
  const name = fileName.slice(0, -PROMPT_SUFFIX.length);
  return /^[A-Za-z0-9][\w.-]*$/.test(name) ? name : undefined;
}

function unquote(value: string): string {
  const v = value.trim();
  const m = /^(['"])([\s\S]*)\1$/.exec(v);
  if (!m) return v;
  return m[1] === '"' ? m[2].replace(/\\(["\\])/g, '$1').replace(/\\n/g, '\n') : m[2].replace(/''/g, "'");
}

/**
 * The front matter's `key: value` pairs and the text after it. Only what prompt files use: one value per key, quoted
 * or not, a `[a, b]` list kept as written, `#` comments; an indented line continues the value before it. A file
 * without front matter (or with one that is never closed) is all body.
 */
export function parseFrontMatter(text: string): { attributes: Record<string, string>; body: string } {
  const m = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n?---[ \t]*(?:\r?\n|$)/.exec(text);
  if (!m) return { attributes: {}, body: text.replace(/^\uFEFF/, '') };
  const attributes: Record<string, string> = {};
  let last: string | undefined;
  for (const line of m[1].split(/\r?\n/)) {
    if (!line.trim() || /^\s*#/.test(line)) continue;
    const kv = /^([A-Za-z_][\w-]*)[ \t]*:(.*)$/.exec(line);
    if (kv && !/^\s/.test(line)) {
      last = kv[1];
      const raw = kv[2].trim();
      const quoted = /^(['"])(?:\\.|(?!\1).)*\1/.exec(raw);
      attributes[last] = unquote(quoted ? quoted[0] : raw.replace(/(^|\s+)#.*$/, ''));
    } else if (last !== undefined) {
      attributes[last] = `${attributes[last]} ${line.trim()}`.trim();
    }
  }
  return { attributes, body: text.slice(m[0].length) };
}

/** A prompt file's command, from its file name and text; undefined when the name cannot be a command. */
export function parsePromptFile(fileName: string, path: string, text: string): PromptFile | undefined {
  const name = promptNameOf(fileName);
  if (!name) return undefined;
  const { attributes, body } = parseFrontMatter(text);
  return {
    name, path, attributes, body: body.trim(),
    description: attributes.description || undefined,
    mode: attributes.mode || undefined,
  };
}

/** What the variables of a prompt stand for now; those left undefined stay in the text as written. */
export interface PromptVariables {
  /** The selected text ('' when the editor has no selection). */
  selection?: string;
  /** The active file, workspace-relative. */
  file?: string;
  workspaceFolder?: string;
  workspaceFolderBasename?: string;
  /** `${input:name}` values. */
  inputs?: Record<string, string>;
}

/**
 * The body with its variables filled in: `${selection}` / `${selectedText}`, `${file}`, `${fileBasename}`,
 * `${fileDirname}`, `${fileBasenameNoExtension}`, `${workspaceFolder}`, `${workspaceFolderBasename}`, `${input:name}`
 * (and `${input:name:placeholder}`). A variable with no value, or one this does not know, stays as text.
 */
export function substituteVariables(body: string, vars: PromptVariables): string {
  const file = vars.file;
  const base = file?.split(/[\\/]/).pop();
  const values: Record<string, string | undefined> = {
    selection: vars.selection,
    selectedText: vars.selection,
    file,
    fileBasename: base,
    fileDirname: file === undefined ? undefined : file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.',
    fileBasenameNoExtension: base === undefined ? undefined : base.includes('.') ? base.slice(0, base.lastIndexOf('.')) : base,
    workspaceFolder: vars.workspaceFolder,
    workspaceFolderBasename: vars.workspaceFolderBasename,
  };
  return body.replace(/\$\{([A-Za-z]+)(?::([^}:]+)(?::[^}]*)?)?\}/g, (whole, name: string, arg: string | undefined) => {
    const value = name === 'input' ? (arg === undefined ? undefined : vars.inputs?.[arg.trim()]) : arg === undefined ? values[name] : undefined;
    return value ?? whole;
  });
}

/** The `${input:name}` names a body asks for, in order, once each. */
export function inputNames(body: string): string[] {
  const names = [...body.matchAll(/\$\{input:([^}:]+)(?::[^}]*)?\}/g)].map((m) => m[1].trim());
  return [...new Set(names)];
}

/** Whether the body puts the selection in itself (then the editor's context chip need not go along too). */
export function usesSelection(body: string): boolean {
  return /\$\{(?:selection|selectedText)\}/.test(body);
}

/**
 * The text after a prompt command, split as VS Code does: `name=value` pairs (a value in quotes may have spaces) for
 * the `${input:…}` names the body asks for; the rest is an extra instruction. `/form: formName=Login` works too.
 */
export function splitInputs(args: string, names: readonly string[]): { inputs: Record<string, string>; rest: string } {
  const inputs: Record<string, string> = {};
  const wanted = new Set(names);
  const rest = args.replace(/^:\s*/, '').replace(/(^|\s)([A-Za-z_][\w-]*)=("([^"]*)"|'([^']*)'|\S+)/g, (whole, lead: string, key: string, raw: string, dq?: string, sq?: string) => {
    if (!wanted.has(key)) return whole;
    inputs[key] = dq ?? sq ?? raw;
    return lead;
  });
  return { inputs, rest: rest.replace(/\s+/g, ' ').trim() };
}
