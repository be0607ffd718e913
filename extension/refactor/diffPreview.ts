// Shows a proposed change of a range as a diff (the file on the left, the file with the change on the right) with
// Accept / Discard: in a notification, and as buttons on the diff editor's title. Accept applies it as one
// WorkspaceEdit of that range only (so one undo restores the file), and only if the file did not change since.
// Closing the diff tab discards the proposal, so a later Accept never applies a change the user no longer sees.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { closeDiffTabs, diffTabsOf, ProposalDocuments } from '../proposalDocuments';

export const REFACTOR_SCHEME = 'phi-local-refactor';

interface Pending {
  document: vscode.TextDocument;
  version: number;
  range: vscode.Range;
  code: string;
  proposal: vscode.Uri;
  title: string;
  viewColumn: vscode.ViewColumn | undefined;
  settle(accepted: boolean): void;
}

export class DiffPreview implements vscode.Disposable {
  private readonly proposals = new ProposalDocuments(REFACTOR_SCHEME);
  private readonly pending = new Map<string, Pending>();
  private readonly tabWatch = vscode.window.tabGroups.onDidChangeTabs((e) => this.discardClosed(e.closed));

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** Opens the diff and resolves once the user accepted (true, applied) or discarded (false). */
  async propose(editor: vscode.TextEditor, range: vscode.Range, code: string, title: string): Promise<boolean> {
    const document = editor.document;
    const original = document.getText();
    const proposed = original.slice(0, document.offsetAt(range.start)) + code + original.slice(document.offsetAt(range.end));
    const name = path.posix.basename(document.uri.path) || 'Untitled';
    const proposal = this.proposals.add(document.uri.path, proposed);
    const decided = new Promise<boolean>((resolve) => {
      this.pending.set(proposal.toString(), {
        document, version: document.version, range, code, proposal, title, viewColumn: editor.viewColumn,
        settle: resolve,
      });
    });
    await this.setContext();
    const lines = `lines ${range.start.line + 1}–${range.end.line + 1}`;
    await vscode.commands.executeCommand('vscode.diff', document.uri, proposal, `${name} ↔ Phi: ${title} (${lines})`, { preview: true, viewColumn: editor.viewColumn });
    void vscode.window.showInformationMessage(`Phi: ${title} — apply the change to ${name} (${lines})?`, 'Accept', 'Discard').then((choice) => {
      // Only this proposal: if it was settled meanwhile (its tab closed), the answer must not act on another one.
      if (!this.pending.has(proposal.toString())) return;
      if (choice === 'Accept') void this.accept(proposal);
      else if (choice === 'Discard') void this.discard(proposal);
    });
    return decided;
  }

  /** The pending proposal shown at `uri` (the diff's right side), or the latest one. */
  private find(uri?: vscode.Uri): Pending | undefined {
    if (uri && this.pending.has(uri.toString())) return this.pending.get(uri.toString());
    return [...this.pending.values()].pop();
  }

  async accept(uri?: vscode.Uri): Promise<void> {
    const p = this.find(uri);
    if (!p) return;
    await this.close(p);
    const name = path.posix.basename(p.document.uri.path);
    if (p.document.isClosed || p.document.version !== p.version) {
      void vscode.window.showWarningMessage(`Phi Local: ${name} changed since the preview, so nothing was applied. Run the action again for a fresh preview.`);
      p.settle(false);
      return;
    }
    const edit = new vscode.WorkspaceEdit();
    edit.replace(p.document.uri, p.range, p.code);
    const ok = await vscode.workspace.applyEdit(edit);
    if (!ok) void vscode.window.showWarningMessage(`Phi Local: ${name} could not be changed (is it read-only?).`);
    else this.log.info(`${p.title}: applied to ${p.document.uri.toString()} (lines ${p.range.start.line + 1}–${p.range.end.line + 1}).`);
    await vscode.window.showTextDocument(p.document, { viewColumn: p.viewColumn, preserveFocus: false }).then(undefined, () => undefined);
    p.settle(ok);
  }

  async discard(uri?: vscode.Uri): Promise<void> {
    const p = this.find(uri);
    if (!p) return;
    await this.close(p);
    if (!p.document.isClosed) await vscode.window.showTextDocument(p.document, { viewColumn: p.viewColumn }).then(undefined, () => undefined);
    p.settle(false);
  }

  /** The user closed a proposal's diff tab (without Accept or Discard): it is discarded. */
  private discardClosed(closed: readonly vscode.Tab[]): void {
    const gone = [...this.pending.values()].filter((p) => diffTabsOf(p.proposal, closed).length > 0 && diffTabsOf(p.proposal).length === 0);
    if (!gone.length) return;
    for (const p of gone) {
      this.pending.delete(p.proposal.toString());
      this.proposals.delete(p.proposal);
      this.log.info(`${p.title}: discarded (its diff was closed).`);
      p.settle(false);
    }
    void this.setContext();
  }

  private async close(p: Pending): Promise<void> {
    this.pending.delete(p.proposal.toString());
    await this.setContext();
    await closeDiffTabs(p.proposal);
    this.proposals.delete(p.proposal);
  }

  private async setContext(): Promise<void> {
    await vscode.commands.executeCommand('setContext', 'phiLocal.refactorPreview', this.pending.size > 0);
  }

  dispose(): void {
    for (const p of this.pending.values()) p.settle(false);
    this.pending.clear();
    this.tabWatch.dispose();
    this.proposals.dispose();
  }
}
