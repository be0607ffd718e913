// Phi in the editor, outside the chat: inline completions, inline explanations and refactor actions. One call from
// activate() registers their providers, commands and status item.
import * as vscode from 'vscode';
import type { Conversation } from '../chat/conversation';
import type { ModelManager } from '../model/modelManager';
import { DiffPreview } from '../refactor/diffPreview';
import { RefactorCodeActions } from '../refactor/refactorCodeActions';
import type { RefactorId } from '../refactor/refactorActions';
import { RefactorRunner } from '../refactor/refactorRunner';
import { CommitMessageCommand } from '../scm/commitMessageCommand';
import type { SidecarClient } from '../sidecarClient';
import { CompletionStatusItem, toggleCompletions } from './completionStatusItem';
import { ExplainCodeLens } from './explainCodeLens';
import { ExplainController } from './explainController';
import { PhiInlineCompletionProvider } from './inlineCompletionProvider';

/** Where Phi offers completions, explanations and refactors: files and unsaved documents, not output or settings. */
const DOCUMENTS: vscode.DocumentSelector = [{ scheme: 'file' }, { scheme: 'untitled' }, { scheme: 'vscode-remote' }];

export function registerEditorFeatures(
  context: vscode.ExtensionContext,
  sidecar: SidecarClient,
  models: ModelManager,
  log: vscode.LogOutputChannel,
  openInChat: (conversation: Conversation) => Promise<void>,
): void {
  const completions = new PhiInlineCompletionProvider(sidecar, models, log, context.globalState);
  const explain = new ExplainController(sidecar, models, log, openInChat);
  const lenses = new ExplainCodeLens();
  const preview = new DiffPreview(log);
  const refactors = new RefactorRunner(sidecar, models, preview, log);
  const commitMessage = new CommitMessageCommand(sidecar, models, log);
  context.subscriptions.push(
    completions, new CompletionStatusItem(completions), explain, lenses, preview, commitMessage,
    vscode.languages.registerInlineCompletionItemProvider(DOCUMENTS, completions),
    vscode.languages.registerCodeLensProvider(DOCUMENTS, lenses),
    vscode.languages.registerCodeActionsProvider(DOCUMENTS, new RefactorCodeActions(), RefactorCodeActions.metadata),
  );
  const run = (id: RefactorId) => () => refactors.run(id);
  const commands: Record<string, (...args: never[]) => unknown> = {
    'phiLocal.triggerCompletion': () => vscode.commands.executeCommand('editor.action.inlineSuggest.trigger'),
    'phiLocal.toggleCompletions': toggleCompletions,
    'phiLocal.explain': (uri?: vscode.Uri, range?: vscode.Range) => explain.explain(uri instanceof vscode.Uri ? uri : undefined, range instanceof vscode.Range ? range : undefined),
    'phiLocal.explain.reply': (reply: vscode.CommentReply) => explain.reply(reply),
    'phiLocal.explain.stop': (thread?: vscode.CommentThread) => explain.stop(thread),
    'phiLocal.explain.dismiss': (thread: vscode.CommentThread) => explain.dismiss(thread),
    'phiLocal.explain.continueInChat': (thread: vscode.CommentThread) => explain.continueInChat(thread),
    'phiLocal.refactor.run': (id: RefactorId, uri?: vscode.Uri, range?: vscode.Range) => refactors.run(id, uri, range),
    'phiLocal.refactor.document': run('document'),
    'phiLocal.refactor.fix': run('fix'),
    'phiLocal.refactor.simplify': run('simplify'),
    'phiLocal.refactor.addTypes': run('addTypes'),
    'phiLocal.refactor.generateTests': run('generateTests'),
    'phiLocal.refactor.custom': run('custom'),
    'phiLocal.refactor.accept': (uri?: vscode.Uri) => preview.accept(uri instanceof vscode.Uri ? uri : undefined),
    'phiLocal.writeCommitMessage': (scm?: { rootUri?: vscode.Uri }) => commitMessage.run(scm),
    'phiLocal.refactor.discard': (uri?: vscode.Uri) => preview.discard(uri instanceof vscode.Uri ? uri : undefined),
  };
  for (const [id, handler] of Object.entries(commands)) context.subscriptions.push(vscode.commands.registerCommand(id, handler));
}
