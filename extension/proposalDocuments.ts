// Read-only virtual documents holding proposed texts, shown on the right of a diff before anything is written.
// Each feature (code-block Apply, refactors, writing tools) gets its own scheme, so none of them shares or drops
// another's texts; editorContext.ts ignores these schemes by name.
import * as path from 'node:path';
import * as vscode from 'vscode';

export class ProposalDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private next = 1;
  private readonly registration: vscode.Disposable;

  constructor(readonly scheme: string) {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(scheme, this);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  /** A URI ending in the file's own name, so the diff highlights its language. */
  add(fileName: string, text: string): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: this.scheme, path: `/${this.next++}/${path.posix.basename(fileName) || 'untitled'}` });
    this.texts.set(uri.toString(), text);
    return uri;
  }

  delete(uri: vscode.Uri): void {
    this.texts.delete(uri.toString());
  }

  dispose(): void {
    this.registration.dispose();
    this.texts.clear();
  }
}

/** The diff tabs showing `proposal` on their right side. */
export function diffTabsOf(proposal: vscode.Uri, tabs: readonly vscode.Tab[] = vscode.window.tabGroups.all.flatMap((g) => g.tabs)): vscode.Tab[] {
  return tabs.filter((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === proposal.toString());
}

/** Closes the diff tabs showing `proposal`; a tab that will not close is left (nothing depends on it). */
export async function closeDiffTabs(proposal: vscode.Uri): Promise<void> {
  const tabs = diffTabsOf(proposal);
  if (tabs.length) await vscode.window.tabGroups.close(tabs).then(undefined, () => undefined);
}
