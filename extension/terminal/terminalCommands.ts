// Phi in the terminal: "Explain Terminal Selection" and "Explain Last Terminal Command" ask in the chat panel (a new
// chat, the answer streams there and follow-ups work); "Fix This Command" runs a turn (turn/turnRunner.ts) whose
// answer must hold exactly one command (terminalPrompts.ts's extractCommand), shown in a notification with
// "Run in Terminal" and "Copy": nothing runs until that click, and then only by sendText into the terminal.
// The terminal's text comes from terminalContext.ts. A remote engine is asked for consent before anything is sent
// (engineLaunch.ts, when the sidecar starts), as for every turn.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { ChatController } from '../chat/chatController';
import type { EditorContext } from '../chat/editorContext';
import { describeError, type ModelManager } from '../model/modelManager';
import type { SidecarClient } from '../sidecarClient';
import { TurnRunner } from '../turn/turnRunner';
import { lastCommandOutputFromTerminal, shellName, TerminalRecorder, terminalSelection } from './terminalContext';
import { cleanTerminalOutput, explainQuestion, extractCommand, fixMessages, oneLine, plainForNotification, type TerminalText } from './terminalPrompts';

/** A fixed command needs few tokens. */
const FIX_ANSWER_TOKENS = 256;

export interface TerminalChat {
  chat: Pick<ChatController, 'newChat' | 'send'>;
  editors: Pick<EditorContext, 'chips' | 'remove'>;
  openChat(): Promise<void>;
}

export function registerTerminalFeatures(
  context: vscode.ExtensionContext,
  sidecar: SidecarClient,
  models: ModelManager,
  log: vscode.LogOutputChannel,
  chat: TerminalChat,
): void {
  const commands = new TerminalCommands(sidecar, models, log, chat);
  context.subscriptions.push(
    commands,
    vscode.commands.registerCommand('phiLocal.terminal.explainSelection', () => commands.explainSelection()),
    vscode.commands.registerCommand('phiLocal.terminal.explainLastCommand', () => commands.explainLastCommand()),
    vscode.commands.registerCommand('phiLocal.terminal.fixCommand', () => commands.fixCommand()),
  );
}

export class TerminalCommands implements vscode.Disposable {
  private readonly recorder: TerminalRecorder;
  private readonly turns: TurnRunner;
  /** The Fix turn running now: a second one stops it first. */
  private running: vscode.CancellationTokenSource | undefined;

  constructor(sidecar: SidecarClient, models: ModelManager, private readonly log: vscode.LogOutputChannel, private readonly chat: TerminalChat) {
    this.recorder = new TerminalRecorder(log);
    this.turns = new TurnRunner(sidecar, models);
  }

  async explainSelection(): Promise<void> {
    const terminal = this.terminal();
    if (!terminal) return;
    // Asked for on purpose (the key is bound to it only while the terminal has a selection; the terminal's menu cannot
    // tell, VS Code keeps that key in the terminal's own scope), so a copy through the clipboard may be tried.
    const text = await terminalSelection(terminal, { known: true });
    if (!text?.trim()) {
      void vscode.window.showInformationMessage('Phi: nothing is selected in the terminal. Select the text to explain, or run "Phi: Explain Last Terminal Command".');
      return;
    }
    await this.ask(explainQuestion({ source: 'selection', text }));
  }

  async explainLastCommand(): Promise<void> {
    const terminal = this.terminal();
    if (!terminal) return;
    const last = await this.lastCommand(terminal);
    if (!last) return this.noCapture(terminal, 'Explain');
    await this.ask(explainQuestion(last));
  }

  async fixCommand(): Promise<void> {
    const terminal = this.terminal();
    if (!terminal) return;
    let input = await this.lastCommand(terminal);
    if (!input) {
      // No shell integration: the selection (the command and what it printed) stands in.
      const selected = await terminalSelection(terminal, { tryClipboard: true });
      if (selected?.trim()) input = { ...this.where(terminal), source: 'selection', text: selected };
    }
    if (!input) return this.noCapture(terminal, 'Fix');
    await this.fix(terminal, input);
  }

  private terminal(): vscode.Terminal | undefined {
    const terminal = vscode.window.activeTerminal;
    if (!terminal) void vscode.window.showInformationMessage('Phi: no terminal is open. Open one (Terminal: Create New Terminal), run the command, then ask again.');
    return terminal;
  }

  private where(terminal: vscode.Terminal): Pick<TerminalText, 'shell' | 'platform'> {
    const options = terminal.creationOptions as vscode.TerminalOptions;
    const shell = shellName(typeof options?.shellPath === 'string' ? options.shellPath : vscode.env.shell);
    return { shell, platform: process.platform };
  }

