// What the buttons of a code block in an answer do: Copy (clipboard), Insert (at the cursor of the editor the
// user was in), and Apply: a diff of the editor's text against the same text with the selection (or, without
// one, the whole file) replaced by the block, and only after the user confirms, one WorkspaceEdit.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { closeDiffTabs, ProposalDocuments } from '../proposalDocuments';
import type { EditorContext } from './editorContext';

/** The code blocks' proposed texts (not the refactors' or tools'; see proposalDocuments.ts). */
const PROPOSAL_SCHEME = 'phi-local-proposal';

export class CodeBlockActions implements vscode.Disposable {
  private readonly proposals = new ProposalDocuments(PROPOSAL_SCHEME);

  constructor(
    private readonly editors: EditorContext,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  async copy(code: string): Promise<void> {
    await vscode.env.clipboard.writeText(code);
    vscode.window.setStatusBarMessage('$(check) Copied the code to the clipboard', 2000);
  }

  /** Replaces the selection(s) of the editor the user was in; with no editor, opens the code in a new one. */
  async insert(code: string, language?: string): Promise<void> {
    const editor = this.editors.targetEditor;
    if (!editor) {
      const doc = await vscode.workspace.openTextDocument({ content: code, language: language && (await this.knownLanguage(language)) });
      await vscode.window.showTextDocument(doc);
      return;
    }
    const shown = await vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, preserveFocus: false });
    const ok = await shown.edit((edit) => {
      for (const selection of shown.selections) {
        // At the start of a line with text, the block goes on lines of its own.
        const lineHasText = selection.isEmpty && selection.start.character === 0 && !shown.document.lineAt(selection.start.line).isEmptyOrWhitespace;
        edit.replace(selection, lineHasText && !code.endsWith('\n') ? `${code}\n` : code);
      }
    });
    if (!ok) void vscode.window.showWarningMessage('Phi Local: the editor did not take the insert (is it read-only?).');
  }

  private async knownLanguage(id: string): Promise<string | undefined> {
    const languages = await vscode.languages.getLanguages();
    const aliases: Record<string, string> = { ts: 'typescript', js: 'javascript', py: 'python', sh: 'shellscript', bash: 'shellscript', shell: 'shellscript', yml: 'yaml', 'c++': 'cpp', cs: 'csharp', rs: 'rust' };
    const wanted = aliases[id.toLowerCase()] ?? id.toLowerCase();
    return languages.includes(wanted) ? wanted : undefined;
  }

  /** Diff preview, then a modal Apply/Cancel; the file changes only on Apply. */
  async apply(code: string): Promise<void> {
    const editor = this.editors.targetEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('Phi Local: open the file to apply the code to (and select the part it replaces), then choose Apply again.');
      return;
    }
    const doc = editor.document;
    const selection = editor.selection;
    const range = selection.isEmpty ? new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)) : new vscode.Range(selection.start, selection.end);
    const version = doc.version;
    const original = doc.getText();
    const proposed = original.slice(0, doc.offsetAt(range.start)) + code + original.slice(doc.offsetAt(range.end));
    const proposalUri = this.proposals.add(doc.uri.path, proposed);
    const name = path.posix.basename(doc.uri.path) || 'Untitled';
    const what = selection.isEmpty ? 'the whole file' : `lines ${range.start.line + 1}–${range.end.line + 1}`;
    try {
      await vscode.commands.executeCommand('vscode.diff', doc.uri, proposalUri, `${name} ↔ Phi's change (${what})`, { preview: true, viewColumn: editor.viewColumn });
      const choice = await vscode.window.showInformationMessage(
        `Apply Phi's change to ${name}?`,
        { modal: true, detail: `The diff shows the change: the code block replaces ${what}. Nothing is written until you choose Apply.` },
        'Apply',
      );
      if (choice !== 'Apply') return;
      if (doc.isClosed || doc.version !== version) {
        void vscode.window.showWarningMessage(`Phi Local: ${name} changed since the preview; nothing was applied. Choose Apply again for a fresh preview.`);
        return;
      }
      const edit = new vscode.WorkspaceEdit();
      edit.replace(doc.uri, range, code);
      const ok = await vscode.workspace.applyEdit(edit);
      if (!ok) void vscode.window.showWarningMessage(`Phi Local: ${name} could not be changed (is it read-only?).`);
      else this.log.info(`Applied a code block to ${doc.uri.toString()} (${what}).`);
    } finally {
      await closeDiffTabs(proposalUri);
      this.proposals.delete(proposalUri);
      if (!doc.isClosed) await vscode.window.showTextDocument(doc, { viewColumn: editor.viewColumn, preserveFocus: false }).then(undefined, () => undefined);
    }
  }

  dispose(): void {
    this.proposals.dispose();
  }
}
