// get_diagnostics: the problems VS Code knows of (errors and warnings from the language servers), for one file or
// for the whole workspace, errors first.
import * as vscode from 'vscode';
import { stringArg } from './toolArgs';
import { resolveForTool } from './fileText';
import { clipLine, fitToBudget } from './toolOutput';
import type { Tool } from './toolTypes';
import { displayFor } from './workspacePaths';

const MAX_PROBLEMS = 60;
const SEVERITY = ['error', 'warning', 'info', 'hint'] as const;

export const getDiagnostics: Tool = {
  writes: false,
  definition: {
    name: 'get_diagnostics',
    description: 'Get the errors and warnings VS Code reports for path, or for the whole workspace.',
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string' },
      },
      additionalProperties: false,
    },
  },
  async run(args, context) {
    const where = stringArg(args, 'path', true);
    let entries: [vscode.Uri, readonly vscode.Diagnostic[]][];
    if (where) {
      const resolved = await resolveForTool(where, context.roots);
      const uri = vscode.Uri.file(resolved.absolute);
      entries = [[uri, vscode.languages.getDiagnostics(uri)]];
    } else {
      entries = vscode.languages.getDiagnostics();
    }
    const problems = entries.flatMap(([uri, list]) => {
      const display = uri.scheme === 'file' ? displayFor(uri.fsPath, context.roots) : undefined;
      return display ? list.map((d) => ({ display, d })) : [];
    }).sort((a, b) => a.d.severity - b.d.severity || a.display.localeCompare(b.display) || a.d.range.start.line - b.d.range.start.line);
    if (problems.length === 0) return where ? `No problems reported in ${where}.` : 'No problems reported in the workspace.';
    const lines = problems.slice(0, MAX_PROBLEMS).map(({ display, d }) => {
      const source = d.source ? ` (${d.source}${d.code !== undefined ? ` ${typeof d.code === 'object' ? String(d.code.value) : String(d.code)}` : ''})` : '';
      return `${display}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${SEVERITY[d.severity]}: ${clipLine(d.message.replace(/\s+/g, ' '))}${source}`;
    });
    if (problems.length > MAX_PROBLEMS) lines.push(`[${problems.length - MAX_PROBLEMS} more problems not shown. Give a path to see one file's.]`);
    return fitToBudget(`${problems.length} problem(s):\n${lines.join('\n')}`, context.budget, 'Give a path to see one file\'s problems.').text;
  },
};
