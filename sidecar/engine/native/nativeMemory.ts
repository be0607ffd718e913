// Native memory the engine owns: the KV cache, token ids, the attention mask, the logits. It comes from the C
// library's calloc, so ORT can keep pointers into it (JS memory could move or be collected) and so large
// buffers cost no RSS until their pages are touched (the KV cache is sized for the whole context up front).
import * as koffi from 'koffi';
import { NativeUnavailableError } from './ortApi';

interface Libc {
  calloc(count: number, size: number): bigint | null;
  free(p: bigint): void;
  memcpy(dst: bigint | Uint8Array, src: bigint | Uint8Array, n: number): unknown;
}
let libc: Libc | undefined;

function libcName(): string {
  switch (process.platform) {
    case 'linux': return 'libc.so.6';
    case 'darwin': return '/usr/lib/libSystem.B.dylib';
    case 'win32': return 'msvcrt.dll';
    default: throw new NativeUnavailableError(`no C library known for ${process.platform}.`);
  }
}

function loadLibc(): Libc {
  if (!libc) {
    const lib = koffi.load(libcName());
    libc = {
      calloc: lib.func('void *calloc(size_t count, size_t size)'),
      free: lib.func('void free(void *p)'),
      memcpy: lib.func('void *memcpy(void *dst, const void *src, size_t n)'),
    };
  }
  return libc;
}

const ALIGN = 64n;

/** A zeroed, 64-byte aligned native buffer. `free()` it exactly once, after everything that points into it is released. */
export class NativeBuffer {
  /** Bytes allocated and not yet freed, by every buffer of this thread: tests check that releases give all back. */
  static liveBytes = 0;
  private raw: bigint | null;
  /** The aligned address, for ORT. */
  readonly ptr: bigint;
  private arrayBuffer: ArrayBuffer | undefined;

  constructor(readonly bytes: number) {
    const raw = loadLibc().calloc(1, bytes + Number(ALIGN));
    if (!raw) throw new Error(`could not allocate ${(bytes / 2 ** 20).toFixed(1)} MiB of native memory`);
    this.raw = raw;
    NativeBuffer.liveBytes += bytes;
    this.ptr = (raw + ALIGN - 1n) & ~(ALIGN - 1n);
  }

  /** A zero-copy view; it must not be used after `free()`. */
  get buffer(): ArrayBuffer {
    if (!this.raw) throw new Error('native buffer used after free');
    this.arrayBuffer ??= koffi.view(this.ptr, this.bytes);
    return this.arrayBuffer;
  }

  // Copies by the C library, without a JS view of the whole buffer: a view of hundreds of MB counts as external memory
  // to V8, whose garbage collector then runs on every large allocation for the rest of the process (measured: a
  // 168 MiB prompt head took 1.7–3.3 s to copy into a KV slot through views, 44 ms by memcpy).

  /** Copies `target.byteLength` bytes from `offset` of this buffer into `target`. */
  copyOut(offset: number, target: Uint8Array): void {
    this.check(offset, target.byteLength);
    loadLibc().memcpy(target, this.ptr + BigInt(offset), target.byteLength);
  }

  /** Copies `source` into this buffer at `offset`. */
  copyIn(offset: number, source: Uint8Array): void {
    this.check(offset, source.byteLength);
    loadLibc().memcpy(this.ptr + BigInt(offset), source, source.byteLength);
  }

  /** Copies `bytes` bytes at `offset` of this buffer to the same offset of `target`. */
  copyTo(target: NativeBuffer, offset: number, bytes: number): void {
    this.check(offset, bytes);
    target.check(offset, bytes);
    loadLibc().memcpy(target.ptr + BigInt(offset), this.ptr + BigInt(offset), bytes);
  }

  private check(offset: number, bytes: number): void {
    if (!this.raw) throw new Error('native buffer used after free');
    if (offset < 0 || bytes < 0 || offset + bytes > this.bytes) throw new Error(`${bytes} bytes at ${offset} do not fit a ${this.bytes}-byte native buffer`);
  }

  free(): void {
    if (!this.raw) return;
    loadLibc().free(this.raw);
    NativeBuffer.liveBytes -= this.bytes;
    this.raw = null;
    this.arrayBuffer = undefined;
  }
}
