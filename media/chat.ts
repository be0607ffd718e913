/// <reference lib="dom" />
// The chat webview's entry point: wires the modules (messages.ts, toolSteps.ts, banner.ts, composer.ts) to their
// elements and routes the extension's messages to them (webviewProtocol.ts). It holds no conversation state of its
// own: after the webview is recreated (hidden and shown again), the extension sends everything again.
//
// DOM hooks the end-to-end tests rely on (keep them stable): textarea#prompt, button#send, button#stop (shown only
// while generating), button#new-chat, #messages, .message.user / .message.assistant[data-state], .message .content,
// .code-block with button.copy / button.insert / button.apply, .message .error with button.retry, .chip with
// button.remove, .stats; tool calls: .tool-step[data-id][data-tool][data-state] (inside .content, at the point of
// the answer where the call was made) with a <details> (.tool-args, .tool-result) and, while a call waits for consent,
// .consent-card[data-kind] with button.consent-once / button.consent-chat / button.consent-deny / button.show-diff.
import DOMPurify from 'dompurify';
import type { FromWebview, ToWebview } from '../extension/chat/webviewProtocol';
import { BannerView } from './banner';
import { Composer } from './composer';
import { byId } from './dom';
import { createMarkdownRenderer } from './markdown';
import { Messages } from './messages';
import { ToolSteps } from './toolSteps';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

// The modules get their elements and the post function here; none of them reaches for another's DOM.
const vscode = acquireVsCodeApi();
const post = (message: FromWebview): void => vscode.postMessage(message);
const messagesEl = byId<HTMLDivElement>('messages');
const composer = new Composer({
  prompt: byId('prompt'), send: byId('send'), stop: byId('stop'), newChat: byId('new-chat'), chips: byId('chips'),
}, post, vscode);
const steps = new ToolSteps(messagesEl, post);
const messages = new Messages(messagesEl, steps, createMarkdownRenderer(DOMPurify), () => composer.focused, post);
const banner = new BannerView(byId('banner'), byId('demo'), post);

function onMessage(message: ToWebview): void {
  switch (message.type) {
    case 'conversation':
      messages.showAll(message.messages);
      composer.setBusy(message.busy);
      break;
    case 'turnStarted':
      messages.turnStarted(message.user, message.assistant);
      composer.setBusy(true);
      break;
    case 'delta':
      messages.delta(message.messageId, message.text);
      break;
    case 'turnEnded':
      messages.turnEnded(message.message);
      composer.setBusy(messages.streamingCount > 0);
      break;
    case 'step':
      messages.step(message.messageId, message.step);
      break;
    case 'chips':
      composer.showChips(message.chips);
      break;
    case 'banner':
      banner.show(message.banner, message.demo);
      break;
    case 'focusPrompt':
      composer.focus();
      break;
  }
}

window.addEventListener('message', (event: MessageEvent) => {
  const data = event.data as ToWebview | undefined;
  if (data && typeof data === 'object' && typeof data.type === 'string') onMessage(data);
});
window.addEventListener('focus', () => post({ type: 'focusChanged', focused: true }));
window.addEventListener('blur', () => post({ type: 'focusChanged', focused: false }));

messages.showEmptyState();
post({ type: 'ready' });
