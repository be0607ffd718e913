// The plain onnxruntime-node backend: always loads, anywhere onnxruntime-node does. The KV cache grows by
// feeding each step's `present.*` back as the next step's `past_key_values.*`. onnxruntime-node's JavaScript API
// has no IO binding on the CPU, so every step copies the whole cache out through JS (measured in
// ../shared/reference/engine-probe.md); the native backend removes that copy.
import * as ort from 'onnxruntime-node';
import type { Backend, BackendInfo } from './backend';
import { createSession, type ExecutionProviderChoice, type ProviderFailure } from './executionProvider';
import { float16ToFloat32 } from './float16';
import type { ModelConfig } from './modelFolder';

export interface OrtBackendOptions {
  executionProvider: ExecutionProviderChoice;
  /** Threads for one operator; defaults to ONNX Runtime's choice (the physical cores). */
  threads?: number;
  /** The rewritten graph's input for how many last positions get logits (graphRewrite.ts); unset: the official graph. */
  logitsToKeepInput?: string;
  /** Only these providers, in order, instead of `executionProvider`'s list (e.g. the GPUs alone). */
  providers?: readonly string[];
}

/** One KV slot: every layer's keys and values as tensors [1, kvHeads, length, headSize]. */
interface Slot {
  keys: ort.Tensor[];
  values: ort.Tensor[];
  length: number;
}

