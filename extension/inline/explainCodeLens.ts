// "Explain" above every function, method and class (from the language's document symbols), unless
// `phiLocal.explain.codeLens` is off. Nothing runs until it is clicked.
import * as vscode from 'vscode';
import { codeSymbols } from '../refactor/targetRange';
import { readExplainCodeLens } from '../config';

export class ExplainCodeLens implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changeEmitter.event;
  private readonly subscription = vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration('phiLocal.explain.codeLens')) this.changeEmitter.fire();
  });

  async provideCodeLenses(document: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    if (!readExplainCodeLens()) return [];
    return (await codeSymbols(document)).map((s) => new vscode.CodeLens(new vscode.Range(s.range.start, s.range.start), {
      title: '$(sparkle) Explain',
      tooltip: `Phi explains ${s.name}`,
      command: 'phiLocal.explain',
      arguments: [document.uri, s.range],
    }));
  }

  dispose(): void {
    this.subscription.dispose();
    this.changeEmitter.dispose();
  }
}
