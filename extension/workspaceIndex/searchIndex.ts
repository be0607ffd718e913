// The workspace index: each file's chunks (chunker.ts) in a BM25 full-text index (MiniSearch: BM25+ scoring, prefix
// search, documents added and discarded one at a time), within bounds on files, bytes per file and bytes in all;
// binaries and minified files are left out. Code-aware terms: identifiers are split at camelCase and `_` as well as
// kept whole, lower-cased, and cut to a crude stem (`computed`, `computes`, `compute` → `comput`), so a question in
// words finds the code. Pure: no vscode, no I/O; the extension (indexService.ts) and bench/workspaceIndex.ts feed it.
import MiniSearch from 'minisearch';
import { chunkFile, type Chunk, type ChunkOptions } from './chunker';

export interface IndexLimits {
  /** Most files indexed; more are refused. */
  maxFiles: number;
  /** Larger files are left out. */
  maxFileBytes: number;
  /** Most bytes of text indexed in all. */
  maxTotalBytes: number;
}

export const INDEX_LIMITS: IndexLimits = { maxFiles: 5000, maxFileBytes: 256 * 1024, maxTotalBytes: 24 * 1024 * 1024 };

/** Why a file is not in the index. */
export type Refusal = 'too-large' | 'binary' | 'minified' | 'max-files' | 'max-total-bytes' | 'empty';

/** File names whose contents are never code worth indexing, by extension (checked before reading). */
const BINARY_EXTENSIONS = new Set([
  'png', 'jpg', 'jpeg', 'gif', 'bmp', 'ico', 'webp', 'tiff', 'psd', 'svgz', 'pdf', 'zip', 'gz', 'tgz', 'bz2', 'xz', '7z',
  'rar', 'tar', 'jar', 'war', 'class', 'exe', 'dll', 'so', 'dylib', 'a', 'o', 'obj', 'lib', 'bin', 'dat', 'wasm', 'node',
  'onnx', 'gguf', 'safetensors', 'pt', 'pth', 'ckpt', 'pb', 'tflite', 'npy', 'npz', 'pkl', 'parquet', 'sqlite', 'db',
  'mp3', 'mp4', 'wav', 'ogg', 'flac', 'mov', 'avi', 'mkv', 'webm', 'woff', 'woff2', 'ttf', 'otf', 'eot', 'vsix',
  'pyc', 'pyo', 'lockb', 'map',
]);

/** Lock files: large, and never the answer to a question about the code. */
const SKIPPED_NAMES = new Set(['package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'Cargo.lock', 'poetry.lock', 'composer.lock', 'Gemfile.lock', 'go.sum']);

/** Whether a path is left out by its name alone (a binary's extension, a lock file). */
export function skippedByName(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (SKIPPED_NAMES.has(name)) return true;
  const dot = name.lastIndexOf('.');
  return dot > 0 && BINARY_EXTENSIONS.has(name.slice(dot + 1).toLowerCase());
}

/** A NUL byte in the first 8 KB: a binary file (git's test). */
export function looksBinary(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 8192);
  for (let i = 0; i < n; i++) if (bytes[i] === 0) return true;
  return false;
}

/** A line over 1,000 characters in a file whose lines average over 300: minified or generated. */
export function looksMinified(text: string): boolean {
  const lines = text.split('\n');
  return lines.some((l) => l.length > 1000) && text.length / lines.length > 300;
}

const STOP_WORDS = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'by', 'can', 'do', 'does', 'for', 'from', 'how', 'i', 'in', 'into', 'is',
  'it', 'its', 'me', 'my', 'of', 'on', 'or', 'that', 'the', 'this', 'to', 'what', 'when', 'where', 'which', 'who',
  'why', 'with', 'you', 'your', 'we', 'our', 'there', 'here', 'show', 'find', 'tell', 'about', 'code', 'file', 'files',
]);

/** A crude stem: enough that `computed`, `computes`, `computing` and `compute` meet. */
export function stem(term: string): string {
  if (term.length <= 4) return term;
  if (term.endsWith('ies')) return `${term.slice(0, -3)}y`;
  const m = /^(.{3,}?)(?:ing|ed|es|e|s)$/.exec(term);
  return m ? m[1] : term;
}

/** Words of text or code: runs of letters, digits, `_` and `$`. */
export function tokenize(text: string): string[] {
  return text.match(/[\p{L}\p{N}_$]+/gu) ?? [];
}

