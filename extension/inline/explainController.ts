// "Phi: Explain": the explanation streams into a comment thread anchored at the code (VS Code's comments API:
// it sits in the editor, between the lines, and has a reply box for follow-up questions). The thread's title bar
// has Stop (while the model writes), Continue in Chat, and Dismiss.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { Conversation } from '../chat/conversation';
import { describeError, type ModelManager } from '../model/modelManager';
import type { SidecarClient } from '../sidecarClient';
import { targetRange, wholeLines } from '../refactor/targetRange';
import { TurnRunner } from '../turn/turnRunner';
import { instructionsFor } from '../instructions/instructionsReader';
import { withInstructions } from '../instructions/projectInstructions';
import { explainMessages, explanationFor, toConversation, type Explanation } from './explainConversation';

export const EXPLAIN_CONTROLLER_ID = 'phiLocal.explain';

class ExplainComment implements vscode.Comment {
  body: vscode.MarkdownString;
  mode = vscode.CommentMode.Preview;
  constructor(readonly author: vscode.CommentAuthorInformation, text: string, public contextValue?: string) {
    this.body = ExplainComment.markdown(text);
  }

  /** Model output is untrusted: no HTML, no command links. */
  static markdown(text: string): vscode.MarkdownString {
    const md = new vscode.MarkdownString(text);
    md.isTrusted = false;
    md.supportHtml = false;
    return md;
  }
}

interface ThreadState {
  explanation: Explanation;
  /** The file explained: the project instructions that apply to it go into the system prompt. */
  uri: vscode.Uri;
  cts?: vscode.CancellationTokenSource;
}

export class ExplainController implements vscode.Disposable {
  private readonly controller = vscode.comments.createCommentController(EXPLAIN_CONTROLLER_ID, 'Phi');
  private readonly threads = new Map<vscode.CommentThread, ThreadState>();
  private readonly turns: TurnRunner;

  constructor(
    sidecar: SidecarClient,
    models: ModelManager,
    private readonly log: vscode.LogOutputChannel,
    private readonly openInChat: (conversation: Conversation) => Promise<void>,
  ) {
    this.turns = new TurnRunner(sidecar, models);
    // Threads are created by the Explain command only, never from the gutter's "+".
    this.controller.options = { prompt: 'Ask a follow-up question…', placeHolder: 'Ask Phi about this code' };
  }

  async explain(uri?: vscode.Uri, range?: vscode.Range): Promise<void> {
    const editor = uri
      ? (vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString()) ?? await vscode.window.showTextDocument(uri))
      : vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('Phi: Explain works on the code in an editor: open a file and select the code.');
      return;
    }
    const doc = editor.document;
    const target = range ? wholeLines(doc, range) : await targetRange(editor);
    const explanation = explanationFor(vscode.workspace.asRelativePath(doc.uri, false), doc.languageId, doc.getText(target), target.start.line + 1, target.end.line + 1);
    const thread = this.controller.createCommentThread(doc.uri, target, []);
    thread.label = `Phi: Explain (lines ${target.start.line + 1}–${target.end.line + 1})`;
    thread.canReply = true;
    thread.collapsibleState = vscode.CommentThreadCollapsibleState.Expanded;
    const state: ThreadState = { explanation, uri: doc.uri };
    this.threads.set(thread, state);
    await this.answer(thread, state);
  }

  /** The reply box's "Ask" button: a follow-up question in the same thread. */
  async reply(reply: vscode.CommentReply): Promise<void> {
    const state = this.threads.get(reply.thread);
    const question = reply.text.trim();
    if (!state || !question || state.cts) return;
    state.explanation.turns.push({ question, answer: '' });
    reply.thread.comments = [...reply.thread.comments, new ExplainComment({ name: 'You' }, question)];
    await this.answer(reply.thread, state);
  }

  stop(thread?: vscode.CommentThread): void {
    const states = thread ? [this.threads.get(thread)] : [...this.threads.values()];
    for (const s of states) s?.cts?.cancel();
  }

  dismiss(thread: vscode.CommentThread): void {
    this.stop(thread);
    this.threads.delete(thread);
    thread.dispose();
  }

  async continueInChat(thread: vscode.CommentThread): Promise<void> {
    const state = this.threads.get(thread);
    if (!state) return;
    this.stop(thread);
    await this.openInChat(toConversation(state.explanation, `explain-${randomUUID()}`));
  }

  private async answer(thread: vscode.CommentThread, state: ThreadState): Promise<void> {
    const turn = state.explanation.turns[state.explanation.turns.length - 1];
    const comment = new ExplainComment({ name: 'Phi' }, '_Thinking…_');
    thread.comments = [...thread.comments, comment];
    const cts = new vscode.CancellationTokenSource();
    state.cts = cts;
    thread.contextValue = 'streaming';
    thread.state = vscode.CommentThreadState.Unresolved;
    const render = (text: string) => {
      comment.body = ExplainComment.markdown(text);
      thread.comments = [...thread.comments];
    };
    try {
      const instructions = await instructionsFor('Explain', state.uri);
      const messages = withInstructions(explainMessages(state.explanation), instructions.text);
      const outcome = await this.turns.run({ purpose: 'explain', messages }, {
        // Re-rendering the thread is not free: at most about ten times a second.
        onProgress: { everyMs: 100, report: (soFar) => { turn.answer = soFar; render(soFar); } },
      }, cts.token);
      if (outcome.result) turn.answer = outcome.result.text;
      turn.stopped = outcome.cancelled;
      render(turn.answer + (turn.stopped ? '\n\n_(stopped)_' : ''));
    } catch (e) {
      this.log.warn(`Explain failed: ${describeError(e)}`);
      render(`${turn.answer}\n\n**Phi could not answer:** ${describeError(e)}`);
    } finally {
      state.cts = undefined;
      cts.dispose();
      if (this.threads.has(thread)) thread.contextValue = 'done';
    }
  }

  dispose(): void {
    this.stop();
    this.controller.dispose();
  }
}
