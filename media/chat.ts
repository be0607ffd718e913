/// <reference lib="dom" />
// The chat webview: renders the conversation the extension sends, streams answers in as markdown, and turns
// clicks and keys into messages back (webviewProtocol.ts). It holds no conversation state of its own: after the
// webview is recreated (hidden and shown again), the extension sends everything again.
//
// DOM hooks the end-to-end tests rely on (keep them stable): textarea#prompt, button#send, button#stop (shown only
// while generating), button#new-chat, #messages, .message.user / .message.assistant[data-state], .message .content,
// .code-block with button.copy / button.insert / button.apply, .message .error with button.retry, .chip with
// button.remove, .stats; tool calls: .tool-step[data-id][data-tool][data-state] (inside .content, at the point of
// the answer where the call was made) with a <details> (.tool-args, .tool-result) and, while a writing call waits,
// .consent-card with button.consent-once / button.consent-chat / button.consent-deny / button.show-diff.
import DOMPurify from 'dompurify';
import type { Banner, BannerAction, ChipView, ConsentChoice, FromWebview, MessageView, ToolStepView, ToWebview } from '../extension/chat/webviewProtocol';
import { createMarkdownRenderer } from './markdown';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const post = (message: FromWebview): void => vscode.postMessage(message);
const renderMarkdown = createMarkdownRenderer(DOMPurify);

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the chat page`);
  return el as T;
}

const messagesEl = byId<HTMLDivElement>('messages');
const promptEl = byId<HTMLTextAreaElement>('prompt');
const sendButton = byId<HTMLButtonElement>('send');
const stopButton = byId<HTMLButtonElement>('stop');
const newChatButton = byId<HTMLButtonElement>('new-chat');
const chipsEl = byId<HTMLDivElement>('chips');
const bannerEl = byId<HTMLDivElement>('banner');
const demoEl = byId<HTMLDivElement>('demo');

let busy = false;
/** Answers being streamed: their markdown so far, and whether the DOM is behind. */
const streaming = new Map<string, { content: string; dirty: boolean }>();
let renderQueued = false;
let lastRender = 0;
/** Tool steps of each answer shown, by message id. */
const stepsOf = new Map<string, ToolStepView[]>();
/** Steps the user expanded (message id + step id), kept open across re-renders. */
const expandedSteps = new Set<string>();

// ---- elements -------------------------------------------------------------------------------------------

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function button(className: string, label: string, title?: string): HTMLButtonElement {
  const b = el('button', className, label);
  b.type = 'button';
  if (title) b.title = title;
  return b;
}

/** Wraps each highlighted block in a .code-block with Copy, Insert and Apply. */
function decorateCodeBlocks(root: HTMLElement, streamingNow: boolean): void {
  for (const pre of Array.from(root.querySelectorAll('pre'))) {
    if (pre.closest('.tool-step')) continue; // a tool's arguments or result, not the model's code
    const code = pre.querySelector('code');
    if (!code || pre.parentElement?.classList.contains('code-block')) continue;
    const language = /(?:^|\s)language-(\S+)/.exec(code.className)?.[1] ?? '';
    const block = el('div', 'code-block');
    block.dataset.language = language;
    const bar = el('div', 'code-toolbar');
    bar.append(
      el('span', 'code-language', language),
      button('copy', 'Copy', 'Copy to the clipboard'),
      button('insert', 'Insert', 'Insert at the cursor in the editor'),
      button('apply', 'Apply', 'Preview this code replacing the selection (or the file) in the editor, then apply it'),
    );
    if (streamingNow) for (const b of Array.from(bar.querySelectorAll('button'))) b.disabled = true;
    pre.replaceWith(block);
    block.append(bar, pre);
  }
}

const STEP_STATE_LABELS: Record<ToolStepView['state'], string> = {
  running: 'running…',
  'awaiting-consent': 'waiting for your answer',
  done: 'done',
  error: 'failed',
  denied: 'denied',
  cancelled: 'stopped',
};

/** The argument that says what a call is about (its path, pattern or query), for the step's one-line summary. */
function stepTarget(step: ToolStepView): string {
  try {
    const args = JSON.parse(step.arguments) as Record<string, unknown>;
    const value = args.path ?? args.pattern ?? args.query;
    return typeof value === 'string' ? value : '';
  } catch {
    return '';
  }
}

function stepKey(messageId: string, stepId: string): string {
  return `${messageId}\u0000${stepId}`;
}

/** A tool call: collapsed to one line (tool, target, state); expanded, its arguments and result. */
function renderStep(messageId: string, step: ToolStepView): HTMLElement {
  const root = el('div', 'tool-step');
  root.dataset.id = step.id;
  root.dataset.tool = step.name;
  root.dataset.state = step.state;
  const details = el('details');
  details.open = expandedSteps.has(stepKey(messageId, step.id));
  const summary = el('summary');
  const target = stepTarget(step);
  summary.append(el('span', 'tool-icon', '⚙'), el('span', 'tool-name', step.name));
  if (target) summary.append(el('span', 'tool-target', target));
  summary.append(el('span', 'tool-state', STEP_STATE_LABELS[step.state]));
  details.append(summary, el('div', 'tool-label', 'Arguments'), el('pre', 'tool-args', step.arguments));
  if (step.result !== undefined) details.append(el('div', 'tool-label', 'Result'), el('pre', 'tool-result', step.result));
  root.append(details);
  if (step.consent) root.append(renderConsent(step));
  return root;
}

/** The question a writing call asks: what it changes, and three answers (plus the diff again). */
function renderConsent(step: ToolStepView): HTMLElement {
  const card = el('div', 'consent-card');
  card.setAttribute('role', 'group');
  card.tabIndex = -1;
  const title = el('div', 'consent-title', step.consent!.title);
  title.id = `consent-title-${step.id}`;
  card.setAttribute('aria-labelledby', title.id);
  const actions = el('div', 'consent-actions');
  const choice = (c: ConsentChoice, className: string, label: string, hint: string) => {
    const b = button(`consent ${className}`, label, hint);
    b.dataset.choice = c;
    return b;
  };
  actions.append(
    choice('once', 'consent-once', 'Allow once', 'Apply this change'),
    choice('chat', 'consent-chat', 'Allow for this chat', 'Apply this and later changes in this conversation without asking'),
    choice('deny', 'consent-deny', 'Deny', 'Do not change anything; Phi is told you said no'),
    button('show-diff', 'Show diff', 'Open the diff of this change again'),
  );
  card.append(title, el('div', 'consent-detail', step.consent!.detail), actions);
  return card;
}

/** The answer's markdown with its tool steps at the points where they were made. */
function renderContent(contentEl: HTMLElement, markdown: string, streamingNow: boolean, messageId?: string): void {
  const steps = messageId ? stepsOf.get(messageId) ?? [] : [];
  if (steps.length === 0) {
    contentEl.innerHTML = renderMarkdown(markdown);
  } else {
    contentEl.replaceChildren();
    let at = 0;
    const segment = (text: string) => {
      if (!text.trim()) return;
      const part = el('div', 'segment');
      part.innerHTML = renderMarkdown(text);
      contentEl.append(part);
    };
    for (const step of [...steps].sort((a, b) => a.offset - b.offset)) {
      const offset = Math.min(Math.max(step.offset, at), markdown.length);
      segment(markdown.slice(at, offset));
      contentEl.append(renderStep(messageId!, step));
      at = offset;
    }
    segment(markdown.slice(at));
  }
  decorateCodeBlocks(contentEl, streamingNow);
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function statsText(m: MessageView): { text: string; title: string } | undefined {
  const s = m.stats;
  if (!s) return m.state === 'cancelled' ? { text: 'Stopped', title: '' } : undefined;
  const parts = [`${s.completionTokens} tokens`, `${s.tokensPerSecond.toFixed(1)} tok/s`, `first token ${formatSeconds(s.timeToFirstTokenMs)}`];
  if (s.finishReason === 'cancelled') parts.push('stopped');
  if (s.finishReason === 'length') parts.push('token limit reached');
  return {
    text: parts.join(' · '),
    title: `Prompt ${s.promptTokens} tokens (${s.reusedTokens} reused from the cache) · answer ${s.completionTokens} tokens in ${formatSeconds(s.totalMs)}`,
  };
}

function messageElement(id: string): HTMLElement | null {
  return messagesEl.querySelector<HTMLElement>(`.message[data-id="${CSS.escape(id)}"]`);
}

function renderMessage(m: MessageView): HTMLElement {
  const root = el('div', `message ${m.role}`);
  root.dataset.id = m.id;
  const who = el('div', 'author', m.role === 'user' ? 'You' : 'Phi');
  root.append(who);
  if (m.role === 'user') {
    if (m.chips?.length) {
      const chips = el('div', 'sent-chips');
      for (const c of m.chips) {
        const chip = el('span', `sent-chip ${c.kind}`, c.label);
        chip.title = c.title;
        chips.append(chip);
      }
      root.append(chips);
    }
    root.append(el('div', 'content', m.content));
    return root;
  }
  root.append(el('div', 'content'));
  updateAssistant(root, m);
  return root;
}

function updateAssistant(root: HTMLElement, m: MessageView): void {
  const state = m.state ?? 'done';
  root.dataset.state = state;
  root.setAttribute('aria-busy', String(state === 'streaming'));
  const content = root.querySelector<HTMLElement>('.content')!;
  stepsOf.set(m.id, m.steps ?? []); // a Retry starts without the old steps
  renderContent(content, m.content, state === 'streaming', m.id);
  if (state === 'streaming' && m.content.length === 0 && !stepBusy(m.id)) content.append(el('span', 'thinking', 'Thinking…'));
  root.querySelector('.error')?.remove();
  root.querySelector('.stats')?.remove();
  if (state === 'error') {
    const error = el('div', 'error');
    error.setAttribute('role', 'alert');
    error.append(el('span', 'error-text', m.error ?? 'The answer failed.'), button('retry', 'Retry', 'Ask again'));
    root.append(error);
  }
  const stats = statsText(m);
  if (stats && state !== 'streaming') {
    const footer = el('div', 'stats', stats.text);
    footer.title = stats.title;
    root.append(footer);
  }
}

/** A step of this answer is running or waiting for the user. */
function stepBusy(messageId: string): boolean {
  return (stepsOf.get(messageId) ?? []).some((s) => s.state === 'running' || s.state === 'awaiting-consent');
}

/** A step began or changed: the answer is drawn again at once (a consent card must not wait for a frame). */
function onStep(messageId: string, step: ToolStepView): void {
  const steps = stepsOf.get(messageId) ?? [];
  const at = steps.findIndex((s) => s.id === step.id);
  if (at >= 0) steps[at] = step;
  else steps.push(step);
  stepsOf.set(messageId, steps);
  const root = messageElement(messageId);
  if (!root) return;
  const stick = nearBottom();
  const s = streaming.get(messageId);
  const content = root.querySelector<HTMLElement>('.content')!;
  if (s) {
    renderContent(content, s.content, true, messageId);
    s.dirty = false;
    if (s.content.length === 0 && !stepBusy(messageId)) content.append(el('span', 'thinking', 'Thinking…'));
  } else {
    // The answer has ended (a late update of a step): only that step changes.
    content.querySelector(`.tool-step[data-id="${CSS.escape(step.id)}"]`)?.replaceWith(renderStep(messageId, step));
    return;
  }
  if (step.consent) {
    const card = content.querySelector<HTMLElement>(`.tool-step[data-id="${CSS.escape(step.id)}"] .consent-card`);
    // Into view, and focused when the chat has the focus: Tab then reaches its buttons. A button is not focused
    // itself, so an Enter meant for the prompt never answers.
    card?.scrollIntoView({ block: 'nearest' });
    if (card && document.hasFocus() && document.activeElement !== promptEl) card.focus();
  } else if (stick) {
    scrollToBottom();
  }
}

function showEmptyState(): void {
  if (messagesEl.querySelector('.message')) {
    messagesEl.querySelector('.empty')?.remove();
    return;
  }
  if (messagesEl.querySelector('.empty')) return;
  const empty = el('div', 'empty');
  empty.append(
    el('p', 'empty-title', 'Ask Phi about your code'),
    el('p', undefined, 'Phi-4-mini runs on this machine: nothing you type leaves it. The selection or the active file goes along as context; remove the chip to leave it out.'),
  );
  messagesEl.append(empty);
}

// ---- scrolling and streaming ------------------------------------------------------------------------------

function nearBottom(): boolean {
  return messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 60;
}

function scrollToBottom(): void {
  messagesEl.scrollTop = messagesEl.scrollHeight;
}

/** Re-renders streaming answers at most ~20 times a second: markdown is parsed whole each time. */
function queueRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(flushRender);
}

function flushRender(): void {
  renderQueued = false;
  const now = performance.now();
  if (now - lastRender < 50) {
    queueRender();
    return;
  }
  lastRender = now;
  const stick = nearBottom();
  for (const [id, s] of streaming) {
    if (!s.dirty) continue;
    s.dirty = false;
    const root = messageElement(id);
    if (root) renderContent(root.querySelector<HTMLElement>('.content')!, s.content, true, id);
  }
  if (stick) scrollToBottom();
}

// ---- composer -------------------------------------------------------------------------------------------

function setBusy(value: boolean): void {
  busy = value;
  stopButton.hidden = !value;
  sendButton.hidden = value;
  document.body.classList.toggle('busy', value);
}

function autoGrow(): void {
  promptEl.style.height = 'auto';
  promptEl.style.height = `${Math.min(promptEl.scrollHeight, 240)}px`;
}

function saveDraft(): void {
  vscode.setState({ draft: promptEl.value });
}

function send(): void {
  const text = promptEl.value.trim();
  if (!text || busy) return;
  post({ type: 'send', text });
  promptEl.value = '';
  autoGrow();
  saveDraft();
}

function renderChips(chips: ChipView[]): void {
  chipsEl.replaceChildren(...chips.map((c) => {
    const chip = el('span', `chip ${c.kind}`);
    chip.dataset.id = c.id;
    chip.title = c.title;
    const remove = button('remove', '×', `Don't send ${c.label}`);
    remove.setAttribute('aria-label', `Remove ${c.label}`);
    chip.append(el('span', 'chip-label', c.label), remove);
    return chip;
  }));
  chipsEl.hidden = chips.length === 0;
}

