// create_file: a new file with the given text, after the user has seen it (as a diff against nothing) and allowed
// it. An existing file is never overwritten: that is apply_edit's job.
import * as vscode from 'vscode';
import { resolveForTool } from './fileText';
import { confirmAndApply } from './fileChange';
import type { ProposalDocuments } from '../proposalDocuments';
import { stringArg } from './toolArgs';
import { ToolError, type Tool } from './toolTypes';

export function createFile(proposals: ProposalDocuments): Tool {
  return {
    writes: true,
    definition: {
      name: 'create_file',
      description: 'Create a new file; to change an existing one, use apply_edit.',
      parameters: {
        type: 'object',
        properties: {
          path: { type: 'string' },
          content: { type: 'string' },
        },
        required: ['path', 'content'],
        additionalProperties: false,
      },
    },
    async run(args, context) {
      const resolved = await resolveForTool(stringArg(args, 'path'), context.roots);
      const content = stringArg(args, 'content');
      if (resolved.relative === '' || /[/\\]$/.test(stringArg(args, 'path').trim())) throw new ToolError('The path must name a file, like "src/util.py".');
      if (resolved.exists) throw new ToolError(`${resolved.display} already exists. Use apply_edit to change it, or pick another name.`);
      const uri = vscode.Uri.file(resolved.absolute);
      const lines = content.length === 0 ? 0 : content.split('\n').length - (content.endsWith('\n') ? 1 : 0);
      return confirmAndApply({
        tool: 'create_file',
        uri,
        display: resolved.display,
        resolved,
        original: undefined,
        proposed: content,
        title: `Create ${resolved.display} (${lines} line${lines === 1 ? '' : 's'})`,
        detail: `Phi wants to create ${resolved.display}. The diff shows its content.`,
        edit: () => {
          const edit = new vscode.WorkspaceEdit();
          edit.createFile(uri, { overwrite: false, ignoreIfExists: false, contents: new TextEncoder().encode(content) });
          return edit;
        },
        done: `Created ${resolved.display} (${lines} line${lines === 1 ? '' : 's'}).`,
      }, proposals, context);
    },
  };
}
