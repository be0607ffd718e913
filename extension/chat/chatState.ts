// Which conversation the chat shows (remembered per workspace) and which turns are running. Knows neither the
// webview nor the sidecar.
import * as vscode from 'vscode';
import type { ConversationStore } from './conversationStore';

const CURRENT_KEY = 'phiLocal.currentConversation';

interface RunningTurn {
  conversationId: string;
  cts: vscode.CancellationTokenSource;
}

export class ChatState {
  private current: string | undefined;
  /** Turns being answered, by answer id. */
  private readonly running = new Map<string, RunningTurn>();

  constructor(store: ConversationStore, private readonly workspaceState: vscode.Memento) {
    const saved = workspaceState.get<string | null>(CURRENT_KEY);
    // null: the user chose New chat last; undefined: never chosen, so the most recent one.
    this.current = saved === null ? undefined : saved && store.get(saved) ? saved : store.mostRecent()?.id;
  }

  get conversationId(): string | undefined {
    return this.current;
  }

  setCurrent(id: string | undefined): void {
    this.current = id;
    void this.workspaceState.update(CURRENT_KEY, id ?? null);
  }

  get generating(): boolean {
    return this.running.size > 0;
  }

  busy(conversationId = this.current): boolean {
    return [...this.running.values()].some((t) => t.conversationId === conversationId);
  }

  /** A turn of `conversationId` answering `messageId` begins; its token stops it. */
  startTurn(conversationId: string, messageId: string): vscode.CancellationTokenSource {
    const cts = new vscode.CancellationTokenSource();
    this.running.set(messageId, { conversationId, cts });
    this.setGenerating();
    return cts;
  }

  endTurn(messageId: string): void {
    this.running.delete(messageId);
    this.setGenerating();
  }

  /** Stops the turns of the open conversation (or, when it has none, every turn). */
  stopOpen(): void {
    const all = [...this.running.values()];
    const mine = all.filter((t) => t.conversationId === this.current);
    for (const t of mine.length ? mine : all) t.cts.cancel();
  }

  /** Stops the turns whose conversation is gone (or all, with no test). */
  stopWhere(test: (conversationId: string) => boolean = () => true): void {
    for (const t of this.running.values()) if (test(t.conversationId)) t.cts.cancel();
  }

  private setGenerating(): void {
    void vscode.commands.executeCommand('setContext', 'phiLocal.generating', this.running.size > 0);
  }
}
