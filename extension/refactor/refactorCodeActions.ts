// Phi's actions on the lightbulb: with a selection, the refactors and Explain; with problems under the cursor,
// "Fix with Phi". Nothing runs until one is chosen (each is a command), so offering them costs nothing.
import * as vscode from 'vscode';
import { REFACTOR_ACTIONS } from './refactorActions';

const KIND = vscode.CodeActionKind.RefactorRewrite.append('phi');
const FIX = vscode.CodeActionKind.QuickFix.append('phi');

export class RefactorCodeActions implements vscode.CodeActionProvider {
  static readonly metadata: vscode.CodeActionProviderMetadata = { providedCodeActionKinds: [KIND, FIX] };

  provideCodeActions(document: vscode.TextDocument, range: vscode.Range | vscode.Selection, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const wants = (kind: vscode.CodeActionKind) => !context.only || context.only.contains(kind) || kind.contains(context.only);
    const actions: vscode.CodeAction[] = [];
    if (context.diagnostics.length > 0 && wants(FIX)) {
      const fix = new vscode.CodeAction('Fix with Phi', FIX);
      const fixRange = context.diagnostics.reduce((r, d) => r.union(d.range), range as vscode.Range);
      fix.command = { title: 'Fix with Phi', command: 'phiLocal.refactor.run', arguments: ['fix', document.uri, fixRange] };
      fix.diagnostics = [...context.diagnostics];
      actions.push(fix);
    }
    if (!range.isEmpty && wants(KIND)) {
      const explain = new vscode.CodeAction('Explain with Phi', KIND.append('explain'));
      explain.command = { title: 'Explain with Phi', command: 'phiLocal.explain', arguments: [document.uri, range] };
      actions.push(explain);
      for (const a of REFACTOR_ACTIONS) {
        if (a.id === 'fix' && context.diagnostics.length > 0) continue;
        const title = `${a.title.replace(/…$/, '')} with Phi${a.id === 'custom' ? '…' : ''}`;
        const action = new vscode.CodeAction(title, KIND.append(a.id));
        action.command = { title, command: 'phiLocal.refactor.run', arguments: [a.id, document.uri, range] };
        actions.push(action);
      }
    }
    return actions;
  }
}
