// The chat's connection to its webview: the one view attached now (VS Code recreates it when it is hidden and
// shown), messages out, and checked messages in. Messages to a view that is not there are dropped: on 'ready' the
// extension sends everything again.
import * as vscode from 'vscode';
import { parseFromWebview, type FromWebview, type ToWebview } from './webviewProtocol';

export class ChatWebview implements vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly log: vscode.LogOutputChannel, private readonly onMessage: (message: FromWebview) => Promise<void>) {}

  get attached(): boolean {
    return this.view !== undefined;
  }

  attach(view: vscode.WebviewView): void {
    this.detach();
    this.view = view;
    this.subscriptions.push(
      view.onDidDispose(() => {
        if (this.view !== view) return;
        this.detach();
        void vscode.commands.executeCommand('setContext', 'phiLocal.chatFocused', false);
      }),
      view.webview.onDidReceiveMessage((raw: unknown) => {
        const message = parseFromWebview(raw);
        if (message) void this.onMessage(message).catch((e: Error) => this.log.error(`Chat: ${e.message}`));
        else this.log.warn('Chat: ignored a malformed message from the webview.');
      }),
    );
  }

  post(message: ToWebview): void {
    void this.view?.webview.postMessage(message);
  }

  private detach(): void {
    this.view = undefined;
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }

  dispose(): void {
    this.detach();
  }
}