/** The terms a token stands for: the whole identifier and its camelCase / snake_case parts, stemmed, without stop words. */
export function processTerm(token: string): string[] {
  const parts = token.split(/_+|\$|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/).filter(Boolean);
  const out = new Set<string>();
  const add = (t: string) => {
    const lower = t.toLowerCase();
    if (lower.length < 2 || lower.length > 40 || STOP_WORDS.has(lower) || /^\d+$/.test(lower)) return;
    out.add(stem(lower));
  };
  add(token);
  if (parts.length > 1) for (const p of parts) add(p);
  return [...out];
}

interface Doc {
  id: number;
  path: string;
  symbol: string;
  text: string;
}

export interface Hit {
  chunk: Chunk;
  score: number;
}

export interface IndexStats {
  files: number;
  chunks: number;
  /** Bytes of text indexed (UTF-16 length of the files' text). */
  bytes: number;
}

const MINISEARCH_OPTIONS = {
  fields: ['text', 'path', 'symbol'],
  tokenize,
  processTerm: (term: string) => processTerm(term),
  searchOptions: { boost: { symbol: 3, path: 2 }, prefix: (term: string) => term.length >= 4, combineWith: 'OR' as const },
};

export class WorkspaceSearchIndex {
  private readonly search = new MiniSearch<Doc>(MINISEARCH_OPTIONS);
  private readonly chunks = new Map<number, Chunk>();
  /** Each file's chunk ids and its size. */
  private readonly files = new Map<string, { ids: number[]; bytes: number }>();
  private nextId = 1;
  private totalBytes = 0;

  constructor(readonly limits: IndexLimits = INDEX_LIMITS, private readonly chunkOptions: ChunkOptions = {}) {}

  /**
   * Puts a file's text in the index (replacing what it had of the file); refuses it (and drops the old copy) when
   * it is over a bound, empty, or minified. `text`: the file's contents, decoded.
   */
  setFile(path: string, text: string): Refusal | undefined {
    const old = this.files.get(path);
    if (text.length > this.limits.maxFileBytes) return this.refuse(path, 'too-large');
    if (text.includes('\u0000')) return this.refuse(path, 'binary');
    if (!text.trim()) return this.refuse(path, 'empty');
    if (looksMinified(text)) return this.refuse(path, 'minified');
    if (!old && this.files.size >= this.limits.maxFiles) return 'max-files';
    if (this.totalBytes - (old?.bytes ?? 0) + text.length > this.limits.maxTotalBytes) return this.refuse(path, 'max-total-bytes');
    if (old) this.removeFile(path);
    const ids: number[] = [];
    const docs: Doc[] = [];
    for (const chunk of chunkFile(path, text, this.chunkOptions)) {
      const id = this.nextId++;
      this.chunks.set(id, chunk);
      ids.push(id);
      docs.push({ id, path, symbol: chunk.symbol ?? '', text: chunk.text });
    }
    this.search.addAll(docs);
    this.files.set(path, { ids, bytes: text.length });
    this.totalBytes += text.length;
    return undefined;
  }

  private refuse(path: string, why: Refusal): Refusal {
    this.removeFile(path);
    return why;
  }

  /** Takes a file (or, with `folder`, every file under that folder) out of the index. */
  removeFile(path: string, folder = false): void {
    const paths = folder ? [...this.files.keys()].filter((p) => p === path || p.startsWith(`${path.replace(/\/+$/, '')}/`)) : [path];
    for (const p of paths) {
      const f = this.files.get(p);
      if (!f) continue;
      for (const id of f.ids) {
        this.search.discard(id);
        this.chunks.delete(id);
      }
      this.files.delete(p);
      this.totalBytes -= f.bytes;
    }
  }

  has(path: string): boolean {
    return this.files.has(path);
  }

  clear(): void {
    this.search.removeAll();
    this.chunks.clear();
    this.files.clear();
    this.totalBytes = 0;
  }

  /** The best chunks for a question, best first. */
  query(question: string, limit = 8): Hit[] {
    const results = this.search.search(question);
    const hits: Hit[] = [];
    for (const r of results) {
      const chunk = this.chunks.get(r.id as number);
      if (chunk) hits.push({ chunk, score: r.score });
      if (hits.length >= limit) break;
    }
    return hits;
  }

  stats(): IndexStats {
    return { files: this.files.size, chunks: this.chunks.size, bytes: this.totalBytes };
  }

  /** The index as MiniSearch serializes it (its size is the index's size; the chunks' text is kept beside it). */
  serialize(): string {
    return JSON.stringify(this.search);
  }
}
