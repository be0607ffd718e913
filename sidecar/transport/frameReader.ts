// Reads the LSP base protocol's frames (`Content-Length: N\r\n\r\n` and N bytes of JSON) from a stream, as
// vscode-jsonrpc's StreamMessageReader does, except that a bad frame costs only itself. vscode-jsonrpc's reader,
// after a header it cannot read (`Content-Length: abc`), keeps that frame's body in its buffer and takes it for the
// next header: every later frame is read from the wrong offset, and the connection stays open but answers nothing.
// Here a bad frame is logged and skipped up to the next `Content-Length:` header, and the frames after it are read.
import type { Readable } from 'node:stream';
import { AbstractMessageReader, type DataCallback, type Disposable, type Message } from 'vscode-languageserver/node';

/** A header block longer than this is not one: skipped rather than waited on. */
const MAX_HEADER_BYTES = 8192;
/** Past this a body could not become one JavaScript string (V8 caps strings at 2^29 characters). */
const MAX_BODY_BYTES = 256 * 1024 * 1024;
const HEADER_NAME = 'content-length:';

/**
 * The body's length a header block (without its blank line) gives, or undefined when it gives none or several, or
 * has a `Content-Length:` inside a line: the tail of a broken frame run into the next frame's header, which a skip
 * to that `Content-Length:` then reads.
 */
export function contentLength(header: string): number | undefined {
  let length: number | undefined;
  for (const line of header.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line.toLowerCase().indexOf(HEADER_NAME) > 0) return undefined;
    if (line.slice(0, colon).toLowerCase() !== 'content-length') continue;
    const value = line.slice(colon + 1).trim();
    if (!/^\d{1,9}$/.test(value) || length !== undefined) return undefined;
    length = Number(value);
  }
  return length !== undefined && length <= MAX_BODY_BYTES ? length : undefined;
}

/** Where `Content-Length:` (any case) next starts in `bytes` at or after `from`, or -1; read a window at a time. */
function nextHeaderName(bytes: Buffer, from: number): number {
  for (let start = from; start < bytes.length; start += 65536) {
    const at = bytes.toString('latin1', start, start + 65536 + HEADER_NAME.length - 1).toLowerCase().indexOf(HEADER_NAME);
    if (at >= 0) return start + at;
  }
  return -1;
}

/** How many bytes at the end of `bytes` may be the start of a `Content-Length:` whose rest has not arrived. */
function partialHeaderName(bytes: Buffer): number {
  for (let k = Math.min(HEADER_NAME.length - 1, bytes.length); k > 0; k--) {
    if (bytes.toString('latin1', bytes.length - k).toLowerCase() === HEADER_NAME.slice(0, k)) return k;
  }
  return 0;
}

/**
 * Where a header line (`Content-Length:`, digits, a raw CR) starts in `bytes` at or after `from` and before
 * `before`; 'wait' when one may start there but its end has not arrived. No JSON text holds one (a raw CR cannot be
 * inside a JSON string, nor the name outside one), so one inside a body means the frame's length was wrong.
 */
function headerLineWithin(bytes: Buffer, from: number, before: number): number | 'wait' | undefined {
  // A header line is short: one starting before `before` ends within 64 bytes after it.
  const end = Math.min(bytes.length, before + 64);
  const text = bytes.toString('latin1', from, end);
  const pattern = /content-length:[ \t]*(\d*)(\r?)/gi;
  for (let m = pattern.exec(text); m && from + m.index < before; m = pattern.exec(text)) {
    if (m[1] && m[2]) return from + m.index;
    if (m.index + m[0].length === text.length && end === bytes.length) return 'wait';
  }
  return undefined;
}

/** Bytes received and not yet read: appended at the end, taken from the front, grown by doubling. */
class ByteQueue {
  private data = Buffer.alloc(0);
  private start = 0;
  private end = 0;

