/// <reference lib="dom" />
// The input box's completion popup: while the word at the cursor starts like an entry of the list the extension
// sends (slash commands and prompt files; `atStart` ones only as the message's first word), a list of the matching
// entries shows above the box. Arrow keys move, Enter or Tab picks, Escape closes; a click picks too. The box is an
// ARIA combobox (aria-expanded, aria-activedescendant) and the list a listbox, so screen readers follow along.
// DOM hooks the end-to-end tests rely on: #slash-menu with [role="option"][data-label], and .composer-notice.
import type { CompletionItemView } from '../extension/chat/webviewProtocol';
import { el } from './dom';

export class SlashMenu {
  private items: CompletionItemView[] = [];
  private shown: CompletionItemView[] = [];
  private active = 0;
  /** The word being completed: where it starts in the box's text, and what was typed of it. */
  private word: { start: number; text: string } | undefined;
  readonly element: HTMLElement;

  constructor(private readonly input: HTMLTextAreaElement) {
    this.element = el('div', 'slash-menu');
    this.element.id = 'slash-menu';
    this.element.setAttribute('role', 'listbox');
    this.element.setAttribute('aria-label', 'Commands');
    this.element.hidden = true;
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', this.element.id);
    input.setAttribute('aria-expanded', 'false');
    input.addEventListener('input', () => this.update());
    input.addEventListener('click', () => this.update());
    input.addEventListener('blur', () => this.close());
    // mousedown, not click: the box keeps the focus (and so the menu its state) until the pick.
    this.element.addEventListener('mousedown', (e) => {
      const option = (e.target as HTMLElement).closest<HTMLElement>('[role="option"]');
      if (!option) return;
      e.preventDefault();
      this.pick(Number(option.dataset.index));
    });
    this.element.addEventListener('mousemove', (e) => {
      const option = (e.target as HTMLElement).closest<HTMLElement>('[role="option"]');
      if (option && Number(option.dataset.index) !== this.active) this.setActive(Number(option.dataset.index));
    });
  }

  get open(): boolean {
    return !this.element.hidden;
  }

  setItems(items: CompletionItemView[]): void {
    this.items = items;
    if (this.open || document.activeElement === this.input) this.update();
  }

  /** Handles a key pressed in the box while the menu is open; true when it was the menu's (the box ignores it then). */
  handleKey(e: KeyboardEvent): boolean {
    if (!this.open || e.isComposing || e.altKey || e.ctrlKey || e.metaKey) return false;
    switch (e.key) {
      case 'ArrowDown': case 'ArrowUp': {
        const n = this.shown.length;
        this.setActive((this.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
        break;
      }
      case 'Enter': case 'Tab':
        if (e.shiftKey) return false;
        // The whole command typed already: Enter sends it, as if there were no menu.
        if (e.key === 'Enter' && this.shown[this.active]?.label === this.word?.text) {
          this.close();
          return false;
        }
        this.pick(this.active);
        break;
      case 'Escape':
        this.close();
        break;
      default:
        return false;
    }
    e.preventDefault();
    e.stopPropagation();
    return true;
  }

  /** The word before the cursor, if an entry could complete it. */
  private wordAtCursor(): { start: number; text: string } | undefined {
    const { value, selectionStart, selectionEnd } = this.input;
    if (selectionStart !== selectionEnd) return undefined;
    const before = value.slice(0, selectionStart);
    const m = /(^|\s)(\S*)$/.exec(before);
    const text = m?.[2] ?? '';
    if (!text) return undefined;
    // Only up to the end of the word: a cursor inside a word completes nothing.
    if (/^\S/.test(value.slice(selectionStart))) return undefined;
    return { start: before.length - text.length, text };
  }

  private update(): void {
    const word = this.wordAtCursor();
    const typed = word?.text.toLowerCase() ?? '';
    const shown = word
      ? this.items.filter((i) => i.label.toLowerCase().startsWith(typed) && (!i.atStart || this.input.value.slice(0, word.start).trim() === ''))
      : [];
    if (shown.length === 0) {
      this.close();
      return;
    }
    const keep = this.shown[this.active]?.label;
    this.word = word;
    this.shown = shown;
    this.render();
    this.setActive(Math.max(0, shown.findIndex((i) => i.label === keep)));
  }

  private render(): void {
    this.element.replaceChildren(...this.shown.map((item, index) => {
      const option = el('div', 'slash-item');
      option.id = `slash-item-${index}`;
      option.dataset.index = String(index);
      option.dataset.label = item.label;
      option.setAttribute('role', 'option');
      option.append(el('span', 'slash-label', item.label), el('span', 'slash-description', item.description));
      if (item.detail) option.append(el('span', 'slash-detail', item.detail));
      option.title = item.description;
      return option;
    }));
    this.element.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
  }

  private setActive(index: number): void {
    this.active = index;
    const options = Array.from(this.element.children) as HTMLElement[];
    options.forEach((o, i) => {
      o.setAttribute('aria-selected', String(i === index));
      o.classList.toggle('active', i === index);
    });
    const current = options[index];
    if (current) {
      this.input.setAttribute('aria-activedescendant', current.id);
      current.scrollIntoView({ block: 'nearest' });
    }
  }

  /** Puts the entry in place of the word, with a space after it, and closes. */
  private pick(index: number): void {
    const item = this.shown[index];
    const word = this.word;
    if (!item || !word) return;
    const { value } = this.input;
    const after = value.slice(word.start + word.text.length);
    const inserted = after.startsWith(' ') ? item.label : `${item.label} `;
    this.input.value = value.slice(0, word.start) + inserted + after;
    const cursor = word.start + inserted.length + (after.startsWith(' ') ? 1 : 0);
    this.input.setSelectionRange(cursor, cursor);
    this.close();
    this.input.focus();
    // The composer grows the box and keeps the draft on input.
    this.input.dispatchEvent(new Event('input', { bubbles: true }));
    this.close();
  }

  close(): void {
    if (this.element.hidden) return;
    this.element.hidden = true;
    this.element.replaceChildren();
    this.shown = [];
    this.word = undefined;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
  }
}
