// The workspace index in the extension: built in the background a few seconds after activation (progress in the
// status bar), kept up to date on save, create and delete, rebuilt when a .gitignore, `files.exclude` or the folders
// change; not built in an untrusted workspace or with phiLocal.workspaceIndex.enabled off (a change applies at once:
// off drops the index, on builds it). The pure parts: ignoreRules.ts, chunker.ts, searchIndex.ts, indexBuilder.ts.
import * as vscode from 'vscode';
import { readWorkspaceIndexEnabled } from '../config';
import { buildIndex, indexFile, type DirEntry, type IndexFs } from './indexBuilder';
import { enabledGlobs, IgnoreRules } from './ignoreRules';
import { skippedByName, WorkspaceSearchIndex, type Hit } from './searchIndex';

/** Why there are no hits: the index is off, the workspace untrusted, or there is no folder. */
export type IndexUnavailable = 'off' | 'untrusted' | 'no-folder';

export const UNAVAILABLE_TEXT: Record<IndexUnavailable, string> = {
  off: '@workspace needs the workspace index, which is off: turn on "phiLocal.workspaceIndex.enabled".',
  untrusted: '@workspace needs the workspace index, which is not built in an untrusted workspace (trust the workspace to use it).',
  'no-folder': '@workspace needs a folder open in the window.',
};

/** Wait after activation before the first build: the window's own start comes first. */
const START_DELAY_MS = 2000;
/** Saves and file events are gathered for this long, then indexed together. */
const UPDATE_DELAY_MS = 300;

function folderFs(folder: vscode.Uri): IndexFs {
  const uri = (rel: string) => (rel ? vscode.Uri.joinPath(folder, ...rel.split('/')) : folder);
  return {
    async readDir(rel: string): Promise<DirEntry[]> {
      const entries = await vscode.workspace.fs.readDirectory(uri(rel));
      return entries.map(([name, type]) => ({
        name,
        // A link (to a file or a folder) is never followed: it could lead out of the folder, or round in a loop.
        kind: type & vscode.FileType.SymbolicLink ? 'other' : type === vscode.FileType.Directory ? 'dir' : type === vscode.FileType.File ? 'file' : 'other',
      }));
    },
    async readFile(rel: string, maxBytes: number) {
      try {
        const stat = await vscode.workspace.fs.stat(uri(rel));
        if (stat.type !== vscode.FileType.File) return undefined;
        if (stat.size > maxBytes) return 'too-large';
        return await vscode.workspace.fs.readFile(uri(rel));
      } catch {
        return undefined;
      }
    },
  };
}

