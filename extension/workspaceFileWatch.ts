// Files the extension reads from the workspace (project instructions, prompt files) are read again when they change:
// one watcher for their glob, and the events that change what may be read at all (the folders, their trust).
import * as vscode from 'vscode';

/**
 * What a reader made of some workspace files (`read`), kept until a file matching `glob` is created, changed or
 * deleted, the folders or their trust change, or `reset()` is called; then read again when next asked for.
 */
export class WatchedWorkspaceFiles<T> implements vscode.Disposable {
  private value: Promise<T> | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  /** What `get()` gives may have changed. */
  readonly onDidChange = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(glob: string, private readonly read: () => Promise<T>) {
    const watcher = vscode.workspace.createFileSystemWatcher(glob);
    const reset = () => this.reset();
    this.subscriptions = [
      this.changed, watcher,
      watcher.onDidCreate(reset), watcher.onDidChange(reset), watcher.onDidDelete(reset),
      vscode.workspace.onDidChangeWorkspaceFolders(reset),
      vscode.workspace.onDidGrantWorkspaceTrust(reset),
    ];
  }

  get(): Promise<T> {
    this.value ??= this.read();
    return this.value;
  }

  /** Forgets what was read (something else it depends on changed, e.g. a setting). */
  reset(): void {
    this.value = undefined;
    this.changed.fire();
  }

  dispose(): void {
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}
