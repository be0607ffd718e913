// The chat panel: a webview view (id phiLocal.chat) in the Phi activity-bar container. This file is the webview's
// plumbing: its HTML with a strict Content-Security-Policy (scripts only with this page's nonce, styles and
// fonts only from the extension), and the hand-over of each new view to the ChatController (chatWebview.ts keeps
// the connection; chatDispatch.ts routes what the webview sends).
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { ChatController } from './chatController';

export const CHAT_VIEW_ID = 'phiLocal.chat';

/** The page of the chat webview; `media` is where dist/media/chat.js and chat.css are. */
export function chatHtml(webview: Pick<vscode.Webview, 'asWebviewUri' | 'cspSource'>, media: vscode.Uri): string {
  const nonce = randomBytes(18).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(media, 'chat.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(media, 'chat.css'));
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Phi Chat</title>
</head>
<body>
<div id="demo" hidden>Demo model: random weights, so the answers are gibberish. Select a real Phi-4-mini folder for real answers.</div>
<div id="banner" class="banner" role="status" hidden></div>
<div id="messages" role="log" aria-label="Conversation"></div>
<div id="composer">
  <div id="chips" aria-label="Context sent with the next message" hidden></div>
  <textarea id="prompt" rows="2" aria-label="Message to Phi" placeholder="Ask Phi about your code (Enter to send, Shift+Enter for a new line)"></textarea>
  <div class="composer-actions">
    <button id="new-chat" type="button" title="Start a new conversation">New chat</button>
    <span class="spacer"></span>
    <button id="stop" type="button" title="Stop generating (Esc)" hidden>Stop</button>
    <button id="send" type="button" title="Send (Enter)">Send</button>
  </div>
</div>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}

export class ChatViewProvider implements vscode.WebviewViewProvider {
  private view: vscode.WebviewView | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly controller: ChatController,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    const media = vscode.Uri.joinPath(this.extensionUri, 'dist', 'media');
    view.webview.options = { enableScripts: true, enableCommandUris: false, localResourceRoots: [media] };
    this.controller.attach(view);
    view.webview.html = chatHtml(view.webview, media);
    this.view = view;
    view.onDidDispose(() => { if (this.view === view) this.view = undefined; });
  }

  /** Shows the chat view (creating it if needed) and puts the cursor in the prompt. */
  async reveal(): Promise<void> {
    await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
    this.controller.focusPrompt();
  }
}
