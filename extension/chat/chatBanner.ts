// The line above the prompt that says what the model and the sidecar are doing, with the actions that help.
// Posted only when it changes.
import * as vscode from 'vscode';
import { describeError, NO_MODEL_MESSAGE, type ModelManager } from '../model/modelManager';
import type { SidecarClient } from '../sidecarClient';
import type { Banner, ToWebview } from './webviewProtocol';

export class ChatBanner implements vscode.Disposable {
  /** The sidecar died in this session: once the model is back, the banner says it recovered. */
  private recovered = false;
  private dismissed = false;
  private last = '';
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly sidecar: SidecarClient,
    private readonly models: ModelManager,
    private readonly demo: boolean,
    private readonly post: (message: ToWebview) => void,
  ) {
    this.subscriptions = [
      sidecar.onDidChange(() => this.show()),
      sidecar.onDidCrash(() => {
        this.recovered = true;
        this.dismissed = false;
      }),
      models.onDidChange(() => this.show()),
    ];
  }

  private banner(): Banner | undefined {
    const state = this.sidecar.state;
    if (state === 'restarting') {
      return { kind: 'warning', text: 'The sidecar (the process that runs the model) stopped unexpectedly. Restarting it…', actions: ['showLogs'] };
    }
    if (state === 'failed') {
      return { kind: 'error', text: 'The sidecar is not running, so Phi cannot answer.', actions: ['restartSidecar', 'showLogs'] };
    }
    const phase = this.models.phase;
    if (phase.kind === 'loading') return { kind: 'info', text: `Loading the model${phase.message ? `: ${phase.message}` : '…'}` };
    if (phase.kind === 'failed') {
      return { kind: 'error', text: `The model could not be loaded: ${describeError(phase.error)}`, actions: ['selectModelFolder', 'showLogs'] };
    }
    if (phase.kind !== 'ready' && !this.models.configured) return { kind: 'warning', text: NO_MODEL_MESSAGE, actions: ['downloadModel', 'selectModelFolder'] };
    if (phase.kind === 'ready' && this.recovered && !this.dismissed) {
      return { kind: 'info', text: 'The sidecar stopped and was restarted; the model is loaded again.', actions: ['showLogs'], dismissible: true };
    }
    return undefined;
  }

  /** Posts the banner if it changed (`force`: the webview is new and has none). */
  show(force = false): void {
    const banner = this.banner();
    const key = JSON.stringify(banner ?? null);
    if (!force && key === this.last) return;
    this.last = key;
    this.post({ type: 'banner', banner, demo: this.demo });
  }

  dismiss(): void {
    this.dismissed = true;
    this.show();
  }

  /** A turn was answered: the "restarted" notice has done its job. */
  answered(): void {
    if (this.recovered && !this.dismissed) this.dismiss();
  }

  dispose(): void {
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}
