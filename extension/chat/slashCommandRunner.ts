// Runs the chat's slash commands (slashCommands.ts has the list and builds the messages): `/explain`, `/fix`,
// `/tests`, `/doc` send a chat turn with the editor's selection (or file) as the message's context; `/new` and
// `/clear` are the panel's New chat and delete-this-conversation; a prompt file's `/<name>` sends its body with the
// variables filled in. Keeps the webview's completion list up to date as the prompt files change.
import * as vscode from 'vscode';
import type { ContextChip } from './contextChips';
import type { EditorContext } from './editorContext';
import type { PromptFileReader } from './promptFileReader';
import { buildCodeMessage, buildPromptMessage, codeChip, commandList, completionItems, findCommand, promptTakesContext, type SlashCommand } from './slashCommands';
import type { ToWebview } from './webviewProtocol';

/** What the chat does for a command. */
export interface SlashTurns {
  /** Sends a user message; `context` replaces the editor's chip. */
  send(text: string, context?: ContextChip[]): Promise<void>;
  newChat(): void;
  /** Clears (deletes) the open conversation. */
  clearChat(): void;
}

export class SlashCommandRunner implements vscode.Disposable {
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly editors: EditorContext,
    private readonly prompts: PromptFileReader,
    private readonly turns: SlashTurns,
    private readonly post: (message: ToWebview) => void,
  ) {
    this.subscription = prompts.onDidChange(() => void this.postCompletions());
  }

  private async commands(): Promise<SlashCommand[]> {
    return commandList(await this.prompts.list());
  }

  /** Sends the webview the completion list. */
  async postCompletions(): Promise<void> {
    this.post({ type: 'completions', items: completionItems(await this.commands()) });
  }

  /** Runs `text` if it is a command; false when it is ordinary text (an unknown `/word` too), for the caller to send. */
  async run(text: string): Promise<boolean> {
    if (!text.trimStart().startsWith('/')) return false;
    const found = findCommand(text, await this.commands());
    if (!found) return false;
    const { command, args } = found;
    switch (command.kind) {
      case 'new':
        this.turns.newChat();
        return true;
      case 'clear':
        this.turns.clearChat();
        return true;
      case 'code': {
        const chip = this.codeAtHand();
        if (!chip) {
          this.post({ type: 'notice', text: `/${command.name} works on code: open a file in the editor (and select the code you mean), then try again.` });
          return true;
        }
        // The editor's own chip would send the same code again with the next message: it counts as sent.
        this.editors.take();
        await this.turns.send(buildCodeMessage(command, args), [chip]);
        return true;
      }
      case 'prompt': {
        const editor = this.editors.targetEditor;
        const doc = editor?.document;
        const folder = doc ? vscode.workspace.getWorkspaceFolder(doc.uri) : vscode.workspace.workspaceFolders?.[0];
        const message = buildPromptMessage(command, args, {
          selection: editor ? doc?.getText(editor.selection) : undefined,
          file: doc ? vscode.workspace.asRelativePath(doc.uri, false) : undefined,
          workspaceFolder: folder?.uri.fsPath,
          workspaceFolderBasename: folder?.name,
        });
        await this.turns.send(message, promptTakesContext(command) ? undefined : []);
        return true;
      }
    }
  }

  /** The selection in the editor at hand, else its whole file; undefined with no editor (or an empty file). */
  private codeAtHand(): ContextChip | undefined {
    const editor = this.editors.targetEditor;
    if (!editor || editor.document.isClosed) return undefined;
    const doc = editor.document;
    const s = editor.selection;
    return codeChip({
      path: vscode.workspace.asRelativePath(doc.uri, false),
      languageId: doc.languageId,
      fileText: doc.getText(),
      selection: s.isEmpty ? undefined : { text: doc.getText(s), start: s.start, end: s.end },
    });
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
