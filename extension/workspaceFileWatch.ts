// Files the extension reads from the workspace (project instructions, prompt files) are read again when they change:
// one watcher for their glob, and the events that change what may be read at all (the folders, their trust).
import * as vscode from 'vscode';

/** Calls `changed` when a file matching `glob` is created, changed or deleted, or the folders or their trust change. */
export function watchWorkspaceFiles(glob: string, changed: () => void): vscode.Disposable[] {
  const watcher = vscode.workspace.createFileSystemWatcher(glob);
  return [
    watcher,
    watcher.onDidCreate(changed), watcher.onDidChange(changed), watcher.onDidDelete(changed),
    vscode.workspace.onDidChangeWorkspaceFolders(changed),
    vscode.workspace.onDidGrantWorkspaceTrust(changed),
  ];
}