export class WorkspaceIndexService implements vscode.Disposable {
  private index = new WorkspaceSearchIndex();
  private building: Promise<void> | undefined;
  private buildCts: vscode.CancellationTokenSource | undefined;
  private rules = new Map<string, IgnoreRules>();
  private readonly pending = new Map<string, vscode.Uri>();
  private pendingTimer: ReturnType<typeof setTimeout> | undefined;
  private startTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly log: vscode.LogOutputChannel) {
    const watcher = vscode.workspace.createFileSystemWatcher('**/*');
    const onFile = (uri: vscode.Uri) => {
      if (/(^|\/)\.gitignore$/.test(uri.path) && this.folderOf(uri)?.rel === '.gitignore') this.refresh('the .gitignore changed');
      else this.queue(uri);
    };
    this.subscriptions = [
      watcher,
      watcher.onDidCreate(onFile), watcher.onDidChange(onFile), watcher.onDidDelete(onFile),
      vscode.workspace.onDidSaveTextDocument((d) => onFile(d.uri)),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.refresh('the workspace folders changed')),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.refresh('the workspace is trusted')),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('phiLocal.workspaceIndex')) this.refresh('its setting changed');
        else if (e.affectsConfiguration('files.exclude')) this.refresh('files.exclude changed');
      }),
    ];
    this.startTimer = setTimeout(() => this.refresh(), START_DELAY_MS);
  }

  /** Why the index cannot be used now, or undefined when it can. */
  unavailable(): IndexUnavailable | undefined {
    if (!readWorkspaceIndexEnabled()) return 'off';
    if (!vscode.workspace.isTrusted) return 'untrusted';
    if (!vscode.workspace.workspaceFolders?.length) return 'no-folder';
    return undefined;
  }

  /** The best chunks for a question; waits for a build under way (or starts one). */
  async search(question: string, limit = 8): Promise<{ hits: Hit[] } | { unavailable: IndexUnavailable }> {
    const why = this.unavailable();
    if (why) return { unavailable: why };
    if (!this.building && this.index.stats().files === 0) this.refresh();
    await this.building;
    await this.flush();
    return { hits: this.index.query(question, limit) };
  }

  /** The file behind an index path (the folder's name first in a multi-root workspace). */
  uriFor(indexPath: string): vscode.Uri | undefined {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length === 0 || indexPath.split('/').includes('..')) return undefined;
    if (folders.length === 1) return vscode.Uri.joinPath(folders[0].uri, ...indexPath.split('/'));
    const [name, ...rest] = indexPath.split('/');
    const folder = folders.find((f) => f.name === name);
    return folder && rest.length ? vscode.Uri.joinPath(folder.uri, ...rest) : undefined;
  }

  /** The folder a uri is in, its path there, and its path in the index. */
  private folderOf(uri: vscode.Uri): { folder: vscode.WorkspaceFolder; rel: string; indexPath: string } | undefined {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (!folder) return undefined;
    const base = folder.uri.path.replace(/\/+$/, '');
    if (!uri.path.startsWith(`${base}/`)) return undefined;
    const rel = uri.path.slice(base.length + 1);
    const multi = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
    return { folder, rel, indexPath: multi ? `${folder.name}/${rel}` : rel };
  }

  /** Drops the index and, when it is available, builds it again in the background. */
  refresh(reason?: string): void {
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = undefined;
    this.buildCts?.cancel();
    this.buildCts?.dispose();
    this.buildCts = undefined;
    this.pending.clear();
    this.index = new WorkspaceSearchIndex();
    this.rules.clear();
    const why = this.unavailable();
    if (why) {
      if (reason) this.log.info(`Workspace index: not built (${why}).`);
      this.building = undefined;
      return;
    }
    const cts = new vscode.CancellationTokenSource();
    this.buildCts = cts;
    const index = this.index;
    this.building = Promise.resolve(vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Indexing the workspace for @workspace', cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => cts.cancel());
        return this.buildAll(index, cts.token, progress, reason);
      },
    )).catch((e: Error) => this.log.warn(`Workspace index: the build failed: ${e.message}`));
  }

  private async buildAll(index: WorkspaceSearchIndex, token: vscode.CancellationToken, progress: vscode.Progress<{ message?: string }>, reason?: string): Promise<void> {
    const t0 = Date.now();
    const folders = vscode.workspace.workspaceFolders ?? [];
    const refused: Record<string, number> = {};
    let truncated = false;
    for (const folder of folders) {
      if (token.isCancellationRequested) return;
      const rules = await this.rulesFor(folder);
      const report = await buildIndex(index, folderFs(folder.uri), rules, {
        prefix: folders.length > 1 ? `${folder.name}/` : '',
        cancelled: () => token.isCancellationRequested,
        progress: (done, total) => { if (done % 25 === 0 || done === total) progress.report({ message: `${done}/${total} files` }); },
        yieldEvery: 20,
      });
      if (report.cancelled) return;
      truncated ||= report.truncated;
      for (const [k, v] of Object.entries(report.refused)) refused[k] = (refused[k] ?? 0) + v;
    }
    if (token.isCancellationRequested) return;
    const s = index.stats();
    const left = Object.entries(refused).map(([k, v]) => `${v} ${k}`).join(', ');
    this.log.info(`Workspace index: ${s.files} files, ${s.chunks} chunks, ${Math.round(s.bytes / 1024)} KB in ${Date.now() - t0} ms` +
      `${reason ? ` (${reason})` : ''}${left ? `; left out: ${left}` : ''}${truncated ? `; stopped at ${index.limits.maxFiles} files` : ''}.`);
  }

  /** A folder's rules: its root .gitignore, files.exclude for it, and the folders always left out. */
  private async rulesFor(folder: vscode.WorkspaceFolder): Promise<IgnoreRules> {
    const known = this.rules.get(folder.uri.toString());
    if (known) return known;
    let gitignore = '';
    try {
      gitignore = new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder.uri, '.gitignore')));
    } catch {
      // none
    }
    const excludes = vscode.workspace.getConfiguration('files', folder.uri).get<Record<string, unknown>>('exclude');
    const rules = new IgnoreRules({ gitignore, excludeGlobs: enabledGlobs(excludes) });
    this.rules.set(folder.uri.toString(), rules);
    return rules;
  }

  private queue(uri: vscode.Uri): void {
    if ((uri.scheme !== 'file' && uri.scheme !== 'vscode-remote') || this.unavailable()) return;
    this.pending.set(uri.toString(), uri);
    if (!this.pendingTimer) this.pendingTimer = setTimeout(() => void this.flush(), UPDATE_DELAY_MS);
  }

  /** Indexes the files whose events came (after a build under way). */
  private async flush(): Promise<void> {
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
    this.pendingTimer = undefined;
    if (this.pending.size === 0) return;
    await this.building;
    const uris = [...this.pending.values()];
    this.pending.clear();
    const index = this.index;
    const changed: string[] = [];
    for (const uri of uris) {
      const where = this.folderOf(uri);
      if (!where) continue;
      const rules = await this.rulesFor(where.folder);
      if (rules.ignores(where.rel) || skippedByName(where.rel)) continue;
      let type: vscode.FileType | undefined;
      try {
        type = (await vscode.workspace.fs.stat(uri)).type;
      } catch {
        type = undefined; // deleted
      }
      if (index !== this.index) return; // rebuilt meanwhile: it has read the files itself
      changed.push(where.indexPath);
      if (type === undefined) {
        index.removeFile(where.indexPath, true);
      } else if (type === vscode.FileType.Directory) {
        // A folder created (or moved) in: its files, as a build of that folder would.
        const prefix = where.indexPath.slice(0, where.indexPath.length - where.rel.length);
        const sub = folderFs(where.folder.uri);
        const under: IndexFs = { readDir: (r) => sub.readDir(r ? `${where.rel}/${r}` : where.rel), readFile: (r, max) => sub.readFile(`${where.rel}/${r}`, max) };
        const scoped = { ignoresOwn: (p: string, dir: boolean) => rules.ignoresOwn(`${where.rel}/${p}`, dir) };
        await buildIndex(index, under, scoped, { prefix: `${prefix}${where.rel}/` });
      } else if (type === vscode.FileType.File) {
        const why = await indexFile(index, folderFs(where.folder.uri), where.rel, where.indexPath);
        if (why && why !== 'gone') this.log.debug(`Workspace index: ${where.indexPath} left out (${why}).`);
      }
    }
    if (changed.length && index === this.index) this.log.info(`Workspace index: updated ${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ` and ${changed.length - 5} more` : ''}.`);
  }

  dispose(): void {
    if (this.startTimer) clearTimeout(this.startTimer);
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
    this.buildCts?.cancel();
    this.buildCts?.dispose();
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}
