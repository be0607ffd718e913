// The chat's turn lifecycle: a message sent (or a Retry) becomes a turn run through turnRunner.ts, its answer
// streamed into the store and the webview, its tool calls run by the ToolStepBroker, its end saved. The other rooms:
// chatViewProvider.ts (the view), chatWebview.ts (the connection), chatDispatch.ts (messages from the webview),
// chatState.ts (open conversation, running turns), chatBanner.ts (the model's state), chatViews.ts (what is drawn).
import * as vscode from 'vscode';
import type { ChatResult } from '../../sidecar/protocol';
import { readToolSettings } from '../config';
import { describeError, NO_MODEL_MESSAGE, type ModelManager } from '../model/modelManager';
import { PhiError, type SidecarClient, type TurnTools } from '../sidecarClient';
import { TurnRunner } from '../turn/turnRunner';
import type { ToolRunner } from '../tools/toolRunner';
import type { InstructionsReader } from '../instructions/instructionsReader';
import { ChatBanner } from './chatBanner';
import { dispatchWebviewMessage, type ChatTurns } from './chatDispatch';
import { ChatState } from './chatState';
import { toMessageView, toStats } from './chatViews';
import { ChatWebview } from './chatWebview';
import type { CodeBlockActions } from './codeBlockActions';
import { SYSTEM_PROMPT, toModelMessages, TOOLS_SYSTEM_PROMPT, type StoredMessage } from './conversation';
import type { ConversationStore, TurnEnd } from './conversationStore';
import type { EditorContext } from './editorContext';
import { ToolStepBroker } from './toolStepBroker';
import type { ChipView, MessageView, ToWebview } from './webviewProtocol';

/** An instruction file's name on the chip: the file name, but .phi/instructions.md whole (its name alone says little). */
const shortName = (p: string) => (p.endsWith('.phi/instructions.md') ? '.phi/instructions.md' : p.split('/').pop() ?? p);

/** What the user reads in place of a failed answer; `toolsOffered`: the turn offered the workspace tools. */
function turnErrorText(e: unknown, toolsOffered: boolean): string {
  if (e instanceof PhiError) {
    switch (e.code) {
      case 'no-model': return `${NO_MODEL_MESSAGE} Then Retry.`;
      case 'prompt-too-long':
        return `${e.message}${toolsOffered ? ' Tools take part of it: turning off "phiLocal.tools.enabled" frees it.' : ''}` +
          ' Start a new chat, or remove the attached context, to go on.';
      case 'model-folder': case 'model-load': return `The model could not be loaded: ${describeError(e)}`;
      default: return describeError(e);
    }
  }
  return describeError(e);
}