const ACTION_LABELS: Record<BannerAction, string> = {
  downloadModel: 'Download Model',
  selectModelFolder: 'Select Model Folder',
  showLogs: 'Show Logs',
  restartSidecar: 'Restart Sidecar',
  openSettings: 'Open Settings',
};

function renderBanner(banner: Banner | undefined, demo: boolean): void {
  demoEl.hidden = !demo;
  if (!banner) {
    bannerEl.hidden = true;
    bannerEl.replaceChildren();
    return;
  }
  bannerEl.hidden = false;
  bannerEl.className = `banner ${banner.kind}`;
  const text = el('span', 'banner-text', banner.text);
  const actions = (banner.actions ?? []).map((a) => {
    const b = button('banner-action', ACTION_LABELS[a]);
    b.dataset.action = a;
    return b;
  });
  bannerEl.replaceChildren(text, ...actions);
  if (banner.dismissible) {
    const close = button('banner-close', '×', 'Dismiss');
    close.setAttribute('aria-label', 'Dismiss');
    bannerEl.append(close);
  }
}

// ---- messages from the extension --------------------------------------------------------------------------

function onMessage(message: ToWebview): void {
  switch (message.type) {
    case 'conversation': {
      streaming.clear();
      stepsOf.clear();
      messagesEl.replaceChildren(...message.messages.map(renderMessage));
      for (const m of message.messages) if (m.state === 'streaming') streaming.set(m.id, { content: m.content, dirty: false });
      setBusy(message.busy);
      showEmptyState();
      scrollToBottom();
      requestAnimationFrame(scrollToBottom);
      break;
    }
    case 'turnStarted': {
      if (message.user) messagesEl.append(renderMessage(message.user));
      const existing = messageElement(message.assistant.id);
      if (existing) updateAssistant(existing, message.assistant);
      else messagesEl.append(renderMessage(message.assistant));
      streaming.set(message.assistant.id, { content: message.assistant.content, dirty: false });
      setBusy(true);
      showEmptyState();
      scrollToBottom();
      break;
    }
    case 'delta': {
      const s = streaming.get(message.messageId);
      if (!s) break;
      s.content += message.text;
      s.dirty = true;
      queueRender();
      break;
    }
    case 'turnEnded': {
      streaming.delete(message.message.id);
      const stick = nearBottom();
      const root = messageElement(message.message.id);
      if (root) updateAssistant(root, message.message);
      setBusy(streaming.size > 0);
      if (stick) scrollToBottom();
      break;
    }
    case 'step':
      onStep(message.messageId, message.step);
      break;
    case 'chips':
      renderChips(message.chips);
      break;
    case 'banner':
      renderBanner(message.banner, message.demo);
      break;
    case 'focusPrompt':
      promptEl.focus();
      break;
  }
}

