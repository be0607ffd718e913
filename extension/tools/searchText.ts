// search_text: lines of workspace files that contain a text (or match a regular expression). Runs the ripgrep that
// ships inside VS Code (fast, honours .gitignore, does not follow links); where it cannot be found, a bounded scan
// of the files VS Code's file search lists. Either way at most MAX_MATCHES lines come back, each clipped.
// (vscode.workspace.findTextInFiles would do this, but it is still a proposed API.)
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { boolArg, stringArg } from './toolArgs';
import { resolveForTool } from './fileText';
import { readFileInside } from './openInside';
import { clipLine, fitToBudget } from './toolOutput';
import { ToolError, type Tool, type ToolContext } from './toolTypes';
import { displayFor, resolveWorkspacePath, type ResolvedPath } from './workspacePaths';

const MAX_MATCHES = 50;
const MAX_PER_FILE = 10;
const FALLBACK_MAX_FILES = 2000;
const FALLBACK_MAX_FILE_BYTES = 1024 * 1024;
const FALLBACK_TIME_MS = 5000;

interface Match { file: string; line: number; text: string }

/** VS Code's own rg, where this VS Code keeps it (desktop: in the unpacked asar; code-server: node_modules). */
export function bundledRipgrep(appRoot = vscode.env.appRoot): string | undefined {
  const exe = process.platform === 'win32' ? 'rg.exe' : 'rg';
  for (const modules of ['node_modules', 'node_modules.asar.unpacked']) {
    const candidate = path.join(appRoot, modules, '@vscode', 'ripgrep', 'bin', exe);
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Smart case, as VS Code's search: case-insensitive unless the query has a capital letter. */
function matcher(query: string, regex: boolean): (line: string) => boolean {
  const flags = /[A-Z]/.test(query) ? '' : 'i';
  if (regex) {
    let re: RegExp;
    try {
      re = new RegExp(query, flags);
    } catch (e) {
      throw new ToolError(`"${query}" is not a valid regular expression: ${(e as Error).message}. Set is_regex to false to search for the plain text.`);
    }
    return (line) => re.test(line);
  }
  const needle = flags ? query.toLowerCase() : query;
  return (line) => (flags ? line.toLowerCase() : line).includes(needle);
}

function runRipgrep(rg: string, query: string, regex: boolean, target: ResolvedPath, context: ToolContext): Promise<{ matches: Match[]; more: boolean }> {
  const args = ['--json', '--smart-case', '--max-columns', '400', '--max-filesize', '2M', '--max-count', String(MAX_PER_FILE),
    '--glob', '!**/node_modules/**', '--glob', '!**/.git/**', ...(regex ? [] : ['--fixed-strings']), '-e', query, '--', target.relative || '.'];
  return new Promise((resolve, reject) => {
    const child = spawn(rg, args, { cwd: target.root.fsPath, stdio: ['ignore', 'pipe', 'pipe'] });
    const matches: Match[] = [];
    const hardLinked = new Map<string, boolean>();
    let more = false;
    let pending = '';
    let stderr = '';
    const stop = () => child.kill();
    const cancel = context.token.onCancellationRequested(stop);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let event: { type?: string; data?: { path?: { text?: string }; line_number?: number; lines?: { text?: string } } };
        try {
          event = JSON.parse(line);
        } catch {
          continue;
        }
        if (event.type !== 'match' || !event.data?.path?.text || event.data.lines?.text === undefined) continue;
        if (matches.length >= MAX_MATCHES) {
          more = true;
          stop();
          return;
        }
        const absolute = path.resolve(target.root.fsPath, event.data.path.text);
        // ripgrep reads by path: a file with other hard links may be a file from outside (openInside.ts); left out.
        if (!hardLinked.has(absolute)) hardLinked.set(absolute, (fs.statSync(absolute, { throwIfNoEntry: false })?.nlink ?? 1) > 1);
        if (hardLinked.get(absolute)) continue;
        const file = displayFor(absolute, context.roots) ?? event.data.path.text;
        matches.push({ file, line: event.data.line_number ?? 0, text: event.data.lines.text.replace(/\r?\n$/, '') });
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    child.on('error', (e) => { cancel.dispose(); reject(e); });
    child.on('close', (code) => {
      cancel.dispose();
      // 0: matches, 1: none, killed: we had enough. 2: an error (a bad regex, or unreadable files among matches).
      if (code === 2 && matches.length === 0 && !more) {
        const first = stderr.split('\n').find((l) => l.trim()) ?? 'ripgrep failed';
        reject(new ToolError(regex ? `The search failed: ${first}. Set is_regex to false to search for the plain text.` : `The search failed: ${first}`));
      } else {
        resolve({ matches, more });
      }
    });
  });
}

async function scanFiles(query: string, regex: boolean, target: ResolvedPath, context: ToolContext): Promise<{ matches: Match[]; more: boolean }> {
  const test = matcher(query, regex);
  const base = vscode.Uri.file(target.absolute);
  const single = fs.statSync(target.absolute).isFile();
  const uris = single ? [base] : await vscode.workspace.findFiles(new vscode.RelativePattern(base, '**/*'), '**/{node_modules,.git}/**', FALLBACK_MAX_FILES, context.token);
  const matches: Match[] = [];
  const deadline = Date.now() + FALLBACK_TIME_MS;
  for (const uri of uris) {
    if (context.token.isCancellationRequested || Date.now() > deadline) return { matches, more: true };
    const display = displayFor(uri.fsPath, context.roots);
    if (!display) continue;
    try {
      const resolved = await resolveWorkspacePath(display, context.roots);
      const bytes = await readFileInside(resolved, FALLBACK_MAX_FILE_BYTES);
      if (bytes.subarray(0, 8192).includes(0)) continue;
      const lines = new TextDecoder().decode(bytes).split(/\r?\n/);
      let inFile = 0;
      for (let i = 0; i < lines.length && inFile < MAX_PER_FILE; i++) {
        if (!test(lines[i])) continue;
        if (matches.length >= MAX_MATCHES) return { matches, more: true };
        matches.push({ file: display, line: i + 1, text: lines[i] });
        inFile++;
      }
    } catch {
      continue; // a link leading outside, a file too large, not a file, or one that went away
    }
  }
  return { matches, more: uris.length >= FALLBACK_MAX_FILES };
}

export const searchText: Tool = {
  writes: false,
  definition: {
    name: 'search_text',
    description: 'Search file contents for query (a regular expression if is_regex), in the whole workspace or under path.',
    parameters: {
      type: 'object',
      properties: {
        query: { type: 'string' },
        path: { type: 'string' },
        is_regex: { type: 'boolean' },
      },
      required: ['query'],
      additionalProperties: false,
    },
  },
  async run(args, context) {
    const query = stringArg(args, 'query');
    if (!query.trim()) throw new ToolError('The query is empty. Example: {"query": "function main"}');
    const regex = boolArg(args, 'is_regex') ?? false;
    if (regex) matcher(query, true); // a bad pattern fails here, with the same message on either path
    const where = stringArg(args, 'path', true);
    const targets = where ? [await resolveForTool(where, context.roots)] : await Promise.all(context.roots.map((r) => resolveForTool(r.fsPath, context.roots)));
    for (const t of targets) if (!t.exists) throw new ToolError(`${t.display} does not exist.`);
    const rg = bundledRipgrep();
    const matches: Match[] = [];
    let more = false;
    for (const target of targets) {
      let found: { matches: Match[]; more: boolean };
      try {
        found = rg ? await runRipgrep(rg, query, regex, target, context) : await scanFiles(query, regex, target, context);
      } catch (e) {
        if (e instanceof ToolError) throw e;
        found = await scanFiles(query, regex, target, context); // rg could not be started
      }
      matches.push(...found.matches);
      more ||= found.more;
      if (matches.length >= MAX_MATCHES) break;
    }
    if (matches.length === 0) return `No lines contain "${query}"${where ? ` in ${where}` : ''}.`;
    const lines = matches.slice(0, MAX_MATCHES).map((m) => `${m.file}:${m.line}: ${clipLine(m.text.trim())}`);
    if (more || matches.length > MAX_MATCHES) lines.push(`[more matches not shown; only the first ${MAX_MATCHES}. Narrow the query or give a path.]`);
    return fitToBudget(lines.join('\n'), context.budget, 'Narrow the query or give a path.').text;
  },
};
