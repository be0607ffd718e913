/// <reference lib="dom" />
// The conversation: messages drawn from what the extension sends, answers streamed in as markdown (re-rendered at
// most ~20 times a second), tool steps at the points of the answer where they were made, and the code blocks'
// and Retry buttons.
import type { MessageView, ToolStepView } from '../extension/chat/webviewProtocol';
import { button, el, type Post } from './dom';
import type { ToolSteps } from './toolSteps';

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

export class Messages {
  /** Answers being streamed: their markdown so far, and whether the DOM is behind. */
  private readonly streaming = new Map<string, { content: string; dirty: boolean }>();
  private renderQueued = false;
  private lastRender = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly steps: ToolSteps,
    private readonly renderMarkdown: (markdown: string) => string,
    /** The prompt has the focus: a consent card does not take it away. */
    private readonly promptFocused: () => boolean,
    post: Post,
  ) {
    root.addEventListener('click', (e) => {
      const target = (e.target as HTMLElement).closest('button');
      if (!target || target.closest('.tool-step')) return; // a step's buttons are ToolSteps'
      if (target.classList.contains('retry')) {
        const id = target.closest<HTMLElement>('.message')?.dataset.id;
        if (id) post({ type: 'retry', messageId: id });
        return;
      }
      if (target.classList.contains('source-link')) {
        const id = target.closest<HTMLElement>('.message')?.dataset.id;
        const index = Number(target.dataset.index);
        if (id && Number.isInteger(index)) post({ type: 'openSource', messageId: id, index });
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
  }

  /** Answers still streaming. */
  get streamingCount(): number {
    return this.streaming.size;
  }

  /** The whole conversation, drawn again. */
  showAll(messages: MessageView[]): void {
    this.streaming.clear();
    this.steps.clear();
    this.root.replaceChildren(...messages.map((m) => this.render(m)));
    for (const m of messages) if (m.state === 'streaming') this.streaming.set(m.id, { content: m.content, dirty: false });
    this.showEmptyState();
    this.scrollToBottom();
    requestAnimationFrame(() => this.scrollToBottom());
  }

  turnStarted(user: MessageView | undefined, assistant: MessageView): void {
    if (user) this.root.append(this.render(user));
    const existing = this.element(assistant.id);
    if (existing) this.updateAssistant(existing, assistant);
    else this.root.append(this.render(assistant));
    this.streaming.set(assistant.id, { content: assistant.content, dirty: false });
    this.showEmptyState();
    this.scrollToBottom();
  }

  delta(messageId: string, text: string): void {
    const s = this.streaming.get(messageId);
    if (!s) return;
    s.content += text;
    s.dirty = true;
    this.queueRender();
  }

  turnEnded(message: MessageView): void {
    this.streaming.delete(message.id);
    const stick = this.nearBottom();
    const root = this.element(message.id);
    if (root) this.updateAssistant(root, message);
    if (stick) this.scrollToBottom();
  }

  /** A step began or changed: the answer is drawn again at once (a consent card must not wait for a frame). */
  step(messageId: string, step: ToolStepView): void {
    this.steps.put(messageId, step);
    const root = this.element(messageId);
    if (!root) return;
    const stick = this.nearBottom();
    const s = this.streaming.get(messageId);
    const content = root.querySelector<HTMLElement>('.content')!;
    if (!s) {
      // The answer has ended (a late update of a step): only that step changes.
      content.querySelector(`.tool-step[data-id="${CSS.escape(step.id)}"]`)?.replaceWith(this.steps.render(messageId, step));
      return;
    }
    this.renderContent(content, s.content, true, messageId);
    s.dirty = false;
    if (s.content.length === 0 && !this.steps.busy(messageId)) content.append(el('span', 'thinking', 'Thinking…'));
    if (step.consent) {
      const card = content.querySelector<HTMLElement>(`.tool-step[data-id="${CSS.escape(step.id)}"] .consent-card`);
      // Into view, and focused when the chat has the focus: Tab then reaches its buttons. A button is not focused
      // itself, so an Enter meant for the prompt never answers.
      card?.scrollIntoView({ block: 'nearest' });
      if (card && document.hasFocus() && !this.promptFocused()) card.focus();
    } else if (stick) {
      this.scrollToBottom();
    }
  }

  private element(id: string): HTMLElement | null {
    return this.root.querySelector<HTMLElement>(`.message[data-id="${CSS.escape(id)}"]`);
  }

  /** The answer's markdown with its tool steps at the points where they were made. */
  private renderContent(contentEl: HTMLElement, markdown: string, streamingNow: boolean, messageId: string): void {
    const steps = this.steps.of(messageId);
    if (steps.length === 0) {
      contentEl.innerHTML = this.renderMarkdown(markdown);
    } else {
      contentEl.replaceChildren();
      let at = 0;
      const segment = (text: string) => {
        if (!text.trim()) return;
        const part = el('div', 'segment');
        part.innerHTML = this.renderMarkdown(text);
        contentEl.append(part);
      };
      for (const step of [...steps].sort((a, b) => a.offset - b.offset)) {
        const offset = Math.min(Math.max(step.offset, at), markdown.length);
        segment(markdown.slice(at, offset));
        contentEl.append(this.steps.render(messageId, step));
        at = offset;
      }
      segment(markdown.slice(at));
    }
    decorateCodeBlocks(contentEl, streamingNow);
  }

  private render(m: MessageView): HTMLElement {
    const root = el('div', `message ${m.role}`);
    root.dataset.id = m.id;
    root.append(el('div', 'author', m.role === 'user' ? 'You' : 'Phi'));
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
    this.updateAssistant(root, m);
    return root;
  }

  private updateAssistant(root: HTMLElement, m: MessageView): void {
    const state = m.state ?? 'done';
    root.dataset.state = state;
    root.setAttribute('aria-busy', String(state === 'streaming'));
    const content = root.querySelector<HTMLElement>('.content')!;
    this.steps.set(m.id, m.steps ?? []); // a Retry starts without the old steps
    this.renderContent(content, m.content, state === 'streaming', m.id);
    if (state === 'streaming' && m.content.length === 0 && !this.steps.busy(m.id)) content.append(el('span', 'thinking', 'Thinking…'));
    root.querySelector('.error')?.remove();
    root.querySelector('.stats')?.remove();
    root.querySelector('.sources')?.remove();
    if (state === 'error') {
      const error = el('div', 'error');
      error.setAttribute('role', 'alert');
      error.append(el('span', 'error-text', m.error ?? 'The answer failed.'), button('retry', 'Retry', 'Ask again'));
      root.append(error);
    }
    if (m.sources?.length && state !== 'streaming') root.append(this.sourcesList(m));
    const stats = statsText(m);
    if (stats && state !== 'streaming') {
      const footer = el('div', 'stats', stats.text);
      footer.title = stats.title;
      root.append(footer);
    }
  }

  /** An `@workspace` answer's Sources: the excerpts it had, each a link to the file at the line (cited ones first). */
  private sourcesList(m: MessageView): HTMLElement {
    const list = el('div', 'sources');
    list.append(el('div', 'sources-title', 'Sources'));
    const items = el('ol');
    for (const [i, s] of (m.sources ?? []).entries()) {
      const link = button(`source-link${s.cited ? ' cited' : ''}`, s.label, s.cited ? 'Cited in the answer: open the file at this line' : 'Open the file at this line');
      link.dataset.index = String(i);
      const item = el('li');
      item.append(link);
      items.append(item);
    }
    list.append(items);
    return list;
  }

  showEmptyState(): void {
    if (this.root.querySelector('.message')) {
      this.root.querySelector('.empty')?.remove();
      return;
    }
    if (this.root.querySelector('.empty')) return;
    const empty = el('div', 'empty');
    empty.append(
      el('p', 'empty-title', 'Ask Phi about your code'),
      // True for either engine (the status bar says which runs): the local one keeps everything here, a remote one
      // sends only to the server the user agreed to (extension/engineLaunch.ts).
      el('p', undefined, 'Phi-4-mini answers with the engine the status bar shows: on this machine, nothing you type leaves it; with a remote engine, it goes only to the server you agreed to. The selection or the active file goes along as context; remove the chip to leave it out.'),
    );
    this.root.append(empty);
  }

  private nearBottom(): boolean {
    return this.root.scrollHeight - this.root.scrollTop - this.root.clientHeight < 60;
  }

  private scrollToBottom(): void {
    this.root.scrollTop = this.root.scrollHeight;
  }

  /** Re-renders streaming answers at most ~20 times a second: markdown is parsed whole each time. */
  private queueRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => this.flushRender());
  }

  private flushRender(): void {
    this.renderQueued = false;
    const now = performance.now();
    if (now - this.lastRender < 50) {
      this.queueRender();
      return;
    }
    this.lastRender = now;
    const stick = this.nearBottom();
    for (const [id, s] of this.streaming) {
      if (!s.dirty) continue;
      s.dirty = false;
      const root = this.element(id);
      if (root) this.renderContent(root.querySelector<HTMLElement>('.content')!, s.content, true, id);
    }
    if (stick) this.scrollToBottom();
  }
}
