// Phi: Start / Stop OpenAI-Compatible Server — the model the sidecar already holds, offered to other tools on this
// machine at http://127.0.0.1:<phiLocal.serve.port>/v1 (the sidecar's phi/serve, the same server as `phi-local
// serve`). Loopback only, so nothing is reachable from other machines; it stops with the sidecar, and says so.
import * as vscode from 'vscode';
import type { ModelManager } from './model/modelManager';
import type { SidecarClient } from './sidecarClient';
import { readServePort } from './config';

export class ServeEndpoint implements vscode.Disposable {
  private url: string | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly sidecar: SidecarClient, private readonly models: ModelManager, private readonly log: vscode.LogOutputChannel) {
    // A sidecar that crashed or restarted took the server with it.
    this.subscription = sidecar.onDidCrash(() => {
      if (!this.url) return;
      const was = this.url;
      this.url = undefined;
      this.log.warn(`The OpenAI-compatible server at ${was} stopped with the sidecar.`);
      void vscode.window.showWarningMessage(`Phi Local: the OpenAI-compatible server at ${was} stopped because the sidecar stopped.`, 'Start Again')
        .then((c) => { if (c) void this.start(); });
    });
  }

  /** The base URL while it serves. */
  get serving(): string | undefined {
    return this.url;
  }

  async start(): Promise<string | undefined> {
    const port = readServePort();
    try {
      await this.models.ensureLoaded({ notifyFailure: true });
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Phi Local: starting the OpenAI-compatible server' },
        () => this.sidecar.serve({ action: 'start', port }),
      );
      this.url = result.url;
      this.log.info(`Serving the model at ${result.url} as "${result.modelId}".`);
      void vscode.window.showInformationMessage(
        `Phi Local serves "${result.modelId}" at ${result.url} (OpenAI-compatible, this machine only).`, 'Copy URL', 'Stop',
      ).then(async (choice) => {
        if (choice === 'Copy URL' && result.url) await vscode.env.clipboard.writeText(result.url);
        if (choice === 'Stop') await this.stop();
      });
      return result.url;
    } catch (e) {
      this.log.error(`The OpenAI-compatible server did not start: ${(e as Error).message}`);
      void vscode.window.showErrorMessage(`Phi Local: ${(e as Error).message}`, 'Show Logs').then((c) => { if (c) this.log.show(true); });
      return undefined;
    }
  }

  async stop(): Promise<void> {
    if (this.sidecar.state !== 'running') {
      this.url = undefined;
      return;
    }
    await this.sidecar.serve({ action: 'stop' });
    if (this.url) void vscode.window.showInformationMessage(`Phi Local: stopped serving at ${this.url}.`);
    this.url = undefined;
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
