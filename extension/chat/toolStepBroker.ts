// Runs the model's tool calls as steps of an answer: the step saved and shown, the tool run through the ToolRunner,
// and the consent card a tool asks for held open until the user answers (or the turn stops, which answers Deny).
// What the card says comes from the request's kind (tools/consentCard.ts): nothing here knows a tool.
import * as vscode from 'vscode';
import type { ToolCallInfo, ToolResult, ToolStepNotice } from '../../sidecar/protocol';
import { consentCard, type ConsentChoice } from '../tools/consentCard';
import type { ToolRunner } from '../tools/toolRunner';
import type { ConsentRequest } from '../tools/toolTypes';
import type { ToolStep } from './conversation';
import type { ConversationStore } from './conversationStore';
import type { ToolStepView } from './webviewProtocol';

/** A call waiting for the user's answer on its card. */
interface PendingConsent {
  request: ConsentRequest;
  answer(choice: ConsentChoice): void;
}

const consentKey = (messageId: string, stepId: string) => `${messageId}\u0000${stepId}`;

/** The tool's name in a refused call's raw text, if it has one. */
function nameInRawCall(raw: string): string | undefined {
  return /"name"\s*:\s*"([^"]{1,64})"/.exec(raw)?.[1];
}

export class ToolStepBroker {
  /** Consent cards shown, by consentKey(answer id, step id). */
  private readonly consents = new Map<string, PendingConsent>();
  private refusedSteps = 0;

  constructor(
    private readonly store: ConversationStore,
    /** Shows a step that changed (the caller knows whether its conversation is open). */
    private readonly show: (conversationId: string, messageId: string, step: ToolStepView) => void,
    private readonly tools?: ToolRunner,
  ) {}

  /** A step as the chat draws it: what it is about, and its card while it waits for the user. */
  view(messageId: string, step: ToolStep): ToolStepView {
    const pending = step.state === 'awaiting-consent' ? this.consents.get(consentKey(messageId, step.id)) : undefined;
    return { ...step, target: this.tools?.target(step.name, step.arguments), consent: pending && consentCard(pending.request) };
  }

  /** The user's answer on a card; only a card still open can be answered. */
  answer(messageId: string, stepId: string, choice: ConsentChoice): void {
    this.consents.get(consentKey(messageId, stepId))?.answer(choice);
  }

  async showDiff(messageId: string, stepId: string): Promise<void> {
    const request = this.consents.get(consentKey(messageId, stepId))?.request;
    if (request?.kind === 'edit') await request.showDiff?.();
  }

  /**
   * Runs a call the model made (the sidecar asked, phi/runTool), shown as a step of the answer. Stopping the turn
   * (or the sidecar withdrawing the request) cancels the tool and closes its consent card.
   */
  async run(conversationId: string, messageId: string, call: ToolCallInfo, turn: vscode.CancellationToken, request: vscode.CancellationToken): Promise<ToolResult> {
    const cts = new vscode.CancellationTokenSource();
    const subscriptions = [turn.onCancellationRequested(() => cts.cancel()), request.onCancellationRequested(() => cts.cancel())];
    if (turn.isCancellationRequested || request.isCancellationRequested) cts.cancel();
    const step: ToolStep = {
      id: call.id, name: call.name, arguments: JSON.stringify(call.arguments ?? {}, null, 2), state: 'running',
      offset: this.answerLength(conversationId, messageId),
    };
    this.put(conversationId, messageId, step);
    try {
      if (!this.tools) return { content: 'Tools are not available here.', isError: true };
      const result = await this.tools.run(call, {
        conversationId,
        token: cts.token,
        ask: (consent) => this.ask(conversationId, messageId, step, consent, cts.token),
      });
      const state = cts.token.isCancellationRequested ? 'cancelled' : result.denied ? 'denied' : result.isError ? 'error' : 'done';
      this.put(conversationId, messageId, { ...step, state, result: result.content });
      return result;
    } finally {
      for (const d of subscriptions) d.dispose();
      cts.dispose();
    }
  }

  /** A call the sidecar refused (not valid even after repair): shown as a failed step; the model was told. */
  refused(conversationId: string, messageId: string, notice: ToolStepNotice): void {
    this.put(conversationId, messageId, {
      id: `refused-${++this.refusedSteps}`,
      name: nameInRawCall(notice.raw) ?? 'tool call',
      arguments: notice.raw,
      state: 'error',
      result: notice.error,
      offset: this.answerLength(conversationId, messageId),
    });
  }

  /** Shows the consent card on the step and waits for the user's answer; a cancelled turn answers 'deny'. */
  private ask(conversationId: string, messageId: string, step: ToolStep, request: ConsentRequest, token: vscode.CancellationToken): Promise<ConsentChoice> {
    const key = consentKey(messageId, step.id);
    return new Promise<ConsentChoice>((resolve) => {
      let subscription: vscode.Disposable | undefined;
      const answer = (choice: ConsentChoice) => {
        if (this.consents.get(key)?.answer !== answer) return;
        this.consents.delete(key);
        subscription?.dispose();
        // The card closes: the step shows as running again until the tool's result arrives.
        if (!token.isCancellationRequested) this.put(conversationId, messageId, { ...step, state: 'running' });
        resolve(choice);
      };
      this.consents.set(key, { request, answer });
      subscription = token.onCancellationRequested(() => answer('deny'));
      this.put(conversationId, messageId, { ...step, state: 'awaiting-consent' });
      if (token.isCancellationRequested) answer('deny');
    });
  }

  /** Saves a step of answer `messageId` and shows it. */
  private put(conversationId: string, messageId: string, step: ToolStep): void {
    if (!this.store.get(conversationId)) return;
    const saved = this.store.putStep(conversationId, messageId, step);
    this.show(conversationId, messageId, this.view(messageId, saved));
  }

  /** Characters of the answer so far: where a step sits in it. */
  private answerLength(conversationId: string, messageId: string): number {
    const m = this.store.get(conversationId)?.messages.find((x) => x.id === messageId);
    return m?.content.length ?? 0;
  }

  /** Every open card is answered Deny: nothing waits on a chat that is gone. */
  dispose(): void {
    for (const c of [...this.consents.values()]) c.answer('deny');
  }
}
