/// <reference lib="dom" />
// Small DOM helpers shared by the chat webview's modules.
import type { FromWebview } from '../extension/chat/webviewProtocol';

export type Post = (message: FromWebview) => void;

export function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} is missing from the chat page`);
  return e as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

export function button(className: string, label: string, title?: string): HTMLButtonElement {
  const b = el('button', className, label);
  b.type = 'button';
  if (title) b.title = title;
  return b;
}
