// The chat's behaviour: which conversation is open, running turns against the sidecar (streaming the answer into
// the store and the webview), stopping them, retrying failed ones, and the banner that says what the model is
// doing. The webview plumbing is in chatViewProvider.ts; the data in conversationStore.ts.
import * as vscode from 'vscode';
import type { ChatResult, ToolCallInfo, ToolResult, ToolStepNotice } from '../../sidecar/protocol';
import { readToolSettings } from '../config';
import { describeError, NO_MODEL_MESSAGE, type ModelManager } from '../model/modelManager';
import { PhiError, type SidecarClient, type TurnTools } from '../sidecarClient';
import { TurnRunner } from '../turn/turnRunner';
import type { ToolRunner } from '../tools/toolRunner';
import type { ConsentDecision, ConsentRequest } from '../tools/toolTypes';
import type { CodeBlockActions } from './codeBlockActions';
import { chipLabel, chipTitle } from './contextChips';
import { SYSTEM_PROMPT, toModelMessages, TOOLS_SYSTEM_PROMPT, type StoredMessage, type ToolStep, type TurnStats } from './conversation';
import type { ConversationStore, TurnEnd } from './conversationStore';
import type { EditorContext } from './editorContext';
import {
  parseFromWebview, type Banner, type BannerAction, type FromWebview, type MessageView, type ToolStepView, type ToWebview,
} from './webviewProtocol';

const CURRENT_KEY = 'phiLocal.currentConversation';

/** The consent card of a step that waits for the user, if any. */
type ConsentLookup = (messageId: string, step: ToolStep) => ToolStepView['consent'];

export function toMessageView(m: StoredMessage, consentOf: ConsentLookup = () => undefined): MessageView {
  if (m.role === 'user') {
    return { id: m.id, role: 'user', content: m.content, chips: m.context.map((c) => ({ id: c.id, kind: c.kind, label: chipLabel(c), title: chipTitle(c) })) };
  }
  const steps = m.steps?.map((s) => ({ ...s, consent: consentOf(m.id, s) }));
  return { id: m.id, role: 'assistant', content: m.content, state: m.state, error: m.error, stats: m.stats, steps };
}

/** The tool's name in a refused call's raw text, if it has one. */
function nameInRawCall(raw: string): string | undefined {
  return /"name"\s*:\s*"([^"]{1,64})"/.exec(raw)?.[1];
}

export function toStats(r: ChatResult): TurnStats {
  return {
    promptTokens: r.usage.promptTokens,
    reusedTokens: r.usage.reusedTokens,
    completionTokens: r.usage.completionTokens,
    tokensPerSecond: r.timings.decodeTokensPerSecond,
    timeToFirstTokenMs: r.timings.timeToFirstTokenMs,
    totalMs: r.timings.totalMs,
    finishReason: r.finishReason,
  };
}

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

interface RunningTurn {
  conversationId: string;
  cts: vscode.CancellationTokenSource;
}

/** A writing tool call waiting for the user's answer on its card. */
interface PendingConsent {
  request: ConsentRequest;
  answer(choice: ConsentDecision): void;
}

const consentKey = (messageId: string, stepId: string) => `${messageId}\u0000${stepId}`;

