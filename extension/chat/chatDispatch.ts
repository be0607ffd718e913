// Where each message from the chat webview goes: the turn commands to the controller, the rest straight to the part
// that owns it (context chips, code-block actions, banner, consent cards).
import * as vscode from 'vscode';
import type { ChatBanner } from './chatBanner';
import type { CodeBlockActions } from './codeBlockActions';
import type { EditorContext } from './editorContext';
import type { SlashCommandRunner } from './slashCommandRunner';
import type { ToolStepBroker } from './toolStepBroker';
import type { BannerAction, FromWebview } from './webviewProtocol';

/** What the controller does for the webview. */
export interface ChatTurns {
  ready(): void;
  send(text: string): Promise<void>;
  stop(): void;
  newChat(): void;
  retry(messageId: string): Promise<void>;
  /** Opens entry `index` of an `@workspace` answer's Sources list at its line. */
  openSource?(messageId: string, index: number): Promise<void>;
}

export interface ChatParts {
  turns: ChatTurns;
  editors: EditorContext;
  actions: CodeBlockActions;
  banner: ChatBanner;
  steps: ToolStepBroker;
  /** Slash commands (`/explain`, `/new`, prompt files); without it every message is sent as typed. */
  slash?: Pick<SlashCommandRunner, 'run'>;
}

const BANNER_COMMANDS: Record<BannerAction, [string, ...unknown[]]> = {
  downloadModel: ['phiLocal.downloadModel', { recommended: true }],
  selectModelFolder: ['phiLocal.selectModelFolder'],
  showLogs: ['phiLocal.showLogs'],
  restartSidecar: ['phiLocal.restartSidecar'],
  openSettings: ['workbench.action.openSettings', 'phiLocal'],
};

export async function dispatchWebviewMessage(message: FromWebview, parts: ChatParts): Promise<void> {
  switch (message.type) {
    case 'ready': return parts.turns.ready();
    case 'send':
      if (await parts.slash?.run(message.text)) return;
      return parts.turns.send(message.text);
    case 'stop': return parts.turns.stop();
    case 'newChat': return parts.turns.newChat();
    case 'retry': return parts.turns.retry(message.messageId);
    case 'removeChip': return parts.editors.remove(message.id);
    case 'copy': return parts.actions.copy(message.code);
    case 'insert': return parts.actions.insert(message.code, message.language);
    case 'apply': return parts.actions.apply(message.code);
    case 'action':
      await vscode.commands.executeCommand(...BANNER_COMMANDS[message.action]);
      return;
    case 'dismissBanner': return parts.banner.dismiss();
    case 'focusChanged':
      await vscode.commands.executeCommand('setContext', 'phiLocal.chatFocused', message.focused);
      return;
    case 'consent': return parts.steps.answer(message.messageId, message.stepId, message.choice);
    case 'showDiff': return parts.steps.showDiff(message.messageId, message.stepId);
    case 'openSource': return parts.turns.openSource?.(message.messageId, message.index);
  }
}
