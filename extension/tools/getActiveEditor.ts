// get_active_editor: which file the user is looking at, its language, where the cursor is, and the selected text.
// "The active editor" is the one the chat's context chips follow (the last text editor the user was in), so it
// still answers while the focus is in the chat.
import * as vscode from 'vscode';
import { fitToBudget } from './toolOutput';
import type { Tool } from './toolTypes';
import { displayFor } from './workspacePaths';

/** Supplies the editor the user was last in (EditorContext.targetEditor). */
export type ActiveEditorSource = () => vscode.TextEditor | undefined;

export function getActiveEditor(source: ActiveEditorSource): Tool {
  return {
    writes: false,
    definition: {
      name: 'get_active_editor',
      description: 'Get the file open in the editor: path, language, cursor line, selected text.',
      parameters: { type: 'object', properties: {}, additionalProperties: false },
    },
    async run(_args, context) {
      const editor = source();
      if (!editor) return 'No file is open in the editor.';
      const doc = editor.document;
      const name = doc.uri.scheme === 'file' ? displayFor(doc.uri.fsPath, context.roots) : undefined;
      if (doc.uri.scheme === 'file' && !name) return 'The open file is outside the workspace, so it is not shown.';
      const s = editor.selection;
      const lines = [
        `File: ${name ?? (doc.isUntitled ? 'untitled (not saved yet)' : doc.uri.scheme)}`,
        `Language: ${doc.languageId}`,
        `Lines: ${doc.lineCount}${doc.isDirty ? ' (unsaved changes)' : ''}`,
        `Cursor: line ${s.active.line + 1}, column ${s.active.character + 1}`,
      ];
      if (s.isEmpty) lines.push('Selection: none');
      else lines.push(`Selection: lines ${s.start.line + 1}-${s.end.line + 1}:`, doc.getText(s));
      return fitToBudget(lines.join('\n'), context.budget, 'The selection is longer; use read_file with start_line and end_line.').text;
    },
  };
}