export class ChatController implements vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private conversationId: string | undefined;
  /** Turns being answered, by answer id. */
  private readonly running = new Map<string, RunningTurn>();
  private readonly turns: TurnRunner;
  /** Consent cards shown, by consentKey(answer id, step id). */
  private readonly consents = new Map<string, PendingConsent>();
  private refusedSteps = 0;
  private focusOnReady = false;
  /** The sidecar died in this session: once the model is back, the banner says it recovered. */
  private recovered = false;
  private bannerDismissed = false;
  private lastBanner = '';
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly viewSubscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly store: ConversationStore,
    private readonly sidecar: SidecarClient,
    private readonly models: ModelManager,
    private readonly editors: EditorContext,
    private readonly actions: CodeBlockActions,
    private readonly log: vscode.LogOutputChannel,
    private readonly workspaceState: vscode.Memento,
    private readonly demo: boolean,
    private readonly tools?: ToolRunner,
  ) {
    this.turns = new TurnRunner(sidecar, models);
    const saved = workspaceState.get<string | null>(CURRENT_KEY);
    this.conversationId = saved === null ? undefined : saved && store.get(saved) ? saved : store.mostRecent()?.id;
    const storeChanged = store.onDidChange(() => {
      // A deleted conversation: its turns stop, and the chat shows a new one if it was open.
      for (const t of this.running.values()) if (!store.get(t.conversationId)) t.cts.cancel();
      if (this.conversationId && !store.get(this.conversationId)) this.newChat();
    });
    this.subscriptions.push(
      { dispose: () => storeChanged.dispose() },
      editors.onDidChange(() => this.post({ type: 'chips', chips: editors.chips() })),
      sidecar.onDidChange(() => this.postBanner()),
      sidecar.onDidCrash(() => {
        this.recovered = true;
        this.bannerDismissed = false;
      }),
      models.onDidChange(() => this.postBanner()),
    );
  }

  // ---- the webview ----

  attach(view: vscode.WebviewView): void {
    for (const d of this.viewSubscriptions.splice(0)) d.dispose();
    this.view = view;
    this.viewSubscriptions.push(
      view.onDidDispose(() => {
        if (this.view !== view) return;
        this.view = undefined;
        for (const d of this.viewSubscriptions.splice(0)) d.dispose();
        void vscode.commands.executeCommand('setContext', 'phiLocal.chatFocused', false);
      }),
      view.webview.onDidReceiveMessage((raw: unknown) => {
        const message = parseFromWebview(raw);
        if (message) void this.handle(message).catch((e: Error) => this.log.error(`Chat: ${e.message}`));
        else this.log.warn('Chat: ignored a malformed message from the webview.');
      }),
    );
  }

  private post(message: ToWebview): void {
    void this.view?.webview.postMessage(message);
  }

  private busy(conversationId = this.conversationId): boolean {
    return [...this.running.values()].some((t) => t.conversationId === conversationId);
  }

  private postConversation(): void {
    const c = this.conversationId ? this.store.get(this.conversationId) : undefined;
    this.post({ type: 'conversation', id: c?.id, title: c?.title ?? 'New chat', messages: (c?.messages ?? []).map((m) => this.messageView(m)), busy: this.busy() });
  }

  private readonly consentOf: ConsentLookup = (messageId, step) => {
    const pending = step.state === 'awaiting-consent' ? this.consents.get(consentKey(messageId, step.id)) : undefined;
    return pending && { title: pending.request.title, detail: pending.request.detail };
  };

  private messageView(m: StoredMessage): MessageView {
    return toMessageView(m, this.consentOf);
  }

  private banner(): Banner | undefined {
    const state = this.sidecar.state;
    if (state === 'restarting') {
      return { kind: 'warning', text: 'The sidecar (the process that runs the model) stopped unexpectedly. Restarting it…', actions: ['showLogs'] };
    }
    if (state === 'failed') {
      return { kind: 'error', text: 'The sidecar is not running, so Phi cannot answer.', actions: ['restartSidecar', 'showLogs'] };
    }
    const phase = this.models.phase;
    if (phase.kind === 'loading') return { kind: 'info', text: `Loading the model${phase.message ? `: ${phase.message}` : '…'}` };
    if (phase.kind === 'failed') {
      return { kind: 'error', text: `The model could not be loaded: ${describeError(phase.error)}`, actions: ['selectModelFolder', 'showLogs'] };
    }
    if (phase.kind !== 'ready' && !this.models.configured) return { kind: 'warning', text: NO_MODEL_MESSAGE, actions: ['downloadModel', 'selectModelFolder'] };
    if (phase.kind === 'ready' && this.recovered && !this.bannerDismissed) {
      return { kind: 'info', text: 'The sidecar stopped and was restarted; the model is loaded again.', actions: ['showLogs'], dismissible: true };
    }
    return undefined;
  }

  private postBanner(force = false): void {
    const banner = this.banner();
    const key = JSON.stringify(banner ?? null);
    if (!force && key === this.lastBanner) return;
    this.lastBanner = key;
    this.post({ type: 'banner', banner, demo: this.demo });
  }

  private setCurrent(id: string | undefined): void {
    this.conversationId = id;
    void this.workspaceState.update(CURRENT_KEY, id ?? null);
  }

  private setGenerating(): void {
    void vscode.commands.executeCommand('setContext', 'phiLocal.generating', this.running.size > 0);
  }

  get generating(): boolean {
    return this.running.size > 0;
  }

  // ---- commands ----

  newChat(): void {
    this.setCurrent(undefined);
    this.postConversation();
    this.post({ type: 'focusPrompt' });
  }

  openConversation(id: string): void {
    if (!this.store.get(id)) return;
    this.setCurrent(id);
    this.postConversation();
  }

  /** Stops the turns of the open conversation (or, when it has none, every turn). */
  stop(): void {
    const mine = [...this.running.values()].filter((t) => t.conversationId === this.conversationId);
    for (const t of mine.length ? mine : [...this.running.values()]) t.cts.cancel();
  }

  /** Focus the prompt once the webview is there. */
  focusPrompt(): void {
    if (this.view) this.post({ type: 'focusPrompt' });
    else this.focusOnReady = true;
  }

  // ---- webview messages ----

  private async handle(message: FromWebview): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.postConversation();
        this.post({ type: 'chips', chips: this.editors.chips() });
        this.postBanner(true);
        if (this.focusOnReady) {
          this.focusOnReady = false;
          this.post({ type: 'focusPrompt' });
        }
        // The chat is open: warm the model up now, so it is (nearly) ready by the time the question is typed.
        if (this.models.configured && this.models.phase.kind === 'idle') this.models.ensureLoaded({ notifyFailure: true }).catch(() => undefined);
        return;
      case 'send':
        return this.send(message.text);
      case 'stop':
        return this.stop();
      case 'newChat':
        return this.newChat();
      case 'retry':
        return this.retry(message.messageId);
      case 'removeChip':
        return this.editors.remove(message.id);
      case 'copy':
        return this.actions.copy(message.code);
      case 'insert':
        return this.actions.insert(message.code, message.language);
      case 'apply':
        return this.actions.apply(message.code);
      case 'action':
        return this.runAction(message.action);
      case 'dismissBanner':
        this.bannerDismissed = true;
        return this.postBanner();
      case 'focusChanged':
        await vscode.commands.executeCommand('setContext', 'phiLocal.chatFocused', message.focused);
        return;
      case 'consent':
        // Only a card that is still open can be answered.
        return this.consents.get(consentKey(message.messageId, message.stepId))?.answer(message.choice);
      case 'showDiff':
        await this.consents.get(consentKey(message.messageId, message.stepId))?.request.showDiff();
        return;
    }
  }

  private async runAction(action: BannerAction): Promise<void> {
    const commands: Record<BannerAction, [string, ...unknown[]]> = {
      downloadModel: ['phiLocal.downloadModel', { recommended: true }],
      selectModelFolder: ['phiLocal.selectModelFolder'],
      showLogs: ['phiLocal.showLogs'],
      restartSidecar: ['phiLocal.restartSidecar'],
      openSettings: ['workbench.action.openSettings', 'phiLocal'],
    };
    await vscode.commands.executeCommand(...commands[action]);
  }

  private async send(text: string): Promise<void> {
    if (!text.trim() || this.busy()) return;
    const context = this.editors.take();
    const { conversation, user, assistant } = this.store.startTurn(this.conversationId, text, context);
    if (this.conversationId !== conversation.id) this.setCurrent(conversation.id);
    this.post({ type: 'turnStarted', user: this.messageView(user), assistant: this.messageView(assistant) });
    await this.runTurn(conversation.id, assistant.id, conversation.messages.length - 1);
  }

  private async retry(messageId: string): Promise<void> {
    const conversationId = this.conversationId;
    if (!conversationId || this.busy()) return;
    const m = this.store.get(conversationId)?.messages.find((x) => x.id === messageId);
    if (!m || m.role !== 'assistant' || m.state === 'streaming') return;
    const { assistant, index } = this.store.restartAnswer(conversationId, messageId);
    this.post({ type: 'turnStarted', assistant: this.messageView(assistant) });
    await this.runTurn(conversationId, messageId, index);
  }

  /** Answers message `messageId` (at `index` in its conversation) from the history before it. */
  private async runTurn(conversationId: string, messageId: string, index: number): Promise<void> {
    const cts = new vscode.CancellationTokenSource();
    this.running.set(messageId, { conversationId, cts });
    this.setGenerating();
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
          runTool: (call, token) => this.runToolStep(conversationId, messageId, call, cts.token, token),
          onRefused: (notice) => this.refusedStep(conversationId, messageId, notice),
        };
        // The sidecar fits the history into the context; a notice it starts the answer with streams like the rest.
        const outcome = await this.turns.run({
          purpose: 'chat', turnId: messageId, conversationId,
          messages: toModelMessages(conversation.messages, index, tools.length ? TOOLS_SYSTEM_PROMPT : SYSTEM_PROMPT),
          tools, toolChoice: toolSettings.toolChoice, toolExecution: 'client', maxToolCalls: toolSettings.maxCallsPerTurn,
        }, { onText: (text) => this.onAnswerText(conversationId, messageId, text), tools: turnTools }, cts.token);
        if (outcome.result) end = this.turnEnd(conversationId, messageId, outcome.result, outcome.cancelled);
      }
    } catch (e) {
      end = { state: 'error', error: turnErrorText(e, toolsOffered) };
      this.log.warn(`Chat turn failed: ${describeError(e)}`);
    } finally {
      this.running.delete(messageId);
      // Cancel first: a consent card or a tool still waiting on this turn (the sidecar crashed) settles and writes nothing.
      cts.cancel();
      cts.dispose();
      this.setGenerating();
    }
    if (!this.store.get(conversationId)) return;
    const message = this.store.finishTurn(conversationId, messageId, end);
    if (this.conversationId === conversationId) this.post({ type: 'turnEnded', message: this.messageView(message) });
  }

  /** How an answer that the sidecar returned ends (finished, or stopped with what it wrote). */
  private turnEnd(conversationId: string, messageId: string, result: ChatResult, cancelled: boolean): TurnEnd {
    const answer = this.store.get(conversationId)?.messages.find((m) => m.id === messageId);
    // With tool steps the streamed text is kept: the steps sit at offsets into it.
    const hasSteps = answer?.role === 'assistant' && (answer.steps?.length ?? 0) > 0;
    if (this.recovered && !this.bannerDismissed && !cancelled) {
      this.bannerDismissed = true;
      this.postBanner();
    }
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
    if (this.conversationId === conversationId) this.post({ type: 'delta', messageId, text });
  }

  // ---- tool calls ----

  /** Saves a step of answer `messageId` and shows it. */
  private putStep(conversationId: string, messageId: string, step: ToolStep): void {
    if (!this.store.get(conversationId)) return;
    const saved = this.store.putStep(conversationId, messageId, step);
    if (this.conversationId === conversationId) this.post({ type: 'step', messageId, step: { ...saved, consent: this.consentOf(messageId, saved) } });
  }

  /** Characters of the answer so far: where a step sits in it. */
  private answerLength(conversationId: string, messageId: string): number {
    const m = this.store.get(conversationId)?.messages.find((x) => x.id === messageId);
    return m?.content.length ?? 0;
  }

  /**
   * Runs a call the model made (the sidecar asked, phi/runTool), shown as a step of the answer. Stopping the turn
   * (or the sidecar withdrawing the request) cancels the tool and closes its consent card.
   */
  private async runToolStep(conversationId: string, messageId: string, call: ToolCallInfo, turn: vscode.CancellationToken, request: vscode.CancellationToken): Promise<ToolResult> {
    const cts = new vscode.CancellationTokenSource();
    const subscriptions = [turn.onCancellationRequested(() => cts.cancel()), request.onCancellationRequested(() => cts.cancel())];
    if (turn.isCancellationRequested || request.isCancellationRequested) cts.cancel();
    const step: ToolStep = {
      id: call.id, name: call.name, arguments: JSON.stringify(call.arguments ?? {}, null, 2), state: 'running',
      offset: this.answerLength(conversationId, messageId),
    };
    this.putStep(conversationId, messageId, step);
    try {
      if (!this.tools) return { content: 'Tools are not available here.', isError: true };
      const result = await this.tools.run(call, {
        conversationId,
        token: cts.token,
        ask: (consent) => this.askConsent(conversationId, messageId, step, consent, cts.token),
      });
      const state = cts.token.isCancellationRequested ? 'cancelled' : result.denied ? 'denied' : result.isError ? 'error' : 'done';
      this.putStep(conversationId, messageId, { ...step, state, result: result.content });
      return result;
    } finally {
      for (const d of subscriptions) d.dispose();
      cts.dispose();
    }
  }

  /** Shows the consent card on the step and waits for the user's answer; a cancelled turn answers 'deny'. */
  private askConsent(conversationId: string, messageId: string, step: ToolStep, request: ConsentRequest, token: vscode.CancellationToken): Promise<ConsentDecision> {
    const key = consentKey(messageId, step.id);
    return new Promise<ConsentDecision>((resolve) => {
      let subscription: vscode.Disposable | undefined;
      const answer = (choice: ConsentDecision) => {
        if (this.consents.get(key)?.answer !== answer) return;
        this.consents.delete(key);
        subscription?.dispose();
        // The card closes: the step shows as running again until the tool's result arrives.
        if (!token.isCancellationRequested) this.putStep(conversationId, messageId, { ...step, state: 'running' });
        resolve(choice);
      };
      this.consents.set(key, { request, answer });
      subscription = token.onCancellationRequested(() => answer('deny'));
      this.putStep(conversationId, messageId, { ...step, state: 'awaiting-consent' });
      if (token.isCancellationRequested) answer('deny');
    });
  }

  /** A call the sidecar refused (not valid even after repair): shown as a failed step; the model was told. */
  private refusedStep(conversationId: string, messageId: string, notice: ToolStepNotice): void {
    this.putStep(conversationId, messageId, {
      id: `refused-${++this.refusedSteps}`,
      name: nameInRawCall(notice.raw) ?? 'tool call',
      arguments: notice.raw,
      state: 'error',
      result: notice.error,
      offset: this.answerLength(conversationId, messageId),
    });
  }

  dispose(): void {
    for (const t of this.running.values()) t.cts.cancel();
    for (const c of [...this.consents.values()]) c.answer('deny');
    for (const d of [...this.subscriptions.splice(0), ...this.viewSubscriptions.splice(0)]) d.dispose();
  }
}
