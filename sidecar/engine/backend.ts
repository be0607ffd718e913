// How one forward pass runs. The generation loop talks only to this interface, so a faster backend (ORT's
// C API with the KV cache kept in native memory) can replace the plain onnxruntime-node one without touching it.

export interface BackendInfo {
  /** Which implementation runs, e.g. 'onnxruntime-node'. */
  name: string;
  /** The execution provider that actually runs the model, e.g. 'cpu' or 'webgpu'. */
  executionProvider: string;
}

export interface Backend {
  readonly info: BackendInfo;
  /** How many positions the KV cache holds. */
  readonly cachedLength: number;
  /**
   * Runs `tokens` after the cached positions and appends their keys and values to the cache. Returns the logits
   * of the last position, or of every new position (row after row) when `allPositions` is set.
   */
  forward(tokens: readonly number[], options?: { allPositions?: boolean }): Promise<Float32Array>;
  /** Truncating costs nothing (the cache is one buffer, the mask length decides): speculative decoding relies on it. */
  readonly rewindIsFree?: boolean;
  /** Forgets cached positions from `length` on (prefix reuse, rewind). */
  truncate(length: number): void;
  release(): Promise<void>;

  // KV slots: independent caches, one per feature or conversation (kvSlots.ts). `forward`, `truncate` and
  // `cachedLength` act on the selected one; slot 0 is selected at first. A slot costs memory only for the
  // positions it holds.
  /** Bytes one cached position takes, every layer's keys and values. */
  readonly bytesPerPosition: number;
  selectSlot(slot: number): void;
  /** Makes slot `to` hold slot `from`'s first `length` positions (their keys and values copied). */
  copySlot(from: number, to: number, length: number): void;
  /** Empties a slot and gives its memory back (an unselected one). */
  freeSlot(slot: number): void;
  /** The selected slot's first `length` positions in the file layout: [layer][keys, values][kvHead][position][headSize]. */
  exportPositions(length: number): Uint8Array;
  /** Makes the selected slot hold `length` positions given in that layout (what `exportPositions` gave). */
  importPositions(data: Uint8Array, length: number): void;
}

/**
 * Benchmarks only, and optional (the generation loop never calls it): a backend that can make its (empty) cache hold
 * `length` positions whose keys and values `write` makes up, one head's rows at a time, so that decode speed at a
 * long context is measured without prefilling it first (a step costs the same whatever the values are).
 */
export interface BenchmarkFill {
  fillForBenchmark(length: number, write: (rows: Float32Array | Uint16Array) => void): void;
}

export function canFillForBenchmark(backend: Backend): backend is Backend & BenchmarkFill {
  return typeof (backend as Partial<BenchmarkFill>).fillForBenchmark === 'function';
}
