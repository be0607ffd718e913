// The chat's turn lifecycle: a message sent (or a Retry) becomes a turn run through turnRunner.ts, its answer
// streamed into the store and the webview, its tool calls run by the ToolStepBroker, its end saved. The other rooms:
// chatViewProvider.ts (the view), chatWebview.ts (the connection), chatDispatch.ts (messages from the webview),
// chatState.ts (open conversation, running turns), chatBanner.ts (the model's state), chatViews.ts (what is drawn).
import * as vscode from 'vscode';
import type { ChatResult, PromptHead } from '../../sidecar/protocol';
import { readToolSettings } from '../config';
import { describeError, NO_MODEL_MESSAGE, type ModelManager } from '../model/modelManager';
import { PhiError, type SidecarClient, type TurnTools } from '../sidecarClient';
import { TurnRunner } from '../turn/turnRunner';
import type { ToolRunner } from '../tools/toolRunner';
import { chosenTools } from '../tools/externalTools';
import { ToolChoices } from '../tools/toolChoices';
import { pickTools } from '../tools/toolPicker';
import type { ContextChip } from './contextChips';
import type { InstructionsReader } from '../instructions/instructionsReader';
import { UNAVAILABLE_TEXT, type WorkspaceIndexService } from '../workspaceIndex/indexService';
import { answerSources, parseWorkspaceQuestion, pickExcerpts, sourceLabel, toSources, workspacePrompt, type WorkspaceSource } from '../workspaceIndex/workspaceContext';
import { formatUserMessage } from './contextChips';
import { ChatBanner } from './chatBanner';
import { dispatchWebviewMessage, type ChatTurns } from './chatDispatch';
import { ChatState } from './chatState';
import { toMessageView, toStats } from './chatViews';
import { ChatWebview } from './chatWebview';
import type { CodeBlockActions } from './codeBlockActions';
import { SYSTEM_PROMPT, toModelMessages, TOOLS_SYSTEM_PROMPT, type StoredMessage } from './conversation';
import type { ChatMessage } from '../../sidecar/protocol';
import type { ConversationStore, TurnEnd } from './conversationStore';
import type { EditorContext } from './editorContext';
import { deleteConversation } from './historyView';
import { PromptFileReader } from './promptFileReader';
import { SlashCommandRunner } from './slashCommandRunner';
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
        return `${e.message}${toolsOffered ? ' Tools take part of it: fewer tools ("Phi: Choose Tools for This Chat") or turning off "phiLocal.tools.enabled" frees it.' : ''}` +
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
  /** The tools of other extensions and MCP servers each conversation offers (the "Tools…" picker). */
  private readonly toolChoices: ToolChoices;
  private readonly slash: SlashCommandRunner;
  private focusOnReady = false;
  /** The workspace excerpts each `@workspace` answer had (for its Sources list; kept for this session only). */
  private readonly sources = new Map<string, WorkspaceSource[]>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly store: ConversationStore,
    private readonly sidecar: SidecarClient,
    private readonly models: ModelManager,
    private readonly editors: EditorContext,
    actions: CodeBlockActions,
    private readonly log: vscode.LogOutputChannel,
    workspaceState: vscode.Memento,
    demo: boolean,
    private readonly tools?: ToolRunner,
    private readonly instructions?: InstructionsReader,
    private readonly workspaceIndex?: WorkspaceIndexService,
  ) {
    this.turns = new TurnRunner(sidecar, models);
    this.state = new ChatState(store, workspaceState);
    this.toolChoices = new ToolChoices(workspaceState, (id) => store.get(id) !== undefined);
    this.banner = new ChatBanner(sidecar, models, demo, (m) => this.post(m));
    this.steps = new ToolStepBroker(store, (conversationId, messageId, step) => {
      if (this.state.conversationId === conversationId) this.post({ type: 'step', messageId, step });
    }, tools);
    const prompts = new PromptFileReader(log);
    this.slash = new SlashCommandRunner(editors, prompts, this, (m) => this.post(m));
    this.webview = new ChatWebview(log, (message) => dispatchWebviewMessage(message, { turns: this, editors, actions, banner: this.banner, steps: this.steps, slash: this.slash }));
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
      prompts,
      this.slash,
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
    const view = toMessageView(m, (messageId, step) => this.steps.view(messageId, step));
    const sources = m.role === 'assistant' ? this.sources.get(m.id) : undefined;
    if (sources?.length) view.sources = answerSources(sources, m.content).map((l) => ({ label: l.label, cited: l.cited }));
    return view;
  }

  /**
   * A turn whose user message starts with `@workspace`: the best excerpts of the workspace index go into that
   * message, ahead of the question, with how to cite them; they are kept for the answer's Sources list.
   */
  private async withWorkspaceContext(messages: ChatMessage[], user: StoredMessage | undefined, messageId: string): Promise<ChatMessage[]> {
    this.sources.delete(messageId);
    const question = user?.role === 'user' ? parseWorkspaceQuestion(user.content) : undefined;
    const last = messages[messages.length - 1];
    if (question === undefined || !this.workspaceIndex || user?.role !== 'user' || last?.role !== 'user') return messages;
    const t0 = Date.now();
    const found = await this.workspaceIndex.search(question || user.content);
    if ('unavailable' in found) throw new Error(UNAVAILABLE_TEXT[found.unavailable]);
    const excerpts = pickExcerpts(found.hits);
    this.sources.set(messageId, toSources(excerpts));
    this.log.info(`Chat: @workspace context (${Date.now() - t0} ms): ${excerpts.length ? excerpts.map(sourceLabel).join(', ') : 'nothing matched'}.`);
    return [...messages.slice(0, -1), { ...last, content: formatUserMessage(workspacePrompt(question, excerpts), user.context) }];
  }

  /** Opens entry `index` of an answer's Sources list (as messageView listed it) at its line. */
  async openSource(messageId: string, index: number): Promise<void> {
    const m = this.state.conversationId ? this.store.get(this.state.conversationId)?.messages.find((x) => x.id === messageId) : undefined;
    const link = m ? answerSources(this.sources.get(messageId) ?? [], m.content)[index] : undefined;
    const uri = link && this.workspaceIndex?.uriFor(link.path);
    if (!link || !uri) return;
    const at = new vscode.Position(Math.max(0, link.line - 1), 0);
    try {
      await vscode.window.showTextDocument(uri, { selection: new vscode.Range(at, at), preview: true });
    } catch (e) {
      void vscode.window.showWarningMessage(`Phi Local: ${link.path} could not be opened: ${describeError(e)}`);
    }
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
    void this.slash.postCompletions();
    this.banner.show(true);
    if (this.focusOnReady) {
      this.focusOnReady = false;
      this.post({ type: 'focusPrompt' });
    }
    // The chat is open: warm the model up now, so it is (nearly) ready by the time the question is typed.
    if (this.models.configured && this.models.phase.kind === 'idle') this.models.ensureLoaded({ notifyFailure: true }).catch(() => undefined);
  }

  newChat(): void {
    this.toolChoices.clearPending();
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

  /** Sends a user message with the editor's context chip (or, from a slash command, `context` in its place). */
  async send(text: string, chips?: ContextChip[]): Promise<void> {
    if (!text.trim() || this.state.busy()) return;
    const context = chips ?? this.editors.take();
    const { conversation, user, assistant } = this.store.startTurn(this.state.conversationId, text, context);
    if (this.state.conversationId !== conversation.id) {
      this.state.setCurrent(conversation.id);
      void this.toolChoices.adopt(conversation.id);
    }
    this.post({ type: 'turnStarted', user: this.messageView(user), assistant: this.messageView(assistant) });
    await this.runTurn(conversation.id, assistant.id, conversation.messages.length - 1);
  }

  /** `/clear`: deletes the open conversation (Undo in the notification); the chat then shows a new one. */
  clearChat(): void {
    const id = this.state.conversationId;
    // Not awaited: it waits for the notification (Undo) to be answered or closed.
    if (id && this.store.get(id)?.messages.length) void deleteConversation(this.store, id);
    else this.newChat();
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

  /** The "Tools…" picker for the open conversation (or the new chat): which of VS Code's tools Phi may call in it. */
  async chooseTools(): Promise<void> {
    const unavailable = !this.tools ? 'tools are not available here' : !readToolSettings().enabled ? '"phiLocal.tools.enabled" is off' : this.tools.unavailableReason();
    if (unavailable || !this.tools) {
      void vscode.window.showInformationMessage(`Phi Local: no tools in the chat: ${unavailable}.`);
      return;
    }
    const available = this.tools.externalTools();
    if (available.length === 0) {
      void vscode.window.showInformationMessage('Phi Local: no other extension or MCP server has registered tools in VS Code. Phi\'s workspace tools are always offered.');
      return;
    }
    const conversationId = this.state.conversationId;
    const phase = this.models.phase;
    const chosen = await pickTools({
      tools: available,
      chosen: chosenTools(available, this.toolChoices.get(conversationId)).map((t) => t.name),
      countTokens: phase.kind === 'ready' ? (params) => this.sidecar.countTokens(params) : undefined,
      contextLength: phase.kind === 'ready' ? phase.info.contextLength : undefined,
    });
    if (!chosen) return;
    // The conversation may have changed while the picker was open: the choice goes to the one it was opened for.
    await this.toolChoices.set(conversationId, chosen);
    this.log.info(`Chat tools for ${conversationId ?? 'the new chat'}: ${chosen.length ? chosen.join(', ') : 'none of VS Code\'s tools'}.`);
  }

  // ---- the turn ----

  /** Answers message `messageId` (at `index` in its conversation) from the history before it. */
  /** The start of a new chat's prompt (system prompt, instructions, tools), for the sidecar to compute ahead of need. */
  async newChatHead(): Promise<PromptHead> {
    const toolSettings = readToolSettings();
    const tools = this.tools && toolSettings.enabled && toolSettings.toolChoice !== 'none' ? this.tools.newChatDefinitions() : [];
    const instructions = (await this.instructions?.forTurn('Chat', this.editors.targetEditor?.document.uri))?.text;
    const system = tools.length ? TOOLS_SYSTEM_PROMPT : SYSTEM_PROMPT;
    return { feature: 'chat', messages: [{ role: 'system', content: instructions ? `${system}\n\n${instructions}` : system }], tools };
  }

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
        const tools = this.tools && toolSettings.enabled && toolSettings.toolChoice !== 'none'
          ? this.tools.definitions(conversationId, this.toolChoices.get(conversationId)) : [];
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
          messages: await this.withWorkspaceContext(toModelMessages(conversation.messages, index, instructions ? `${system}\n\n${instructions}` : system), conversation.messages[index - 1], messageId),
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