window.addEventListener('message', (event: MessageEvent) => {
  const data = event.data as ToWebview | undefined;
  if (data && typeof data === 'object' && typeof data.type === 'string') onMessage(data);
});

// ---- user input -----------------------------------------------------------------------------------------

promptEl.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
    e.preventDefault();
    send();
  }
});
promptEl.addEventListener('input', () => {
  autoGrow();
  saveDraft();
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && busy) {
    e.preventDefault();
    post({ type: 'stop' });
  }
});
sendButton.addEventListener('click', send);
stopButton.addEventListener('click', () => post({ type: 'stop' }));
newChatButton.addEventListener('click', () => post({ type: 'newChat' }));

chipsEl.addEventListener('click', (e) => {
  const remove = (e.target as HTMLElement).closest('button.remove');
  const id = remove?.closest<HTMLElement>('.chip')?.dataset.id;
  if (id) post({ type: 'removeChip', id });
});

bannerEl.addEventListener('click', (e) => {
  const target = (e.target as HTMLElement).closest('button');
  if (!target) return;
  if (target.classList.contains('banner-close')) post({ type: 'dismissBanner' });
  else if (target.dataset.action) post({ type: 'action', action: target.dataset.action as BannerAction });
});

messagesEl.addEventListener('click', (e) => {
  const target = (e.target as HTMLElement).closest('button');
  if (!target) return;
  const step = target.closest<HTMLElement>('.tool-step');
  if (step) {
    const messageId = step.closest<HTMLElement>('.message')?.dataset.id;
    const stepId = step.dataset.id;
    if (!messageId || !stepId) return;
    if (target.dataset.choice) {
      // Answered once: the buttons go quiet until the extension closes the card.
      for (const b of Array.from(step.querySelectorAll<HTMLButtonElement>('.consent-card button'))) b.disabled = true;
      post({ type: 'consent', messageId, stepId, choice: target.dataset.choice as ConsentChoice });
    } else if (target.classList.contains('show-diff')) {
      post({ type: 'showDiff', messageId, stepId });
    }
    return;
  }
  if (target.classList.contains('retry')) {
    const id = target.closest<HTMLElement>('.message')?.dataset.id;
    if (id) post({ type: 'retry', messageId: id });
    return;
  }
  const block = target.closest<HTMLElement>('.code-block');
  const code = block?.querySelector('code')?.textContent;
  if (!block || code == null) return;
  const language = block.dataset.language || undefined;
  if (target.classList.contains('copy')) {
    post({ type: 'copy', code });
    target.textContent = 'Copied';
    setTimeout(() => { target.textContent = 'Copy'; }, 1500);
  } else if (target.classList.contains('insert')) {
    post({ type: 'insert', code, language });
  } else if (target.classList.contains('apply')) {
    post({ type: 'apply', code, language });
  }
});

// <details> toggles do not bubble: listen in the capture phase to remember which steps are open.
messagesEl.addEventListener('toggle', (e) => {
  const details = e.target as HTMLElement;
  if (!(details instanceof HTMLDetailsElement)) return;
  const step = details.closest<HTMLElement>('.tool-step');
  const messageId = step?.closest<HTMLElement>('.message')?.dataset.id;
  if (!step?.dataset.id || !messageId) return;
  const key = stepKey(messageId, step.dataset.id);
  if (details.open) expandedSteps.add(key);
  else expandedSteps.delete(key);
}, true);

window.addEventListener('focus', () => post({ type: 'focusChanged', focused: true }));
window.addEventListener('blur', () => post({ type: 'focusChanged', focused: false }));

const saved = vscode.getState() as { draft?: string } | undefined;
if (typeof saved?.draft === 'string') promptEl.value = saved.draft;
autoGrow();
setBusy(false);
showEmptyState();
post({ type: 'ready' });
