// How a writing tool changes a file: the proposed text is shown as a diff, the user answers on the consent card in
// the chat (Allow once / Allow for this chat / Deny), and only on Allow is the change applied, as one
// WorkspaceEdit, so one undo in the file's editor reverts it. The file is left unsaved, like any edit, and shown.
// Denied or cancelled, nothing is written and the model is told. The path is resolved again right before writing:
// a link swapped while the card waited must not carry the write elsewhere (or outside the workspace).
import * as vscode from 'vscode';
import type { ToolResult } from '../../sidecar/protocol';
import { resolveForTool } from './fileText';
import { closeDiffTabs, type ProposalDocuments } from '../proposalDocuments';
import { ToolError, type ToolContext } from './toolTypes';
import type { ResolvedPath } from './workspacePaths';

export interface ProposedChange {
  tool: string;
  uri: vscode.Uri;
  display: string;
  /** Where the path led when the change was proposed; checked again right before writing. */
  resolved: ResolvedPath;
  /** The file's text the change was computed from; undefined for a new file. */
  original: string | undefined;
  /** The file's whole text after the change. */
  proposed: string;
  /** Consent card: "Edit src/app.py (line 3)". */
  title: string;
  detail: string;
  /** The edit, built against the document as it is when the user allows it (its text is `original` then). */
  edit(document: vscode.TextDocument | undefined): vscode.WorkspaceEdit;
  /** Where to put the cursor after applying (offset into the new text). */
  revealOffset?: number;
  /** What the model is told on success. */
  done: string;
}

const STOPPED: ToolResult = { content: 'The user stopped the turn; nothing was written.', isError: true };

export async function confirmAndApply(change: ProposedChange, proposals: ProposalDocuments, context: ToolContext): Promise<ToolResult> {
  if (!context.preapproved) {
    const proposalUri = proposals.add(change.display, change.proposed);
    const originalUri = change.original === undefined ? proposals.add(change.display, '') : change.uri;
    const showDiff = async () => {
      await vscode.commands.executeCommand('vscode.diff', originalUri, proposalUri, `${change.display} ↔ Phi's proposed change`, { preview: true, preserveFocus: true });
    };
    let decision;
    try {
      await showDiff().catch(() => undefined); // the card still asks; it has a Show diff button
      decision = await context.confirm({ kind: 'edit', tool: change.tool, title: change.title, detail: change.detail, showDiff });
    } finally {
      await closeDiffTabs(proposalUri);
      proposals.delete(proposalUri);
      if (originalUri !== change.uri) proposals.delete(originalUri);
    }
    if (context.token.isCancellationRequested) return STOPPED;
    if (decision === 'deny') {
      return {
        content: `The user denied this change to ${change.display}; nothing was written. Do not make the same change again; ask the user what they want instead.`,
        denied: true,
      };
    }
  }

  let document: vscode.TextDocument | undefined;
  if (change.original !== undefined) {
    document = await vscode.workspace.openTextDocument(change.uri);
    if (document.getText() !== change.original) {
      throw new ToolError(`${change.display} changed while the user was deciding, so nothing was written. Read it again with read_file, then make the edit again.`);
    }
  }
  const now = await resolveForTool(change.resolved.display, context.roots);
  if (now.absolute !== change.resolved.absolute || now.real !== change.resolved.real) {
    throw new ToolError(`${change.display} now leads somewhere else (a symbolic link on its path changed), so nothing was written.`);
  }
  // Allowed earlier for this chat, or the turn was stopped while the document opened: write nothing after a stop.
  if (context.token.isCancellationRequested) return STOPPED;
  const ok = await vscode.workspace.applyEdit(change.edit(document), { isRefactoring: false });
  if (!ok) throw new ToolError(`${change.display} could not be changed (it may be read-only, or it was created meanwhile).`);
  const editor = await vscode.window.showTextDocument(change.uri, { preview: false, preserveFocus: true }).then(undefined, () => undefined);
  if (editor && change.revealOffset !== undefined) {
    const at = editor.document.positionAt(change.revealOffset);
    editor.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }
  return { content: change.done };
}