export class ChatController implements vscode.Disposable, ChatTurns {
  private readonly state: ChatState;
  private readonly webview: ChatWebview;
  private readonly banner: ChatBanner;
  private readonly steps: ToolStepBroker;
  private readonly turns: TurnRunner;
  private focusOnReady = false;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly store: ConversationStore,
    sidecar: SidecarClient,
    private readonly models: ModelManager,
    private readonly editors: EditorContext,
    actions: CodeBlockActions,
    private readonly log: vscode.LogOutputChannel,
    workspaceState: vscode.Memento,
    demo: boolean,
    private readonly tools?: ToolRunner,
    private readonly instructions?: InstructionsReader,
  ) {
    this.turns = new TurnRunner(sidecar, models);
    this.state = new ChatState(store, workspaceState);
    this.banner = new ChatBanner(sidecar, models, demo, (m) => this.post(m));
    this.steps = new ToolStepBroker(store, (conversationId, messageId, step) => {
      if (this.state.conversationId === conversationId) this.post({ type: 'step', messageId, step });
    }, tools);
    this.webview = new ChatWebview(log, (message) => dispatchWebviewMessage(message, { turns: this, editors, actions, banner: this.banner, steps: this.steps }));
    const storeChanged = store.onDidChange(() => {
      // A deleted conversation: its turns stop, and the chat shows a new one if it was open.
      this.state.stopWhere((id) => !store.get(id));
      if (this.state.conversationId && !store.get(this.state.conversationId)) this.newChat();
    });
    this.subscriptions.push(
      { dispose: () => storeChanged.dispose() },
      editors.onDidChange(() => void this.postChips()),
      ...(instructions ? [instructions.onDidChange(() => void this.postChips())] : []),
      this.banner,
      this.webview,
    );
  }

  attach(view: vscode.WebviewView): void {
    this.webview.attach(view);
  }

  private post(message: ToWebview): void {
    this.webview.post(message);
  }

  /** The context chips, and a read-only one naming the project instructions the next turn gets (if any). */
  private async postChips(): Promise<void> {
    const chips: ChipView[] = this.editors.chips();
    const r = await this.instructions?.forFile(this.editors.targetEditor?.document.uri);
    if (r?.used.length) {
      const cut = r.cut.map((c) => `${c.path} (${c.reason})`).join(', ');
      chips.push({
        id: 'instructions', kind: 'instructions', label: `Instructions: ${r.used.map(shortName).join(', ')}`,
        title: `Project instructions in the system prompt: ${r.used.join(', ')}${cut ? `. Cut to fit the budget: ${cut}` : ''}. Setting: phiLocal.instructions.enabled.`,
      });
    }
    this.post({ type: 'chips', chips });
  }

  private messageView(m: StoredMessage): MessageView {
    return toMessageView(m, (messageId, step) => this.steps.view(messageId, step));
  }

  private postConversation(): void {
    const id = this.state.conversationId;
    const c = id ? this.store.get(id) : undefined;
    this.post({ type: 'conversation', id: c?.id, title: c?.title ?? 'New chat', messages: (c?.messages ?? []).map((m) => this.messageView(m)), busy: this.state.busy() });
  }

  get generating(): boolean {
    return this.state.generating;
  }

  // ---- commands (and the webview's turn messages) ----

  ready(): void {
    this.postConversation();
    void this.postChips();
    this.banner.show(true);
    if (this.focusOnReady) {
      this.focusOnReady = false;
      this.post({ type: 'focusPrompt' });
    }
    // The chat is open: warm the model up now, so it is (nearly) ready by the time the question is typed.
    if (this.models.configured && this.models.phase.kind === 'idle') this.models.ensureLoaded({ notifyFailure: true }).catch(() => undefined);
  }

  newChat(): void {
    this.state.setCurrent(undefined);
    this.postConversation();
    this.post({ type: 'focusPrompt' });
  }

  openConversation(id: string): void {
    if (!this.store.get(id)) return;
    this.state.setCurrent(id);
    this.postConversation();
  }

  /** Stops the turns of the open conversation (or, when it has none, every turn). */
  stop(): void {
    this.state.stopOpen();
  }

  /** Focus the prompt once the webview is there. */
  focusPrompt(): void {
    if (this.webview.attached) this.post({ type: 'focusPrompt' });
    else this.focusOnReady = true;
  }

  async send(text: string): Promise<void> {
    if (!text.trim() || this.state.busy()) return;
    const context = this.editors.take();
    const { conversation, user, assistant } = this.store.startTurn(this.state.conversationId, text, context);
    if (this.state.conversationId !== conversation.id) this.state.setCurrent(conversation.id);
    this.post({ type: 'turnStarted', user: this.messageView(user), assistant: this.messageView(assistant) });
    await this.runTurn(conversation.id, assistant.id, conversation.messages.length - 1);
  }

  async retry(messageId: string): Promise<void> {
    const conversationId = this.state.conversationId;
    if (!conversationId || this.state.busy()) return;
    const m = this.store.get(conversationId)?.messages.find((x) => x.id === messageId);
    if (!m || m.role !== 'assistant' || m.state === 'streaming') return;
    const { assistant, index } = this.store.restartAnswer(conversationId, messageId);
    this.post({ type: 'turnStarted', assistant: this.messageView(assistant) });
    await this.runTurn(conversationId, messageId, index);
  }

  // ---- the turn ----

  /** Answers message `messageId` (at `index` in its conversation) from the history before it. */
  private async runTurn(conversationId: string, messageId: string, index: number): Promise<void> {
    const cts = this.state.startTurn(conversationId, messageId);
    let end: TurnEnd = { state: 'cancelled' };
    let toolsOffered = false;
    try {
      const conversation = this.store.get(conversationId);
      // A conversation deleted meanwhile: nothing to answer (nor to save).
      if (conversation) {
        const toolSettings = readToolSettings();
        // 'none' sends no tools at all: their definitions would only take up the model's context.
        const tools = this.tools && toolSettings.enabled && toolSettings.toolChoice !== 'none' ? this.tools.definitions() : [];
        if (this.tools && toolSettings.enabled && tools.length === 0) this.log.debug(`Chat: no tools offered (${this.tools.unavailableReason() ?? 'no workspace folder'}).`);
        toolsOffered = tools.length > 0;
        const turnTools: TurnTools = {
          runTool: (call, token) => this.steps.run(conversationId, messageId, call, cts.token, token),
          onRefused: (notice) => this.steps.refused(conversationId, messageId, notice),
        };
        // The file at hand, for the scoped instructions: the one the message's context came from, else the editor's.
        const attached = conversation.messages.slice(0, index).reverse().find((m) => m.role === 'user' && m.context.length > 0);
        const fileAtHand = attached?.role === 'user' ? attached.context[0].path : this.editors.targetEditor?.document.uri;
        const instructions = (await this.instructions?.forTurn('Chat', fileAtHand))?.text;
        const system = tools.length ? TOOLS_SYSTEM_PROMPT : SYSTEM_PROMPT;
        // The sidecar fits the history into the context; a notice it starts the answer with streams like the rest.
        const outcome = await this.turns.run({
          purpose: 'chat', turnId: messageId, conversationId,
          messages: toModelMessages(conversation.messages, index, instructions ? `${system}\n\n${instructions}` : system),
          tools, toolChoice: toolSettings.toolChoice, toolExecution: 'client', maxToolCalls: toolSettings.maxCallsPerTurn,
        }, { onText: (text) => this.onAnswerText(conversationId, messageId, text), tools: turnTools }, cts.token);
        if (outcome.result) end = this.turnEnd(conversationId, messageId, outcome.result, outcome.cancelled);
      }
    } catch (e) {
      end = { state: 'error', error: turnErrorText(e, toolsOffered) };
      this.log.warn(`Chat turn failed: ${describeError(e)}`);
    } finally {
      // Cancel first: a consent card or a tool still waiting on this turn (the sidecar crashed) settles and writes nothing.
      cts.cancel();
      cts.dispose();
      this.state.endTurn(messageId);
    }
    if (!this.store.get(conversationId)) return;
    const message = this.store.finishTurn(conversationId, messageId, end);
    if (this.state.conversationId === conversationId) this.post({ type: 'turnEnded', message: this.messageView(message) });
  }

  /** How an answer that the sidecar returned ends (finished, or stopped with what it wrote). */
  private turnEnd(conversationId: string, messageId: string, result: ChatResult, cancelled: boolean): TurnEnd {
    const answer = this.store.get(conversationId)?.messages.find((m) => m.id === messageId);
    // With tool steps the streamed text is kept: the steps sit at offsets into it.
    const hasSteps = answer?.role === 'assistant' && (answer.steps?.length ?? 0) > 0;
    if (!cancelled) this.banner.answered();
    return {
      state: cancelled ? 'cancelled' : 'done',
      content: hasSteps ? undefined : result.text,
      stats: toStats(result),
      turn: Array.isArray(result.messages) ? result.messages : undefined,
    };
  }

  private onAnswerText(conversationId: string, messageId: string, text: string): void {
    if (!this.store.get(conversationId)) return;
    this.store.appendText(conversationId, messageId, text);
    if (this.state.conversationId === conversationId) this.post({ type: 'delta', messageId, text });
  }

  dispose(): void {
    this.state.stopWhere();
    this.steps.dispose();
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}
