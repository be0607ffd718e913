// apply_edit: replaces an exact piece of a file's text (or a range of its lines) with new text, after the user
// has seen the diff and allowed it. The range is worked out by editPlan.ts; the change goes through fileChange.ts.
import * as vscode from 'vscode';
import { EditError, planEdit } from './editPlan';
import { readFileText, resolveForTool } from './fileText';
import type { ProposalDocuments } from '../proposalDocuments';
import { intArg, stringArg } from './toolArgs';
import { confirmAndApply } from './fileChange';
import { ToolError, type Tool } from './toolTypes';

export function applyEdit(proposals: ProposalDocuments): Tool {
  return {
    writes: true,
    definition: {
      name: 'apply_edit',
      description: 'Edit a file: replace old_text, copied exactly, with new_text; or replace lines start_line to end_line.',
      parameters: {
        type: 'object',
        properties: {
          path: { type: 'string' },
          old_text: { type: 'string' },
          new_text: { type: 'string' },
          start_line: { type: 'integer', minimum: 1 },
          end_line: { type: 'integer', minimum: 1 },
        },
        required: ['path', 'new_text'],
        additionalProperties: false,
      },
    },
    async run(args, context) {
      const resolved = await resolveForTool(stringArg(args, 'path'), context.roots);
      if (!resolved.exists) throw new ToolError(`${resolved.display} does not exist. To make a new file, use create_file.`);
      const original = await readFileText(resolved);
      let plan;
      try {
        plan = planEdit(original, {
          oldText: stringArg(args, 'old_text', true),
          startLine: intArg(args, 'start_line'),
          endLine: intArg(args, 'end_line'),
          newText: stringArg(args, 'new_text'),
        }, resolved.display);
      } catch (e) {
        if (e instanceof EditError) throw new ToolError(e.message);
        throw e;
      }
      if (plan.result === original) return `${resolved.display} already has that text; nothing to change.`;
      const uri = vscode.Uri.file(resolved.absolute);
      return confirmAndApply({
        tool: 'apply_edit',
        uri,
        display: resolved.display,
        resolved,
        original,
        proposed: plan.result,
        title: `Edit ${resolved.display} (${plan.where})`,
        detail: `Phi wants to replace ${plan.where} of ${resolved.display}. The diff shows the change; it is applied as one edit that Undo reverts.`,
        edit: (document) => {
          const edit = new vscode.WorkspaceEdit();
          edit.replace(uri, new vscode.Range(document!.positionAt(plan.start), document!.positionAt(plan.end)), plan.replacement);
          return edit;
        },
        revealOffset: plan.start,
        done: `Edited ${resolved.display} (${plan.where}). The change is in the editor, not yet saved; the user can undo it.`,
      }, proposals, context);
    },
  };
}
