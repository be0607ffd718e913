// find_files: workspace files whose path matches a glob (VS Code's file search, which honours files.exclude). A
// bare name like "app.py" is searched everywhere ("**/app.py"). Results that are links leading outside the
// workspace are left out.
import * as vscode from 'vscode';
import { stringArg } from './toolArgs';
import { fitToBudget } from './toolOutput';
import { ToolError, type Tool } from './toolTypes';
import { displayFor, resolveWorkspacePath } from './workspacePaths';

const MAX_RESULTS = 100;
const EXCLUDE = '**/{node_modules,.git}/**';

/** The glob as VS Code's search wants it; refuses patterns that climb out of the folder. */
export function normaliseGlob(pattern: string): string {
  let glob = pattern.trim().replace(/\\/g, '/').replace(/^\.\//, '');
  if (!glob) throw new ToolError('The pattern is empty. Example: "**/*.ts" or "app.py".');
  if (glob.startsWith('/') || /^[A-Za-z]:\//.test(glob) || glob.split('/').includes('..')) {
    throw new ToolError(`The pattern "${pattern}" reaches outside the workspace. Use a pattern relative to it, like "src/**/*.ts".`);
  }
  if (!glob.includes('/')) glob = `**/${glob}`;
  return glob;
}

export const findFiles: Tool = {
  writes: false,
  definition: {
    name: 'find_files',
    description: 'Find files by name or glob pattern, like "**/*.test.ts".',
    parameters: {
      type: 'object',
      properties: {
        pattern: { type: 'string' },
      },
      required: ['pattern'],
      additionalProperties: false,
    },
  },
  async run(args, context) {
    const raw = stringArg(args, 'pattern');
    const glob = normaliseGlob(raw);
    const found: string[] = [];
    let more = false;
    for (const root of context.roots) {
      const uris = await vscode.workspace.findFiles(new vscode.RelativePattern(vscode.Uri.file(root.fsPath), glob), EXCLUDE, MAX_RESULTS + 1, context.token);
      for (const uri of uris) {
        const display = displayFor(uri.fsPath, context.roots);
        if (!display) continue;
        try {
          await resolveWorkspacePath(display, context.roots);
        } catch {
          continue; // a link that leads outside
        }
        found.push(display);
      }
      if (uris.length > MAX_RESULTS) more = true;
    }
    found.sort();
    if (found.length === 0) return `No files match "${glob}".`;
    const lines = [`${Math.min(found.length, MAX_RESULTS)} file(s) match "${glob}":`, ...found.slice(0, MAX_RESULTS)];
    if (more || found.length > MAX_RESULTS) lines.push(`[more files match; only the first ${MAX_RESULTS} are listed. Use a narrower pattern.]`);
    return fitToBudget(lines.join('\n'), context.budget, 'Use a narrower pattern.').text;
  },
};
