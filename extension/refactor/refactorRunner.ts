// Runs a refactor action: the code in range (targetRange.ts) and its problems go to the model as a chat turn (an
// interactive request: it goes before completions), with a progress notification whose Cancel is Stop; the code
// is taken out of the answer (editExtraction.ts) and shown as a diff with Accept / Discard (diffPreview.ts).
// Generate Tests opens its answer as a new untitled file instead: it changes nothing that exists.
import * as vscode from 'vscode';
import { describeError, type ModelManager } from '../model/modelManager';
import type { SidecarClient } from '../sidecarClient';
import { TurnRunner, type TurnOutcome } from '../turn/turnRunner';
import type { DiffPreview } from './diffPreview';
import { extractEdit } from './editExtraction';
import { refactorAction, refactorMessages, type RefactorId } from './refactorActions';
import { targetRange } from './targetRange';
import { instructionsFor } from '../instructions/instructionsReader';
import { withInstructions } from '../instructions/projectInstructions';

const CONTEXT_LINES = 20;

export class RefactorRunner {
  private readonly turns: TurnRunner;

  constructor(
    sidecar: SidecarClient,
    models: ModelManager,
    private readonly preview: DiffPreview,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.turns = new TurnRunner(sidecar, models);
  }

  /** `uri` and `range` come from a code action; from the palette, the active editor's selection is used. */
  async run(id: RefactorId, uri?: vscode.Uri, range?: vscode.Range): Promise<void> {
    const action = refactorAction(id);
    if (!action) return;
    const editor = uri
      ? (vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString()) ?? await vscode.window.showTextDocument(uri))
      : vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage(`Phi: ${action.title} works on the code in an editor: open a file and select the code.`);
      return;
    }
    const doc = editor.document;
    const target = range ? new vscode.Range(range.start.line, 0, range.end.line, doc.lineAt(range.end.line).text.length) : await targetRange(editor);
    let instruction: string | undefined;
    if (action.id === 'custom') {
      instruction = await vscode.window.showInputBox({ title: 'Phi: Edit with Instructions', prompt: 'What should change in the selected code?', placeHolder: 'e.g. use async/await instead of callbacks' });
      if (!instruction?.trim()) return;
    }
    const problems = vscode.languages.getDiagnostics(doc.uri)
      .filter((d) => d.range.intersection(target) !== undefined)
      .map((d) => `line ${d.range.start.line + 1 - target.start.line}: ${d.message}`);
    const code = doc.getText(target);
    const instructions = await instructionsFor(action.title, doc.uri);
    const messages = withInstructions(refactorMessages(action, {
      path: vscode.workspace.asRelativePath(doc.uri, false),
      languageId: doc.languageId,
      code,
      before: doc.getText(new vscode.Range(Math.max(0, target.start.line - CONTEXT_LINES), 0, target.start.line, 0)),
      after: target.end.line + 1 < doc.lineCount ? doc.getText(new vscode.Range(target.end.line + 1, 0, Math.min(doc.lineCount - 1, target.end.line + CONTEXT_LINES), 0)) : '',
      problems,
      instruction,
    }), instructions.text);
    const title = action.id === 'custom' ? `Edit (${instruction!.trim().slice(0, 40)})` : action.title;
    const version = doc.version;

    let outcome: TurnOutcome;
    try {
      outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Phi: ${title}`, cancellable: true },
        (progress, token) => {
          progress.report({ message: 'loading the model…' });
          return this.turns.run({ purpose: 'refactor', messages }, {
            onModelReady: () => progress.report({ message: 'thinking…' }),
            onProgress: { everyMs: 250, report: (soFar) => progress.report({ message: `writing… ${soFar.split('\n').length} lines (Cancel stops it)` }) },
          }, token);
        },
      );
    } catch (e) {
      void vscode.window.showErrorMessage(`Phi: ${title} failed: ${describeError(e)}`, 'Show Logs').then((c) => { if (c) this.log.show(true); });
      return;
    }
    if (outcome.cancelled) {
      // Stopped while the model wrote: say so (stopped while it loaded, nothing was asked yet).
      if (outcome.result) vscode.window.setStatusBarMessage(`$(debug-stop) Phi: ${title} stopped; nothing changed.`, 4000);
      return;
    }
    const { text: answer, finishReason: finish } = outcome.result;
    const edit = extractEdit(answer, { original: code, languageId: doc.languageId });
    if (!edit) {
      this.log.info(`${title}: the answer held no code:\n${answer}`);
      const choice = await vscode.window.showWarningMessage(`Phi: ${title}: the answer held no code to apply.`, 'Show Answer');
      if (choice) await vscode.window.showTextDocument(await vscode.workspace.openTextDocument({ content: answer, language: 'markdown' }));
      return;
    }
    if (edit.partial || finish === 'length') {
      void vscode.window.showWarningMessage(`Phi: ${title}: the answer was cut short, so the change may be incomplete. Check the diff before accepting.`);
    }
    if (action.output === 'newFile') {
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument({ content: edit.code, language: doc.languageId }), { viewColumn: vscode.ViewColumn.Beside });
      return;
    }
    if (doc.version !== version) {
      void vscode.window.showWarningMessage(`Phi: ${title}: the file changed while Phi was writing, so the change was not shown. Run it again.`);
      return;
    }
    await this.preview.propose(editor, target, edit.code, title);
  }
}
