// The context the next chat message takes along: the selection in the active editor when there is one, else the
// active file. Shown as a chip the user can remove; once removed (or sent), it stays off until the selection or
// the file changes, so the same context is not sent with every message.
import * as vscode from 'vscode';
import { chipLabel, chipTitle, MAX_CHIP_CHARS, truncate, type ContextChip } from './contextChips';
import type { ChipView } from './webviewProtocol';

/** Documents that are not the user's code. */
const IGNORED_SCHEMES = new Set(['output', 'debug', 'vscode-settings', 'phi-local-proposal', 'phi-local-refactor', 'phi-local-tool-proposal', 'comment', 'git', 'walkThroughSnippet']);
/** A whole file sent as context is cut shorter than a selection: it was not chosen on purpose. */
const MAX_FILE_CHARS = 8_000;

export class EditorContext implements vscode.Disposable {
  private editor: vscode.TextEditor | undefined;
  /** Keys of chips the user removed or already sent. */
  private readonly suppressed = new Set<string>();
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changeEmitter.event;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    this.editor = this.usable(vscode.window.activeTextEditor);
    this.subscriptions.push(
      this.changeEmitter,
      vscode.window.onDidChangeActiveTextEditor((e) => {
        const editor = this.usable(e);
        if (editor) {
          if (editor.document !== this.editor?.document) this.suppressed.clear();
          this.editor = editor;
        } else if (this.editor && !vscode.window.visibleTextEditors.includes(this.editor)) {
          this.editor = undefined;
        }
        this.changedSoon();
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (e.textEditor === this.editor || (!this.editor && this.usable(e.textEditor))) {
          this.editor = e.textEditor;
          this.changedSoon();
        }
      }),
      vscode.window.onDidChangeVisibleTextEditors((editors) => {
        if (this.editor && !editors.includes(this.editor)) {
          this.editor = this.usable(vscode.window.activeTextEditor);
          this.changedSoon();
        }
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        if (doc === this.editor?.document) {
          this.editor = undefined;
          this.changedSoon();
        }
      }),
    );
  }

  /** The editor code blocks are inserted into and applied to: the active one, or the last one that was. */
  get targetEditor(): vscode.TextEditor | undefined {
    const active = this.usable(vscode.window.activeTextEditor);
    if (active) return active;
    return this.editor && vscode.window.visibleTextEditors.includes(this.editor) ? this.editor : undefined;
  }

  private usable(editor: vscode.TextEditor | undefined): vscode.TextEditor | undefined {
    return editor && !IGNORED_SCHEMES.has(editor.document.uri.scheme) ? editor : undefined;
  }

  private changedSoon(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.changeEmitter.fire();
    }, 120);
  }

  /** The chip the active editor offers now (with its text), unless suppressed. */
  private candidate(): { key: string; chip: ContextChip } | undefined {
    const editor = this.editor;
    if (!editor || editor.document.isClosed) return undefined;
    const doc = editor.document;
    const relative = vscode.workspace.asRelativePath(doc.uri, false);
    const selection = editor.selection;
    if (!selection.isEmpty) {
      const startLine = selection.start.line + 1;
      // A selection that ends at the start of a line does not include that line.
      const endLine = selection.end.character === 0 && selection.end.line > selection.start.line ? selection.end.line : selection.end.line + 1;
      const key = `selection:${doc.uri.toString()}:${selection.start.line}:${selection.start.character}-${selection.end.line}:${selection.end.character}`;
      const { text, truncated } = truncate(doc.getText(selection), MAX_CHIP_CHARS);
      if (text.trim().length === 0) return undefined;
      return { key, chip: { id: key, kind: 'selection', path: relative, languageId: doc.languageId, text, startLine, endLine, truncated } };
    }
    const key = `file:${doc.uri.toString()}`;
    const { text, truncated } = truncate(doc.getText(), MAX_FILE_CHARS);
    if (text.trim().length === 0) return undefined;
    return { key, chip: { id: key, kind: 'file', path: relative, languageId: doc.languageId, text, truncated } };
  }

  /** The chips to show above the prompt. */
  chips(): ChipView[] {
    const c = this.candidate();
    if (!c || this.suppressed.has(c.key)) return [];
    return [{ id: c.chip.id, kind: c.chip.kind, label: chipLabel(c.chip), title: chipTitle(c.chip) }];
  }

  remove(id: string): void {
    this.suppressed.add(id);
    this.changeEmitter.fire();
  }

  /** The chips that go with a message being sent now (their text read now); they are then marked as sent. */
  take(): ContextChip[] {
    const c = this.candidate();
    if (!c || this.suppressed.has(c.key)) return [];
    this.suppressed.add(c.key);
    this.changeEmitter.fire();
    return [c.chip];
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}
