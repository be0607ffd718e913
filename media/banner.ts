/// <reference lib="dom" />
// The line above the conversation about the model and the sidecar, with its actions; and the demo-model notice.
import type { Banner, BannerAction } from '../extension/chat/webviewProtocol';
import { button, el, type Post } from './dom';

const ACTION_LABELS: Record<BannerAction, string> = {
  downloadModel: 'Download Model',
  selectModelFolder: 'Select Model Folder',
  showLogs: 'Show Logs',
  restartSidecar: 'Restart Sidecar',
  openSettings: 'Open Settings',
};

export class BannerView {
  constructor(private readonly bannerEl: HTMLElement, private readonly demoEl: HTMLElement, post: Post) {
    bannerEl.addEventListener('click', (e) => {
      const target = (e.target as HTMLElement).closest('button');
      if (!target) return;
      if (target.classList.contains('banner-close')) post({ type: 'dismissBanner' });
      else if (target.dataset.action) post({ type: 'action', action: target.dataset.action as BannerAction });
    });
  }

  show(banner: Banner | undefined, demo: boolean): void {
    this.demoEl.hidden = !demo;
    if (!banner) {
      this.bannerEl.hidden = true;
      this.bannerEl.replaceChildren();
      return;
    }
    this.bannerEl.hidden = false;
    this.bannerEl.className = `banner ${banner.kind}`;
    const text = el('span', 'banner-text', banner.text);
    const actions = (banner.actions ?? []).map((a) => {
      const b = button('banner-action', ACTION_LABELS[a]);
      b.dataset.action = a;
      return b;
    });
    this.bannerEl.replaceChildren(text, ...actions);
    if (banner.dismissible) {
      const close = button('banner-close', '×', 'Dismiss');
      close.setAttribute('aria-label', 'Dismiss');
      this.bannerEl.append(close);
    }
  }
}
