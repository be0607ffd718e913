/// <reference lib="dom" />
// The prompt and its buttons: Enter sends, Shift+Enter breaks the line, Escape stops; the draft survives the
// webview being recreated; the context chips that go with the next message.
import type { ChipView } from '../extension/chat/webviewProtocol';
import { button, el, type Post } from './dom';

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

  constructor(private readonly els: ComposerElements, private readonly post: Post, private readonly drafts: DraftStore) {
    const { prompt } = els;
    prompt.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
        e.preventDefault();
        this.send();
      }
    });
    prompt.addEventListener('input', () => {
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
