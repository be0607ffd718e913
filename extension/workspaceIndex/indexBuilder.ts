// Building the index over a folder: a walk that never enters a left-out folder (IgnoreRules), shallow files first, up
// to the file bound; then each file read (through the caller's file system: vscode.workspace.fs in the extension,
// node:fs in the benchmark), checked (name, size, binary) and indexed. Pure apart from the I/O it is given.
import type { IgnoreRules } from './ignoreRules';

/** What the walk asks of the rules. */
export type WalkRules = Pick<IgnoreRules, 'ignoresOwn'>;
import { looksBinary, skippedByName, type Refusal, type WorkspaceSearchIndex } from './searchIndex';

export interface DirEntry {
  name: string;
  kind: 'file' | 'dir' | 'other';
}

export interface IndexFs {
  /** The entries of a folder (relative path, '' for the root); links are 'other' (never followed). */
  readDir(relPath: string): Promise<DirEntry[]>;
  /** The file's bytes, or 'too-large' when it has more than `maxBytes` (checked before reading), undefined when gone. */
  readFile(relPath: string, maxBytes: number): Promise<Uint8Array | 'too-large' | undefined>;
}

/** The files to index, relative to the root with `/`, breadth first; `truncated`: more were there than `maxFiles`. */
export async function listFiles(fs: IndexFs, rules: WalkRules, maxFiles: number, cancelled: () => boolean = () => false): Promise<{ files: string[]; truncated: boolean }> {
  const files: string[] = [];
  let queue = [''];
  while (queue.length > 0) {
    const next: string[] = [];
    for (const dir of queue) {
      if (cancelled()) return { files, truncated: false };
      let entries: DirEntry[];
      try {
        entries = await fs.readDir(dir);
      } catch {
        continue; // gone, or not readable
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        const rel = dir ? `${dir}/${e.name}` : e.name;
        if (e.kind === 'other' || rules.ignoresOwn(rel, e.kind === 'dir')) continue;
        if (e.kind === 'dir') {
          next.push(rel);
        } else if (!skippedByName(rel)) {
          if (files.length >= maxFiles) return { files, truncated: true };
          files.push(rel);
        }
      }
    }
    queue = next;
  }
  return { files, truncated: false };
}

const decoder = new TextDecoder('utf-8');

/** Reads and indexes one file (under `indexPath` in the index); the refusal when it is left out. */
export async function indexFile(index: WorkspaceSearchIndex, fs: IndexFs, relPath: string, indexPath = relPath): Promise<Refusal | 'gone' | undefined> {
  if (skippedByName(relPath)) {
    index.removeFile(indexPath);
    return 'binary';
  }
  const bytes = await fs.readFile(relPath, index.limits.maxFileBytes);
  if (bytes === undefined) {
    index.removeFile(indexPath);
    return 'gone';
  }
  if (bytes === 'too-large' || bytes.length > index.limits.maxFileBytes) {
    index.removeFile(indexPath);
    return 'too-large';
  }
  if (looksBinary(bytes)) {
    index.removeFile(indexPath);
    return 'binary';
  }
  return index.setFile(indexPath, decoder.decode(bytes));
}

export interface BuildReport {
  files: number;
  refused: Partial<Record<Refusal | 'gone', number>>;
  /** The walk stopped at the file bound. */
  truncated: boolean;
  cancelled: boolean;
}

/**
 * Indexes the folder behind `fs`, its paths prefixed by `prefix` in the index (a folder's name in a multi-root
 * workspace). `progress(done, total)` after each file; `cancelled()` is asked between files; `yieldEvery` files the
 * build waits a macrotask, so an extension host stays responsive.
 */
export async function buildIndex(
  index: WorkspaceSearchIndex, fs: IndexFs, rules: WalkRules,
  options: { prefix?: string; progress?: (done: number, total: number) => void; cancelled?: () => boolean; yieldEvery?: number } = {},
): Promise<BuildReport> {
  const cancelled = options.cancelled ?? (() => false);
  const room = Math.max(0, index.limits.maxFiles - index.stats().files);
  const { files, truncated } = await listFiles(fs, rules, room, cancelled);
  const report: BuildReport = { files: 0, refused: {}, truncated, cancelled: false };
  for (const [i, rel] of files.entries()) {
    if (cancelled()) {
      report.cancelled = true;
      break;
    }
    const why = await indexFile(index, fs, rel, (options.prefix ?? '') + rel);
    if (why) report.refused[why] = (report.refused[why] ?? 0) + 1;
    else report.files++;
    options.progress?.(i + 1, files.length);
    if (options.yieldEvery && (i + 1) % options.yieldEvery === 0) await new Promise((r) => setTimeout(r, 0));
  }
  return report;
}
