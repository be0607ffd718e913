// What one phi/chat request may carry (REQUEST_LIMITS in sidecar/protocol.ts), applied before sending: pure, no vscode.
import { REQUEST_LIMITS, type ChatMessage } from '../../sidecar/protocol';

/**
 * The conversation without the oldest messages past the protocol's bounds (REQUEST_LIMITS: 8 MiB of text, 10,000
 * messages in one request). Those could never fit any context (131,072 tokens is about half a MiB), so the sidecar
 * would leave them out anyway; sent, they would make the whole request refused. System messages stay.
 */
export function withinRequestLimits(messages: ChatMessage[]): ChatMessage[] {
  const size = (m: ChatMessage) => m.content.length + JSON.stringify(m.toolCalls ?? []).length;
  let chars = messages.reduce((n, m) => n + size(m), 0);
  let count = messages.length;
  if (chars <= REQUEST_LIMITS.requestChars && count <= REQUEST_LIMITS.messages) return messages;
  const kept = [...messages];
  // From the oldest; the latest message always stays (alone past the bound, it gets the sidecar's clear refusal).
  for (let i = 0; i < kept.length - 1 && (chars > REQUEST_LIMITS.requestChars || count > REQUEST_LIMITS.messages);) {
    if (kept[i].role === 'system') { i++; continue; }
    chars -= size(kept[i]);
    count--;
    kept.splice(i, 1);
  }
  return kept;
}
