// Prompt heads' keys and values on disk: the system prompt with its tool definitions costs a minute of prefill on a
// 2-core CPU, and it is the same after every restart, so it is computed once and read back (hundreds of MB read in
// a fraction of a second). One file per head in a folder per model (common/prefixCachePath.ts, deleted with the model):
//
//   "PHIKV\n" · header length (uint32 LE) · header (JSON) · the positions in the backend's file layout (backend.ts)
//
// The header names what the values depend on — the model files (size and time), the backend, provider and threads
// that computed them, the element type, the format — and holds the exact tokens and a CRC-32 of the data. A file
// whose header does not match what is asked (a stale one: the model was replaced, the engine changed) or whose data
// does not check out (a corrupted one) is deleted and reported; the caller computes the head again and saves it anew.
// The folder is kept within a size bound, least recently used files first.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';

const MAGIC = Buffer.from('PHIKV\n');
/** Bumped when the file layout or what the values depend on changes: older files become stale. */
export const PREFIX_FORMAT = 1;

/** What the stored values depend on besides the tokens. Two equal identities compute bit-identical values. */
export interface PrefixIdentity {
  /** Each model file's name, size and modification time. */
  model: string;
  backend: string;
  executionProvider: string;
  threads: number;
  kvType: string;
  bytesPerPosition: number;
}

interface Header extends PrefixIdentity {
  format: number;
  tokens: number[];
  dataBytes: number;
  crc32: number;
}

export interface LoadOutcome {
  data?: Uint8Array;
  /** Why a file that was there was not used (and was deleted). */
  problem?: string;
}

/** A model folder's fingerprint: its files' names, sizes and times (hashing gigabytes of weights would take minutes). */
export function modelFingerprint(dir: string): string {
  const files = fs.readdirSync(dir).filter((f) => /\.(onnx|data|json)$/.test(f)).sort();
  return files.map((f) => {
    const s = fs.statSync(path.join(dir, f));
    return `${f}:${s.size}:${Math.round(s.mtimeMs)}`;
  }).join(';');
}

export class PrefixStore {
  constructor(
    /** This model's folder of heads. */
    readonly dir: string,
    private readonly identity: PrefixIdentity,
    /** Bound on the bytes of every model's heads together (the folder above `dir`). */
    private readonly maxBytes: number,
  ) {}

  private fileOf(tokens: readonly number[]): string {
    const hash = createHash('sha256').update(Int32Array.from(tokens)).digest('hex').slice(0, 32);
    return path.join(this.dir, `${hash}.kv`);
  }

  has(tokens: readonly number[]): boolean {
    return fs.existsSync(this.fileOf(tokens));
  }

  /** The stored positions of exactly these tokens, verified; nothing when there are none or they failed a check. */
  load(tokens: readonly number[]): LoadOutcome {
    const file = this.fileOf(tokens);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      return {};
    }
    const problem = this.check(bytes, tokens);
    if (problem) {
      fs.rmSync(file, { force: true });
      return { problem: `${path.basename(file)}: ${problem}; computing it again` };
    }
    const now = new Date();
    try { fs.utimesSync(file, now, now); } catch { /* only the eviction order */ }
    const start = MAGIC.length + 4 + bytes.readUInt32LE(MAGIC.length);
    return { data: new Uint8Array(bytes.buffer, bytes.byteOffset + start, bytes.length - start) };
  }

  private check(bytes: Buffer, tokens: readonly number[]): string | undefined {
    if (bytes.length < MAGIC.length + 4 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return 'not a prefix cache file';
    const headerBytes = bytes.readUInt32LE(MAGIC.length);
    let header: Header;
    try {
      header = JSON.parse(bytes.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + headerBytes)) as Header;
    } catch {
      return 'its header is damaged';
    }
    if (header.format !== PREFIX_FORMAT) return `it has format ${header.format}, this engine writes ${PREFIX_FORMAT}`;
    for (const key of Object.keys(this.identity) as Array<keyof PrefixIdentity>) {
      if (header[key] !== this.identity[key]) return `stale: computed with ${key} ${String(header[key])}, now ${String(this.identity[key])}`;
    }
    if (!Array.isArray(header.tokens) || header.tokens.length !== tokens.length || header.tokens.some((t, i) => t !== tokens[i])) return 'it holds other tokens';
    const data = bytes.subarray(MAGIC.length + 4 + headerBytes);
    if (data.length !== header.dataBytes || data.length !== tokens.length * this.identity.bytesPerPosition) return `it is ${data.length} bytes, not ${header.dataBytes}`;
    if (crc32(data) !== header.crc32) return 'its data is corrupted (CRC-32 mismatch)';
    return undefined;
  }

  /** Writes the positions of `tokens` (a temporary file renamed into place: a reader never sees half a file). */
  async save(tokens: readonly number[], data: Uint8Array): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true });
    const header: Header = { format: PREFIX_FORMAT, ...this.identity, tokens: [...tokens], dataBytes: data.byteLength, crc32: crc32(data) };
    const json = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(json.length);
    const file = this.fileOf(tokens);
    const temporary = `${file}.${process.pid}.tmp`;
    const handle = await fs.promises.open(temporary, 'w');
    try {
      await handle.writev([MAGIC, length, json, data]);
    } catch (e) {
      await handle.close();
      await fs.promises.rm(temporary, { force: true });
      throw e;
    }
    await handle.close();
    await fs.promises.rename(temporary, file);
    this.trim();
  }

  /** Deletes the least recently used files of every model until they fit the bound. */
  private trim(): void {
    const root = path.dirname(this.dir);
    const files: Array<{ file: string; size: number; used: number }> = [];
    for (const model of safeList(root)) {
      for (const name of safeList(path.join(root, model))) {
        const file = path.join(root, model, name);
        try {
          const s = fs.statSync(file);
          if (s.isFile()) files.push({ file, size: s.size, used: s.mtimeMs });
        } catch { /* gone meanwhile */ }
      }
    }
    let total = files.reduce((sum, f) => sum + f.size, 0);
    for (const f of files.sort((a, b) => a.used - b.used)) {
      if (total <= this.maxBytes) break;
      fs.rmSync(f.file, { force: true });
      total -= f.size;
    }
  }
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
