// Stored messages as the webview draws them. No vscode import.
import type { ChatResult } from '../../sidecar/protocol';
import { chipLabel, chipTitle } from './contextChips';
import type { StoredMessage, ToolStep, TurnStats } from './conversation';
import type { MessageView, ToolStepView } from './webviewProtocol';

/** A step as drawn (its target, its consent card while it waits); see ToolStepBroker.view. */
export type StepViewer = (messageId: string, step: ToolStep) => ToolStepView;

export function toMessageView(m: StoredMessage, stepView: StepViewer = (_, s) => s): MessageView {
  if (m.role === 'user') {
    return { id: m.id, role: 'user', content: m.content, chips: m.context.map((c) => ({ id: c.id, kind: c.kind, label: chipLabel(c), title: chipTitle(c) })) };
  }
  const steps = m.steps?.map((s) => stepView(m.id, s));
  return { id: m.id, role: 'assistant', content: m.content, state: m.state, error: m.error, stats: m.stats, steps };
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
