// After a model loads, the heads of the prompts the features send (the chat's system prompt with its tool
// definitions, Explain's and the refactors' system prompts) are computed ahead of need by the sidecar, at idle
// priority (any real request stops it), and kept on disk there: the first chat after a restart then starts from
// them instead of a minute of prefill on a CPU. A head the sidecar already has (in memory or on disk) costs nothing.
import * as vscode from 'vscode';
import type { PromptHead } from '../sidecar/protocol';
import { describeError, type ModelManager } from './model/modelManager';
import type { SidecarClient } from './sidecarClient';

/** Waits this long after a load, so the load's own notifications and a first request go first. */
const AFTER_LOAD_MS = 1500;

export class PromptWarmer implements vscode.Disposable {
  private readonly subscription: vscode.Disposable;
  private warmedFor: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sidecar: SidecarClient,
    private readonly models: ModelManager,
    private readonly heads: () => Promise<PromptHead[]>,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscription = models.onDidChange(() => this.onPhase());
  }

  private onPhase(): void {
    const phase = this.models.phase;
    if (phase.kind !== 'ready' || phase.info.backend === 'remote') return;
    // Once per load: a new load (another model, a restarted sidecar) has new caches to fill.
    const load = `${phase.info.dir}|${phase.info.loadMs}`;
    if (load === this.warmedFor) return;
    this.warmedFor = load;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.warm(), AFTER_LOAD_MS);
  }

  private async warm(): Promise<void> {
    try {
      const result = await this.sidecar.warmPrompts({ heads: await this.heads() });
      this.log.info(`Prompt cache: ${result.heads.map((h) => `${h.feature} ${h.where} (${h.ms} ms)`).join(', ')}.`);
    } catch (e) {
      this.log.warn(`Prompt cache: could not prepare the prompts' heads: ${describeError(e)}`);
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.subscription.dispose();
  }
}