  /** The bytes held now (a view: valid until the next append). */
  view(): Buffer {
    return this.data.subarray(this.start, this.end);
  }

  append(chunk: Buffer): void {
    if (this.end + chunk.length > this.data.length) {
      const held = this.view();
      const grown = Buffer.allocUnsafe(Math.max(4096, 2 * held.length, held.length + chunk.length));
      held.copy(grown);
      this.data = grown;
      this.start = 0;
      this.end = held.length;
    }
    chunk.copy(this.data, this.end);
    this.end += chunk.length;
  }

  drop(count: number): void {
    this.start += count;
  }
}

export class FrameReader extends AbstractMessageReader {
  private readonly bytes = new ByteQueue();
  /** The body length of the frame being read; undefined while a header is awaited. */
  private bodyLength: number | undefined;
  /** How far into the body being read no header line was found, so that each byte is searched about once. */
  private searched = 0;
  private callback: DataCallback | undefined;

  constructor(private readonly input: Readable, private readonly log: (message: string) => void) {
    super();
    input.on('error', (e: Error) => this.fireError(e));
    input.on('end', () => this.fireClose());
    input.on('close', () => this.fireClose());
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (chunk: Buffer) => this.read(chunk);
    this.input.on('data', onData);
    return { dispose: () => { this.input.off('data', onData); } };
  }

  private read(chunk: Buffer): void {
    this.bytes.append(chunk);
    while (this.bodyLength === undefined ? this.readHeader() : this.readBody()) { /* one frame or skip per turn */ }
  }

  /** Reads a header block; false when more bytes are needed. */
  private readHeader(): boolean {
    const held = this.bytes.view();
    const end = held.subarray(0, MAX_HEADER_BYTES).indexOf('\r\n\r\n');
    if (end < 0) return held.length >= MAX_HEADER_BYTES ? this.skip(`${held.length} bytes with no header`) : false;
    const header = held.toString('latin1', 0, end);
    const length = contentLength(header);
    if (length === undefined) return this.skip(`a frame with an unreadable header (${JSON.stringify(header.slice(0, 80))})`);
    this.bytes.drop(end + 4);
    this.bodyLength = length;
    this.searched = 0;
    return true;
  }

  /** Reads the body of the frame whose header was read; false when more bytes are needed. */
  private readBody(): boolean {
    const length = this.bodyLength!;
    const held = this.bytes.view();
    const next = headerLineWithin(held, this.searched, length);
    if (next === 'wait') return false;
    if (next !== undefined) {
      this.log(`Dropped a frame cut short by the next header: its Content-Length said ${length}, the next frame began after ${next} bytes.`);
      this.bytes.drop(next);
      this.bodyLength = undefined;
      return true;
    }
    // Searched up to here; the last bytes again next time, in case a header's name is split between two chunks.
    this.searched = Math.max(this.searched, Math.min(length, held.length) - HEADER_NAME.length);
    if (held.length < length) return false;
    const body = held.toString('utf8', 0, length);
    this.bytes.drop(length);
    this.bodyLength = undefined;
    let message: Message;
    try {
      message = JSON.parse(body) as Message;
    } catch {
      this.log(`Dropped a frame whose body is not JSON: ${JSON.stringify(body.slice(0, 200))}`);
      return true;
    }
    try {
      this.callback?.(message);
    } catch (e) {
      this.fireError(e); // as vscode-jsonrpc's reader does: the connection reports it, the next frame is still read
    }
    return true;
  }

  /** Skips a bad frame up to the next `Content-Length:` (or all but a tail that may be the start of one). */
  private skip(what: string): boolean {
    const held = this.bytes.view();
    const next = nextHeaderName(held, 1);
    const count = next >= 0 ? next : Math.max(1, held.length - partialHeaderName(held));
    this.log(`Skipped ${what}: ${count} bytes, up to ${next >= 0 ? 'the next header' : 'the end of what has arrived'}.`);
    this.bytes.drop(count);
    return true;
  }
}
