// One assistant turn, the same for every feature that asks the model (the chat panel, Explain, the refactors, VS
// Code's Chat): the model loaded (Stop while it loads ends the turn at once), the turn settings, a turn id, the text
// streamed as it comes or at most every so often, phi/chat through the sidecar client, and one outcome: the result,
// or "cancelled" (stopped before the model or while it wrote), or a PhiError. The sidecar fits the conversation into
// the context itself (sidecar/chat/contextFit.ts), so there is no phi/countTokens before the turn. The callers keep
// only what is theirs: building the messages and showing the answer.
//
// Hops of a chat-panel message, counted in the code: each hand-off of the message (down), or of one streamed piece
// of text (back), to code in another file, another thread or another process, from the caller's turn code to the
// engine's generate() (InferenceEngine; its scheduler and worker thread are the same before and after, not counted)
// and back to the caller's UI (the store and the webview). Library code on the way (vscode-jsonrpc) is part of the
// one IPC hop.
// - Before: 8 down, 9 back. Down: chatController → sidecarClient.countTokens → (IPC) server.ts → engine.countTokens
//   (N+2 renders of the whole conversation), then chatController → sidecarClient.chat → (IPC) chatService → chatTurn
//   → chatService's generate → engine. Back: the count's answer, engine → server.ts → (IPC) sidecarClient →
//   chatController, before the turn; then for each piece engine → chatTurn → chatService → (IPC) sidecarClient →
//   chatController → store, webview.
// - After: 6 down, 6 back, no extra round trip. Down: chatController → turnRunner → sidecarClient.chat → (IPC)
//   chatService → chatTurn → chatService's generate → engine; the fit is a call on the sidecar's side of that IPC
//   hop (contextFit.ts: no count while the text is clearly within the budget, else only texts not counted before).
//   Back, for each piece: engine → chatTurn → chatService → (IPC) sidecarClient → chatController → store, webview
//   (the runner hands the caller's onText to the client as it is). Explain and the refactors: … → sidecarClient →
//   the runner's throttle → the caller, which redraws its one view: 5.
import { randomUUID } from 'node:crypto';
import type * as vscode from 'vscode';
import type { ChatMessage, ChatParams, ChatResult, ModelInfo, ToolChoice, ToolDefinition } from '../../sidecar/protocol';
import { readTurnSettings } from '../config';
import { describeError, type ModelManager } from '../model/modelManager';
import { PhiError, type SidecarClient, type TurnTools } from '../sidecarClient';
import { withinRequestLimits } from './requestLimits';

export interface TurnRequest {
  /** Who asks: the turn id's prefix, so the sidecar's log says which feature a turn came from. */
  purpose: 'chat' | 'explain' | 'refactor' | 'lm' | 'commit';
  messages: ChatMessage[];
  /** The id the turn streams under; a new one when unset (the chat panel uses its answer's message id). */
  turnId?: string;
  /** The chat panel's conversation: the sidecar then keeps a cut conversation's prompt start the same turn to turn. */
  conversationId?: string;
  /** Tools offered; none: the other tool fields are not sent either. */
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  toolExecution?: 'client' | 'return';
  maxToolCalls?: number;
  /** The answer's token cap on the loaded model; unset: the phiLocal.maxNewTokens setting. */
  answerTokens?(model: ModelInfo, setting: number): number;
}

export interface TurnStream {
  /** Each piece of text as it comes. */
  onText?(text: string): void;
  /** Or the answer so far, at most every `everyMs` (for views that redraw it whole); the result has the rest. */
  onProgress?: { everyMs: number; report(soFar: string): void };
  /** The model is loaded and the turn goes to the sidecar. */
  onModelReady?(model: ModelInfo): void;
  /** Runs the calls the model makes (toolExecution 'client'). */
  tools?: TurnTools;
}

export type TurnOutcome =
  | { cancelled: false; result: ChatResult; model: ModelInfo }
  /** `result`: what the model wrote before the stop; unset when it stopped before the model began. */
  | { cancelled: true; result?: ChatResult };

export class TurnRunner {
  constructor(private readonly sidecar: SidecarClient, private readonly models: ModelManager) {}

  /** Runs a turn; rejects only with a PhiError (never 'cancelled': that is an outcome). */
  async run(request: TurnRequest, stream: TurnStream, token: vscode.CancellationToken): Promise<TurnOutcome> {
    try {
      const model = await this.modelReady(token);
      stream.onModelReady?.(model);
      const settings = readTurnSettings();
      const params: ChatParams = {
        turnId: request.turnId ?? `${request.purpose}-${randomUUID()}`,
        feature: request.purpose,
        ...(request.conversationId ? { conversationId: request.conversationId } : {}),
        messages: withinRequestLimits(request.messages),
        maxNewTokens: request.answerTokens?.(model, settings.maxNewTokens) ?? settings.maxNewTokens,
        sampling: settings.sampling,
        ...(request.tools?.length
          ? { tools: request.tools, toolChoice: request.toolChoice, toolExecution: request.toolExecution, maxToolCalls: request.maxToolCalls }
          : {}),
      };
      const result = await this.sidecar.chat(params, deltaSink(stream), token, stream.tools);
      return result.finishReason === 'cancelled' ? { cancelled: true, result } : { cancelled: false, result, model };
    } catch (e) {
      if (e instanceof PhiError && e.code === 'cancelled') return { cancelled: true };
      throw e instanceof PhiError ? e : new PhiError('internal', describeError(e));
    }
  }

  /** Waits for the model (loading it the first time); a cancel while waiting ends the turn at once. */
  private modelReady(token: vscode.CancellationToken): Promise<ModelInfo> {
    if (token.isCancellationRequested) return Promise.reject(new PhiError('cancelled', 'Cancelled.'));
    return new Promise((resolve, reject) => {
      const sub = token.onCancellationRequested(() => {
        sub.dispose();
        reject(new PhiError('cancelled', 'Cancelled.'));
      });
      this.models.ensureLoaded().then(
        (info) => { sub.dispose(); resolve(info); },
        (e: unknown) => { sub.dispose(); reject(e); },
      );
    });
  }
}

/** Where the pieces go: the caller's onText itself (no stage in between), or a throttle in front of onProgress. */
function deltaSink(stream: TurnStream): (text: string) => void {
  if (stream.onText) return stream.onText;
  const progress = stream.onProgress;
  if (!progress) return () => undefined;
  let soFar = '';
  let shown = 0;
  return (text) => {
    soFar += text;
    const now = Date.now();
    if (now - shown > progress.everyMs) {
      shown = now;
      progress.report(soFar);
    }
  };
}
