// read_file: a text file, or a range of its lines, numbered `12| text` so that the model can name lines for
// apply_edit. Cut to the result budget with a marker saying which lines to ask for next.
import { intArg, stringArg } from './toolArgs';
import { readFileText, resolveForTool } from './fileText';
import { fitToBudget } from './toolOutput';
import { ToolError, type Tool } from './toolTypes';

export const readFile: Tool = {
  writes: false,
  definition: {
    name: 'read_file',
    description: 'Read a text file, whole or lines start_line to end_line.',
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string' },
        start_line: { type: 'integer', minimum: 1 },
        end_line: { type: 'integer', minimum: 1 },
      },
      required: ['path'],
      additionalProperties: false,
    },
  },
  async run(args, context) {
    const resolved = await resolveForTool(stringArg(args, 'path'), context.roots);
    const text = await readFileText(resolved);
    const lines = text.split(/\r?\n/);
    if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
    const first = intArg(args, 'start_line') ?? 1;
    const last = Math.min(intArg(args, 'end_line') ?? lines.length, lines.length);
    if (first < 1 || (lines.length > 0 && first > lines.length)) {
      throw new ToolError(`${resolved.display} has ${lines.length} lines; start_line ${first} is outside it.`);
    }
    if (last < first && lines.length > 0) throw new ToolError(`end_line (${last}) is before start_line (${first}).`);
    const width = String(last).length;
    const body = lines.slice(first - 1, last).map((l, i) => `${String(first + i).padStart(width)}| ${l}`).join('\n');
    const header = lines.length === 0
      ? `${resolved.display} is empty.`
      : `${resolved.display}, lines ${first}-${last} of ${lines.length}:`;
    const fitted = fitToBudget(`${header}\n${body}`, context.budget, `Read further with start_line set to the next line after the last one shown.`);
    return fitted.text;
  },
};
