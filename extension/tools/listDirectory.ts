// list_directory: the entries of a workspace folder, folders first with a trailing `/`. At the workspace root of a
// multi-root workspace it also names the other folders, which the model reaches as `folderName/...`.
import * as fs from 'node:fs/promises';
import { stringArg } from './toolArgs';
import { resolveForTool } from './fileText';
import { fitToBudget } from './toolOutput';
import { ToolError, type Tool } from './toolTypes';

const MAX_ENTRIES = 300;
/** Not worth the model's context; it can still list them by name. */
const HIDDEN_AT_LISTING = new Set(['.git', 'node_modules']);

export const listDirectory: Tool = {
  writes: false,
  definition: {
    name: 'list_directory',
    description: 'List a folder; "." is the workspace root.',
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string' },
      },
      required: ['path'],
      additionalProperties: false,
    },
  },
  async run(args, context) {
    const resolved = await resolveForTool(stringArg(args, 'path', true) ?? '.', context.roots);
    if (!resolved.exists) throw new ToolError(`${resolved.display} does not exist. List "." to see the top of the workspace.`);
    let entries;
    try {
      // The real path checked by resolveForTool: a link on the named path swapped since cannot lead the listing out.
      entries = await fs.readdir(resolved.real, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') throw new ToolError(`${resolved.display} is a file, not a folder. Use read_file to read it.`);
      throw e;
    }
    const skipped = entries.filter((e) => HIDDEN_AT_LISTING.has(e.name) && resolved.relative === '').map((e) => `${e.name}/`);
    const shown = entries
      .filter((e) => !(HIDDEN_AT_LISTING.has(e.name) && resolved.relative === ''))
      .map((e) => (e.isDirectory() ? `${e.name}/` : e.isSymbolicLink() ? `${e.name} (link)` : e.name))
      .sort((a, b) => Number(!a.endsWith('/')) - Number(!b.endsWith('/')) || a.localeCompare(b));
    const lines = [`${resolved.display} (${entries.length} entries):`, ...shown.slice(0, MAX_ENTRIES)];
    if (shown.length > MAX_ENTRIES) lines.push(`[… ${shown.length - MAX_ENTRIES} more entries not shown. Use find_files with a pattern to narrow down.]`);
    if (skipped.length) lines.push(`(not listed: ${skipped.join(', ')})`);
    if (resolved.relative === '' && context.roots.length > 1 && resolved.root === context.roots[0]) {
      lines.push(`Other workspace folders: ${context.roots.slice(1).map((r) => `${r.name}/`).join(', ')} (use paths like "${context.roots[1].name}/src").`);
    }
    if (shown.length === 0) lines.push('(empty)');
    return fitToBudget(lines.join('\n'), context.budget, 'Use find_files with a pattern to narrow down.').text;
  },
};