export class OrtBackend implements Backend {
  private pastKeys: ort.Tensor[];
  private pastValues: ort.Tensor[];
  private length = 0;
  /** The slots not selected; the selected one is the fields above. */
  private readonly parked = new Map<number, Slot>();
  private selected = 0;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly config: ModelConfig,
    readonly info: BackendInfo,
    /** Providers that were tried first and failed, with their reasons. */
    readonly fallbacks: ProviderFailure[],
    private readonly logitsToKeepInput?: string,
  ) {
    this.pastKeys = config.io.pastKeys.map(() => this.emptyKv());
    this.pastValues = config.io.pastValues.map(() => this.emptyKv());
  }

  static async create(onnxFile: string, config: ModelConfig, options: OrtBackendOptions): Promise<OrtBackend> {
    const { session, provider, fallbacks } = await createSession(onnxFile, options.executionProvider, {
      graphOptimizationLevel: 'all',
      // onnxruntime-node rejects an explicit undefined; leaving it out means one thread per physical core.
      ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
      enableCpuMemArena: true,
      logSeverityLevel: 3,
    }, options.providers);
    return new OrtBackend(session, config, { name: 'onnxruntime-node', executionProvider: provider }, fallbacks,
      options.logitsToKeepInput);
  }

  get cachedLength(): number {
    return this.length;
  }

  get bytesPerPosition(): number {
    const { numKvHeads, headSize, numLayers, kvType } = this.config;
    return 2 * numLayers * numKvHeads * headSize * (kvType === 'float16' ? 2 : 4);
  }

  selectSlot(index: number): void {
    if (index === this.selected) return;
    this.parked.set(this.selected, { keys: this.pastKeys, values: this.pastValues, length: this.length });
    const slot = this.parked.get(index) ?? this.emptySlot();
    this.parked.delete(index);
    ({ keys: this.pastKeys, values: this.pastValues, length: this.length } = slot);
    this.selected = index;
  }

  copySlot(from: number, to: number, length: number): void {
    const source = this.slotAt(from);
    const count = Math.min(length, source.length);
    const copy: Slot = count === 0 ? this.emptySlot() : {
      keys: source.keys.map((t) => this.sliceKv(t, count)),
      values: source.values.map((t) => this.sliceKv(t, count)),
      length: count,
    };
    if (to === this.selected) ({ keys: this.pastKeys, values: this.pastValues, length: this.length } = copy);
    else this.parked.set(to, copy);
  }

  freeSlot(index: number): void {
    if (index === this.selected) throw new Error('freeSlot: the selected slot cannot be freed');
    this.parked.delete(index);
  }

  exportPositions(length: number): Uint8Array {
    const count = Math.min(length, this.length);
    const out = new Uint8Array(count * this.bytesPerPosition);
    let at = 0;
    for (let l = 0; l < this.pastKeys.length; l++) {
      for (const t of [this.pastKeys[l], this.pastValues[l]]) {
        const part = this.sliceKv(t, count).data as Float32Array | Uint16Array;
        out.set(new Uint8Array(part.buffer, part.byteOffset, part.byteLength), at);
        at += part.byteLength;
      }
    }
    return out;
  }

  importPositions(data: Uint8Array, length: number): void {
    if (data.byteLength !== length * this.bytesPerPosition) throw new Error(`importPositions: ${data.byteLength} bytes are not ${length} positions`);
    const { numKvHeads, headSize, kvType } = this.config;
    const bytes = numKvHeads * length * headSize * (kvType === 'float16' ? 2 : 4);
    let at = 0;
    const next = () => {
      const copy = data.slice(at, at + bytes); // its own, aligned buffer
      at += bytes;
      const values = kvType === 'float16' ? new Uint16Array(copy.buffer) : new Float32Array(copy.buffer);
      return new ort.Tensor(kvType, values, [1, numKvHeads, length, headSize]);
    };
    const keys: ort.Tensor[] = [];
    const values: ort.Tensor[] = [];
    for (let l = 0; l < this.pastKeys.length; l++) {
      keys.push(next());
      values.push(next());
    }
    this.pastKeys = keys;
    this.pastValues = values;
    this.length = length;
  }

  private slotAt(index: number): Slot {
    return index === this.selected ? { keys: this.pastKeys, values: this.pastValues, length: this.length } : (this.parked.get(index) ?? this.emptySlot());
  }

  private emptySlot(): Slot {
    return { keys: this.config.io.pastKeys.map(() => this.emptyKv()), values: this.config.io.pastValues.map(() => this.emptyKv()), length: 0 };
  }

  private emptyKv(): ort.Tensor {
    const { numKvHeads, headSize, kvType } = this.config;
    const data = kvType === 'float16' ? new Uint16Array(0) : new Float32Array(0);
    return new ort.Tensor(kvType, data, [1, numKvHeads, 0, headSize]);
  }

  async forward(tokens: readonly number[], options: { allPositions?: boolean } = {}): Promise<Float32Array> {
    const { io, vocabSize } = this.config;
    const total = this.length + tokens.length;
    const feeds: Record<string, ort.Tensor> = {
      [io.inputIds]: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, tokens.length]),
      [io.attentionMask]: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
    };
    if (io.positionIds) {
      const positions = BigInt64Array.from(tokens, (_, i) => BigInt(this.length + i));
      feeds[io.positionIds] = new ort.Tensor('int64', positions, [1, tokens.length]);
    }
    for (let l = 0; l < io.pastKeys.length; l++) {
      feeds[io.pastKeys[l]] = this.pastKeys[l];
      feeds[io.pastValues[l]] = this.pastValues[l];
    }
    const rows = options.allPositions ? tokens.length : 1;
    if (this.logitsToKeepInput) feeds[this.logitsToKeepInput] = new ort.Tensor('int64', BigInt64Array.of(BigInt(rows)), [1]);
    const out = await this.session.run(feeds);
    this.pastKeys = io.presentKeys.map((name) => out[name] as ort.Tensor);
    this.pastValues = io.presentValues.map((name) => out[name] as ort.Tensor);
    this.length = total;
    const logits = out[io.logits] as ort.Tensor;
    // The official graph gives every position's logits; the rewritten one only the rows asked for.
    const start = (logits.dims[1] - rows) * vocabSize;
    const data = logits.data as Float32Array | Uint16Array;
    const slice = data.subarray(start, start + rows * vocabSize);
    return slice instanceof Uint16Array ? float16ToFloat32(slice) : new Float32Array(slice);
  }

  fillForBenchmark(length: number, write: (rows: Float32Array | Uint16Array) => void): void {
    if (this.length !== 0) throw new Error('fillForBenchmark: the cache must be empty');
    const { numKvHeads, headSize, kvType } = this.config;
    const tensor = () => {
      const rows = length * headSize;
      const data = kvType === 'float16' ? new Uint16Array(numKvHeads * rows) : new Float32Array(numKvHeads * rows);
      for (let h = 0; h < numKvHeads; h++) write(data.subarray(h * rows, (h + 1) * rows));
      return new ort.Tensor(kvType, data, [1, numKvHeads, length, headSize]);
    };
    this.pastKeys = this.pastKeys.map(tensor);
    this.pastValues = this.pastValues.map(tensor);
    this.length = length;
  }

  truncate(length: number): void {
    if (length >= this.length) return;
    if (length <= 0) {
      this.pastKeys = this.pastKeys.map(() => this.emptyKv());
      this.pastValues = this.pastValues.map(() => this.emptyKv());
    } else {
      this.pastKeys = this.pastKeys.map((t) => this.sliceKv(t, length));
      this.pastValues = this.pastValues.map((t) => this.sliceKv(t, length));
    }
    this.length = Math.max(0, length);
  }

  /** Keeps the first `length` positions of a [1, heads, positions, headSize] tensor. */
  private sliceKv(t: ort.Tensor, length: number): ort.Tensor {
    const { numKvHeads, headSize } = this.config;
    const src = t.data as Float32Array | Uint16Array;
    const oldLength = t.dims[2];
    if (length === oldLength) return new ort.Tensor(t.type as 'float32' | 'float16', src.slice(), [...t.dims]);
    const dst = new (src.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(numKvHeads * length * headSize);
    for (let h = 0; h < numKvHeads; h++) {
      dst.set(src.subarray(h * oldLength * headSize, (h * oldLength + length) * headSize), h * length * headSize);
    }
    return new ort.Tensor(t.type as 'float32' | 'float16', dst, [1, numKvHeads, length, headSize]);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
