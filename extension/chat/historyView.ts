// The History view: past conversations, newest first. Clicking one opens it in the chat; the context menu
// deletes it (with an Undo in the notification, since a conversation cannot be got back otherwise).
import * as vscode from 'vscode';
import type { ConversationStore, ConversationSummary } from './conversationStore';

export const HISTORY_VIEW_ID = 'phiLocal.history';

function when(time: number, now = Date.now()): string {
  const minutes = Math.round((now - time) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const d = new Date(time);
  const today = new Date(now);
  if (d.toDateString() === today.toDateString()) return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return d.toLocaleDateString(undefined, { year: d.getFullYear() === today.getFullYear() ? undefined : 'numeric', month: 'short', day: 'numeric' });
}

export class HistoryProvider implements vscode.TreeDataProvider<ConversationSummary>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly subscription: { dispose(): void };

  constructor(private readonly store: ConversationStore) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Coalesced: a streaming answer changes the store many times a second.
    this.subscription = store.onDidChange(() => {
      if (timer === undefined) timer = setTimeout(() => { timer = undefined; this.changeEmitter.fire(); }, 250);
    });
  }

  getChildren(element?: ConversationSummary): ConversationSummary[] {
    return element ? [] : this.store.list().filter((c) => c.messageCount > 0);
  }

  getTreeItem(c: ConversationSummary): vscode.TreeItem {
    const item = new vscode.TreeItem(c.title, vscode.TreeItemCollapsibleState.None);
    item.id = c.id;
    item.description = when(c.updatedAt);
    item.tooltip = `${c.title}\n${Math.ceil(c.messageCount / 2)} question${c.messageCount > 2 ? 's' : ''} · ${new Date(c.updatedAt).toLocaleString()}`;
    item.iconPath = new vscode.ThemeIcon('comment-discussion');
    item.contextValue = 'conversation';
    item.command = { command: 'phiLocal.openConversation', title: 'Open Conversation', arguments: [c.id] };
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changeEmitter.dispose();
  }
}

/** Deletes a conversation, offering to undo it. */
export async function deleteConversation(store: ConversationStore, id: string): Promise<void> {
  const removed = store.delete(id);
  if (!removed) return;
  const choice = await vscode.window.showInformationMessage(`Deleted the conversation "${removed.title}".`, 'Undo');
  if (choice === 'Undo') store.restore(removed);
}
