// Read-only virtual documents holding a writing tool's proposed text, shown on the right of its diff. A scheme of
// their own (not the code blocks' phi-local-proposal) so the two features never share or drop each other's texts.
import * as path from 'node:path';
import * as vscode from 'vscode';

export const TOOL_PROPOSAL_SCHEME = 'phi-local-tool-proposal';

export class ProposalDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private next = 1;
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(TOOL_PROPOSAL_SCHEME, this);

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  /** A URI ending in the file's own name, so the diff highlights its language. */
  add(fileName: string, text: string): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: TOOL_PROPOSAL_SCHEME, path: `/${this.next++}/${path.posix.basename(fileName) || 'untitled'}` });
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