  private async lastCommand(terminal: vscode.Terminal): Promise<TerminalText | undefined> {
    const r = await this.recorder.lastCommand(terminal);
    if (!r) return undefined;
    let text = r.output;
    // A quick command's output can miss the stream (terminalContext.ts): the terminal's own copy of it then.
    if (r.ended && !cleanTerminalOutput(text)) {
      this.log.debug(`Terminal: no output of "${oneLine(r.commandLine)}" came through shell integration; reading it from the terminal.`);
      text = (await lastCommandOutputFromTerminal(terminal)) ?? text;
    }
    return {
      ...this.where(terminal),
      source: 'lastCommand', commandLine: r.commandLine, text, exitCode: r.exitCode, running: !r.ended,
      droppedChars: r.droppedChars, cwd: r.cwd,
    };
  }

  /** No command was recorded in this terminal: why, and the way out. */
  private async noCapture(terminal: vscode.Terminal, what: 'Explain' | 'Fix'): Promise<void> {
    const select = what === 'Explain'
      ? 'or select the text in the terminal and run "Phi: Explain Terminal Selection"'
      : 'or select the command and its output in the terminal and run "Phi: Fix This Command" again';
    if (terminal.shellIntegration) {
      void vscode.window.showInformationMessage(`Phi: no command has run in this terminal since Phi started, so there is no output to read. Run the command again, ${select}.`);
      return;
    }
    const enabled = vscode.workspace.getConfiguration('terminal.integrated').get<boolean>('shellIntegration.enabled', true);
    const how = enabled
      ? 'shell integration is not active in it (it needs bash, zsh, fish or PowerShell started by VS Code). Open a new terminal'
      : 'shell integration is off. Turn on "terminal.integrated.shellIntegration.enabled" and open a new terminal';
    const choice = await vscode.window.showWarningMessage(`Phi: no output of the last command was captured in this terminal: ${how}, ${select}.`, ...(enabled ? [] : ['Open Setting']));
    if (choice === 'Open Setting') await vscode.commands.executeCommand('workbench.action.openSettings', 'terminal.integrated.shellIntegration.enabled');
  }

  /** A new chat with the question: the answer streams into the chat panel. The editor's context does not go along. */
  private async ask(question: string): Promise<void> {
    await this.chat.openChat();
    this.chat.chat.newChat();
    for (const chip of this.chat.editors.chips()) this.chat.editors.remove(chip.id);
    void this.chat.chat.send(question);
  }

  private async fix(terminal: vscode.Terminal, input: TerminalText): Promise<void> {
    this.running?.cancel();
    const source = new vscode.CancellationTokenSource();
    this.running = source;
    try {
      const outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Phi: Fix This Command', cancellable: true },
        async (progress, cancel) => {
          const sub = cancel.onCancellationRequested(() => source.cancel());
          try {
            progress.report({ message: 'thinking… (Cancel stops it)' });
            return await this.turns.run({
              purpose: 'explain', turnId: `terminal-fix-${randomUUID()}`, messages: fixMessages(input),
              answerTokens: (_model, setting) => Math.min(FIX_ANSWER_TOKENS, setting),
            }, { onProgress: { everyMs: 1000, report: () => undefined } }, source.token);
          } finally {
            sub.dispose();
          }
        },
      );
      if (outcome.cancelled) {
        vscode.window.setStatusBarMessage('$(debug-stop) Phi: Fix This Command stopped.', 4000);
        return;
      }
      const found = extractCommand(outcome.result.text);
      if (found.command === undefined) {
        this.log.info(`Fix This Command: no command proposed (${found.reason}). The answer: ${outcome.result.text}`);
        const choice = await vscode.window.showWarningMessage(plainForNotification(`Phi did not propose one command: ${found.reason}.${found.note ? ` It said: ${found.note}` : ''}`), 'Explain in Chat');
        if (choice) await this.ask(explainQuestion(input));
        return;
      }
      await this.propose(terminal, found.command, found.note);
    } catch (e) {
      const message = describeError(e);
      this.log.error(`Fix This Command failed: ${message}`);
      void vscode.window.showErrorMessage(`Phi: Fix This Command failed: ${message}`, 'Show Logs').then((c) => { if (c) this.log.show(true); });
    } finally {
      if (this.running === source) this.running = undefined;
      source.dispose();
    }
  }

  /** The command, shown whole; it runs only on "Run in Terminal", in the terminal it is about. */
  private async propose(terminal: vscode.Terminal, command: string, note: string): Promise<void> {
    // Shown as plain text (no links), whole; what runs is `command` itself.
    const choice = await vscode.window.showInformationMessage(plainForNotification(`Phi proposes: ${command}${note ? ` — ${note}` : ''}`), 'Run in Terminal', 'Copy');
    if (choice === 'Run in Terminal') {
      const target = vscode.window.terminals.includes(terminal) ? terminal : (vscode.window.activeTerminal ?? vscode.window.createTerminal());
      target.show();
      target.sendText(command, true);
      this.log.info(`Fix This Command: ran "${oneLine(command, 200)}" in the terminal (the user clicked Run in Terminal).`);
    } else if (choice === 'Copy') {
      await vscode.env.clipboard.writeText(command);
      vscode.window.setStatusBarMessage('$(copy) Phi: the command is on the clipboard.', 4000);
    }
  }

  dispose(): void {
    this.running?.cancel();
    this.recorder.dispose();
  }
}
