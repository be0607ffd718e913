/// <reference lib="dom" />
// The prompt and its buttons: Enter sends, Shift+Enter breaks the line, Escape stops; the draft survives the
// webview being recreated; the context chips that go with the next message; the completion popup of slash commands
// (slashMenu.ts) and the note a command that could not run leaves.
import type { ChipView, CompletionItemView, ToWebview } from '../extension/chat/webviewProtocol';
import { button, el, type Post } from './dom';
import { SlashMenu } from './slashMenu';

export interface ComposerElements {
  prompt: HTMLTextAreaElement;
  send: HTMLButtonElement;
  stop: HTMLButtonElement;
  newChat: HTMLButtonElement;
  chips: HTMLElement;
}

/** Where the draft is kept (the webview's own state). */
export interface DraftStore {
  getState(): unknown;
  setState(state: unknown): void;
}

export class Composer {
  private busy = false;
  private readonly menu: SlashMenu;
  private readonly notice: HTMLElement;

  constructor(private readonly els: ComposerElements, private readonly post: Post, private readonly drafts: DraftStore) {
    const { prompt } = els;
    this.menu = new SlashMenu(prompt);
    this.notice = el('div', 'composer-notice');
    this.notice.setAttribute('role', 'status');
    this.notice.hidden = true;
    prompt.before(this.menu.element);
    prompt.after(this.notice);
    prompt.addEventListener('keydown', (e) => {
      if (this.menu.handleKey(e)) return;
      if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
        e.preventDefault();
        this.send();
      }
    });
    prompt.addEventListener('input', () => {
      this.showNotice(undefined);
      this.autoGrow();
      this.saveDraft();
    });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.busy) {
        e.preventDefault();
        post({ type: 'stop' });
      }
    });
    els.send.addEventListener('click', () => this.send());
    els.stop.addEventListener('click', () => post({ type: 'stop' }));
    els.newChat.addEventListener('click', () => post({ type: 'newChat' }));
    els.chips.addEventListener('click', (e) => {
      const remove = (e.target as HTMLElement).closest('button.remove');
      const id = remove?.closest<HTMLElement>('.chip')?.dataset.id;
      if (id) post({ type: 'removeChip', id });
    });
    // The extension's completion list and notes come to the composer directly (chat.ts routes the rest).
    window.addEventListener('message', (event: MessageEvent) => {
      const m = event.data as ToWebview | undefined;
      if (m?.type === 'completions' && Array.isArray(m.items)) this.setCompletions(m.items);
      else if (m?.type === 'notice' && typeof m.text === 'string') this.showNotice(m.text);
    });
    const saved = drafts.getState() as { draft?: string } | undefined;
    if (typeof saved?.draft === 'string') prompt.value = saved.draft;
    this.autoGrow();
    this.setBusy(false);
  }

  get focused(): boolean {
    return document.activeElement === this.els.prompt;
  }

  focus(): void {
    this.els.prompt.focus();
  }

  setBusy(value: boolean): void {
    this.busy = value;
    this.els.stop.hidden = !value;
    this.els.send.hidden = value;
    document.body.classList.toggle('busy', value);
  }

  /** The completion list (slash commands, prompt files) the extension sent. */
  setCompletions(items: CompletionItemView[]): void {
    this.menu.setItems(items);
  }

  /** A short note under the box (undefined hides it); typing hides it too. */
  showNotice(text: string | undefined): void {
    this.notice.textContent = text ?? '';
    this.notice.hidden = !text;
  }

  showChips(chips: ChipView[]): void {
    this.els.chips.replaceChildren(...chips.map((c) => {
      const chip = el('span', `chip ${c.kind}`);
      chip.dataset.id = c.id;
      chip.title = c.title;
      chip.append(el('span', 'chip-label', c.label));
      // The instructions chip is read-only: the setting turns the instructions off.
      if (c.kind !== 'instructions') {
        const remove = button('remove', '×', `Don't send ${c.label}`);
        remove.setAttribute('aria-label', `Remove ${c.label}`);
        chip.append(remove);
      }
      return chip;
    }));
    this.els.chips.hidden = chips.length === 0;
  }

  private send(): void {
    const text = this.els.prompt.value.trim();
    if (!text || this.busy) return;
    this.menu.close();
    this.showNotice(undefined);
    this.post({ type: 'send', text });
    this.els.prompt.value = '';
    this.autoGrow();
    this.saveDraft();
  }

  private autoGrow(): void {
    const prompt = this.els.prompt;
    prompt.style.height = 'auto';
    prompt.style.height = `${Math.min(prompt.scrollHeight, 240)}px`;
  }

  private saveDraft(): void {
    this.drafts.setState({ draft: this.els.prompt.value });
  }
}
