// A small status bar item for inline completions: on or off for the current language (click to toggle), and a
// spinner while the model works on one, so "nothing happens" is never a mystery.
import * as vscode from 'vscode';
import { completionsEnabled, type PhiInlineCompletionProvider } from './inlineCompletionProvider';
import { readCompletionSettings, saveCompletionsEnable } from '../config';

export class CompletionStatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('phiLocal.completions', vscode.StatusBarAlignment.Right, 99);
  private readonly subscriptions: vscode.Disposable[] = [];
  private busy = false;

  constructor(provider: PhiInlineCompletionProvider) {
    this.item.name = 'Phi Local completions';
    this.item.command = 'phiLocal.toggleCompletions';
    this.subscriptions.push(
      this.item,
      provider.onDidChangeBusy((busy) => { this.busy = busy; this.update(); }),
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
      vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('phiLocal.completions')) this.update(); }),
    );
    this.update();
    this.item.show();
  }

  private update(): void {
    const languageId = vscode.window.activeTextEditor?.document.languageId;
    const on = completionsEnabled(languageId ?? '*');
    this.item.text = this.busy ? '$(loading~spin) Phi' : on ? '$(sparkle) Phi' : '$(circle-slash) Phi';
    this.item.tooltip = `Phi inline completions: ${on ? 'on' : 'off'}${languageId ? ` for ${languageId}` : ''}${this.busy ? ' (completing…)' : ''}. Click to turn them ${on ? 'off' : 'on'}.`;
    this.item.accessibilityInformation = { label: this.item.tooltip, role: 'button' };
  }

  dispose(): void {
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}

/** Phi: Toggle Inline Completions: for all languages, or only the current one. */
export async function toggleCompletions(): Promise<void> {
  const languageId = vscode.window.activeTextEditor?.document.languageId;
  const current = { ...((readCompletionSettings().enable as Record<string, boolean> | undefined) ?? {}) };
  const allOn = typeof current['*'] === 'boolean' ? current['*'] : true;
  const items: (vscode.QuickPickItem & { apply: Record<string, boolean> })[] = [
    { label: allOn ? '$(circle-slash) Turn off inline completions' : '$(sparkle) Turn on inline completions', description: 'all languages', apply: { ...current, '*': !allOn } },
  ];
  if (languageId) {
    const langOn = completionsEnabled(languageId);
    items.push({ label: langOn ? `$(circle-slash) Turn off for ${languageId}` : `$(sparkle) Turn on for ${languageId}`, apply: { ...current, [languageId]: !langOn } });
  }
  const pick = await vscode.window.showQuickPick(items, { title: 'Phi inline completions' });
  if (pick) await saveCompletionsEnable(pick.apply);
}
