// The native backend: ONNX Runtime's C API with IoBinding (ortApi.ts), so the KV cache never passes through JS.
// Each layer's keys and values live in one [1, kvHeads, maxLength, headSize] buffer that is bound as both the past
// input and the present output: GroupQueryAttention then appends the new rows in place (share-buffer mode) and
// attends over the first `attention_mask` length positions. The buffers are allocated once, for the whole
// context, and kept across turns, so rewinding is only a change of length. Last-position logits land in a fixed
// buffer; when more rows are needed ORT allocates them for that one run.
import * as koffi from 'koffi';
import type { Backend, BackendInfo } from '../backend';
import { EngineError } from '../../engineError';
import { float16ToFloat32 } from '../float16';
import type { ModelConfig } from '../modelFolder';
import { NativeBuffer } from './nativeMemory';
import { ElementType, OrtError, loadOrtApi, type OrtApi, type Pointer } from './ortApi';

export interface NativeBackendOptions {
  /** Threads for one operator; ONNX Runtime's default (the physical cores) when not given. */
  threads?: number;
  /** Positions the KV cache holds; its memory is reserved up front and backed by pages only as it fills. */
  contextLength: number;
  /** The rewritten graph's input for how many last positions get logits (graphRewrite.ts); unset: the official graph. */
  logitsToKeepInput?: string;
  /**
   * Records ONNX Runtime's per-node timings into `<prefix>_<date>.json`, finished by `endProfiling()`
   * (bench/profile.ts reads it). Unset (the default), nothing is recorded and the runs cost nothing more.
   */
  profileFilePrefix?: string;
  /** Extra session configuration entries (onnxruntime_session_options_config_keys.h), for tuning experiments. */
  sessionConfig?: Readonly<Record<string, string>>;
  /** Graph optimization level (0, 1, 2 or 99 = all, the default), for tuning experiments. */
  graphOptimizationLevel?: number;
  /** ORT's CPU memory arena and memory-pattern planning; both on by default, as in ORT. */
  memArena?: boolean;
  memPattern?: boolean;
}

const LOG_ERRORS_ONLY = 3;
const ORT_ENABLE_ALL = 99;
const ARENA_ALLOCATOR = 1;
const MEM_TYPE_DEFAULT = 0;

/** A native int64 buffer that `bindInput` wraps in a fresh OrtValue each run (the shape changes with the run). */
interface Feed {
  buffer: NativeBuffer;
  view: BigInt64Array;
}

export class NativeBackend implements Backend {
  readonly info: BackendInfo = { name: 'native', executionProvider: 'cpu' };
  readonly rewindIsFree = true;
  private env: Pointer = null;
  private session: Pointer = null;
  private memoryInfo: Pointer = null;
  /** ORT's default allocator: a process-wide singleton, never released. */
  private allocator: Pointer = null;
  private binding: Pointer = null;
  /**
   * KV slots (backend.ts): per slot, per layer keys at 2l and values at 2l + 1, each an OrtValue over a buffer for
   * the whole context. The selected slot's are bound as both past and present; an empty slot has no buffers yet.
   */
  private readonly slots: Array<{ kv: Array<{ buffer: NativeBuffer; value: Pointer }>; length: number }> = [];
  private selected = 0;
  private logits: { buffer: NativeBuffer; value: Pointer; view: Float32Array | Uint16Array } | undefined;
  /** Whether `logits` is the buffer bound to the logits output now (else ORT allocates it). */
  private logitsBound = false;
  private readonly feeds: { ids?: Feed; mask?: Feed; positions?: Feed; keep?: Feed } = {};
  private released = false;
  private profiling = false;

  private constructor(
    private readonly api: OrtApi,
    private readonly config: ModelConfig,
    private readonly maxLength: number,
    private readonly logitsToKeepInput: string | undefined,
  ) {}

  /** Loads `onnxFile`; throws NativeUnavailableError when the C API cannot be reached, EngineError when ORT refuses the model. */
  static async create(onnxFile: string, config: ModelConfig, options: NativeBackendOptions): Promise<NativeBackend> {
    const backend = new NativeBackend(loadOrtApi(), config, options.contextLength, options.logitsToKeepInput);
    try {
      backend.open(onnxFile, options);
    } catch (e) {
      await backend.release();
      if (e instanceof OrtError) throw new EngineError('model-load', `ONNX Runtime could not load ${onnxFile}: ${e.message}`, 'model.onnx');
      throw e;
    }
    return backend;
  }

  get cachedLength(): number {
    return this.length;
  }

  /** The selected slot's length. */
  private get length(): number {
    return this.slots[this.selected]?.length ?? 0;
  }

  private set length(value: number) {
    this.slot(this.selected).length = value;
  }

  get bytesPerPosition(): number {
    const { numKvHeads, headSize, numLayers, kvType } = this.config;
    return 2 * numLayers * numKvHeads * headSize * (kvType === 'float16' ? 2 : 4);
  }

  /** Slot `index`, its buffers allocated (zeroed pages cost no memory until written). */
  private slot(index: number): { kv: Array<{ buffer: NativeBuffer; value: Pointer }>; length: number } {
    let slot = this.slots[index];
    if (slot?.kv.length) return slot;
    slot ??= this.slots[index] = { kv: [], length: 0 };
    const { numKvHeads, headSize, numLayers, kvType } = this.config;
    const bytes = numKvHeads * this.maxLength * headSize * (kvType === 'float16' ? 2 : 4);
    for (let i = 0; i < 2 * numLayers; i++) {
      const buffer = new NativeBuffer(bytes);
      slot.kv.push({ buffer, value: null });
      slot.kv[i].value = this.tensor(buffer, ElementType[kvType], [1, numKvHeads, this.maxLength, headSize]);
    }
    return slot;
  }

  selectSlot(index: number): void {
    if (index === this.selected && this.slots[index]?.kv.length) return;
    this.selected = index;
    this.slot(index);
    if (this.binding) this.bindKv(this.binding);
  }

  copySlot(from: number, to: number, length: number): void {
    const source = this.slot(from);
    const target = this.slot(to);
    const count = Math.min(length, source.length);
    for (let i = 0; i < source.kv.length; i++) {
      this.forEachHead(count, (offset, bytes) => source.kv[i].buffer.copyTo(target.kv[i].buffer, offset, bytes));
    }
    target.length = count;
  }

  freeSlot(index: number): void {
    if (index === this.selected) throw new Error('freeSlot: the selected slot cannot be freed');
    const slot = this.slots[index];
    if (!slot) return;
    for (const { value, buffer } of slot.kv) {
      if (value) this.api.fn.ReleaseValue(value);
      buffer.free();
    }
    slot.kv = [];
    slot.length = 0;
  }

  exportPositions(length: number): Uint8Array {
    const count = Math.min(length, this.length);
    const out = new Uint8Array(count * this.bytesPerPosition);
    let at = 0;
    for (const { buffer } of this.slot(this.selected).kv) {
      this.forEachHead(count, (offset, bytes) => {
        buffer.copyOut(offset, out.subarray(at, at + bytes));
        at += bytes;
      });
    }
    return out;
  }

  importPositions(data: Uint8Array, length: number): void {
    if (length > this.maxLength) throw new EngineError('prompt-too-long', `${length} positions do not fit the ${this.maxLength} the KV cache holds.`);
    if (data.byteLength !== length * this.bytesPerPosition) throw new Error(`importPositions: ${data.byteLength} bytes are not ${length} positions`);
    let at = 0;
    for (const { buffer } of this.slot(this.selected).kv) {
      this.forEachHead(length, (offset, bytes) => {
        buffer.copyIn(offset, data.subarray(at, at + bytes));
        at += bytes;
      });
    }
    this.length = length;
  }

  /** Each head's first `positions` rows in a [1, kvHeads, maxLength, headSize] buffer: byte offset and length. */
  private forEachHead(positions: number, visit: (offset: number, bytes: number) => void): void {
    const { numKvHeads, headSize, kvType } = this.config;
    const row = headSize * (kvType === 'float16' ? 2 : 4);
    for (let h = 0; h < numKvHeads; h++) visit(h * this.maxLength * row, positions * row);
  }

  // ORT's own defaults stay (threads = physical cores, spinning on, arena and memory patterns on, all graph
  // optimizations), and so does the export's int8 MatMulNBits (accuracy_level 4): measured with bench/tune.ts at
  // context 512 on a 2-core AVX2 EPYC without VNNI, fp32 compute (level 0) made a decode step ~3× slower and a
  // 1+8-token verification ~2× slower, and no prefill pass faster; one thread 1.6× slower; no spinning 6–15% slower
  // when the machine was quiet (23% faster only under heavy contention); no arena, optimization level 1,
  // session.dynamic_block_base=4, session.force_spinning_stop=1 and mlas.use_lut_gemm=1 were never faster than two
  // identical sessions in the same run differ by (12–27% on that VM).
  private open(onnxFile: string, settings: NativeBackendOptions): void {
    const { api, config } = this;
    this.env = api.callOut('CreateEnv', LOG_ERRORS_ONLY, 'phi-local');
    const options = api.callOut('CreateSessionOptions');
    try {
      api.call('SetIntraOpNumThreads', options, settings.threads ?? 0);
      api.call('SetInterOpNumThreads', options, 1);
      api.call('SetSessionGraphOptimizationLevel', options, settings.graphOptimizationLevel ?? ORT_ENABLE_ALL);
      api.call('SetSessionLogSeverityLevel', options, LOG_ERRORS_ONLY);
      if (settings.memArena === false) api.call('DisableCpuMemArena', options);
      if (settings.memPattern === false) api.call('DisableMemPattern', options);
      for (const [key, value] of Object.entries(settings.sessionConfig ?? {})) api.call('AddSessionConfigEntry', options, key, value);
      if (settings.profileFilePrefix) {
        api.call('EnableProfiling', options, settings.profileFilePrefix);
        this.profiling = true;
      }
      this.session = api.callOut('CreateSession', this.env, onnxFile, options);
    } finally {
      api.fn.ReleaseSessionOptions(options);
    }
    this.allocator = api.callOut('GetAllocatorWithDefaultOptions');
    this.memoryInfo = api.callOut('CreateCpuMemoryInfo', ARENA_ALLOCATOR, MEM_TYPE_DEFAULT);
    this.checkInputs();

    const { vocabSize, io } = config;
    this.slot(0);
    const logitsBuffer = new NativeBuffer(vocabSize * (config.logitsType === 'float16' ? 2 : 4));
    this.logits = {
      buffer: logitsBuffer,
      value: this.tensor(logitsBuffer, ElementType[config.logitsType], [1, 1, vocabSize]),
      view: config.logitsType === 'float16' ? new Uint16Array(logitsBuffer.buffer) : new Float32Array(logitsBuffer.buffer),
    };
    const feed = (positions: number): Feed => {
      const buffer = new NativeBuffer(positions * 8);
      return { buffer, view: new BigInt64Array(buffer.buffer) };
    };
    this.feeds.ids = feed(this.maxLength);
    this.feeds.mask = feed(this.maxLength);
    this.feeds.mask.view.fill(1n); // the mask is all ones; its length says how many positions are attended
    if (io.positionIds) this.feeds.positions = feed(this.maxLength);
    if (this.logitsToKeepInput) this.feeds.keep = feed(1);
    this.binding = this.createBinding();
  }

  /** The session must take exactly the inputs this backend feeds: anything else would fail at the first run. */
  private checkInputs(): void {
    const { api, config: { io } } = this;
    const names: string[] = [];
    const count = Number(api.callOut('SessionGetInputCount', this.session));
    for (let i = 0; i < count; i++) {
      const name = api.callOut('SessionGetInputName', this.session, i, this.allocator);
      names.push(koffi.decode.string(name));
      api.call('AllocatorFree', this.allocator, name);
    }
    const expected = [io.inputIds, io.attentionMask, io.positionIds, ...io.pastKeys, ...io.pastValues, this.logitsToKeepInput]
      .filter((n): n is string => !!n);
    const missing = expected.filter((n) => !names.includes(n));
    const unknown = names.filter((n) => !expected.includes(n));
    if (missing.length || unknown.length) {
      throw new EngineError('model-load', `The model's inputs are not what its genai_config.json says: ` +
        [missing.length ? `missing ${missing.join(', ')}` : '', unknown.length ? `unexpected ${unknown.join(', ')}` : '']
          .filter(Boolean).join('; ') + '.', 'model.onnx');
    }
  }

  /** An OrtValue over our own memory (no copy). */
  private tensor(buffer: NativeBuffer, type: number, dims: number[]): bigint {
    const elements = dims.reduce((a, b) => a * b, 1);
    const bytes = elements * (type === ElementType.float16 ? 2 : type === ElementType.int64 ? 8 : 4);
    if (bytes > buffer.bytes) throw new Error(`a [${dims.join(', ')}] tensor does not fit its ${buffer.bytes}-byte buffer`);
    const shape = BigInt64Array.from(dims, (d) => BigInt(d));
    return this.api.callOut('CreateTensorWithDataAsOrtValue', this.memoryInfo, buffer.ptr, bytes, shape, dims.length, type);
  }

  /** Binds the logits buffer and the KV cache; inputs that change every run are bound by `forward`. */
  private createBinding(): bigint {
    const { api, config: { io } } = this;
    const binding = api.callOut('CreateIoBinding', this.session);
    try {
      // Bound first, so that it is output 0 of GetBoundOutputValues.
      api.call('BindOutput', binding, io.logits, this.logits!.value);
      this.bindKv(binding);
    } catch (e) {
      api.fn.ReleaseIoBinding(binding);
      throw e;
    }
    this.logitsBound = true;
    return binding;
  }

  /** Binds the selected slot's keys and values as past and present (binding again replaces the previous slot's). */
  private bindKv(binding: Pointer): void {
    const { api, config: { io } } = this;
    const kv = this.slot(this.selected).kv;
    for (let l = 0; l < io.pastKeys.length; l++) {
      api.call('BindInput', binding, io.pastKeys[l], kv[2 * l].value);
      api.call('BindOutput', binding, io.presentKeys[l], kv[2 * l].value);
      api.call('BindInput', binding, io.pastValues[l], kv[2 * l + 1].value);
      api.call('BindOutput', binding, io.presentValues[l], kv[2 * l + 1].value);
    }
  }

  /** Binds a feed with the given shape. The binding keeps its own reference, so our handle goes at once. */
  private bindInput(name: string, feed: Feed, dims: number[]): void {
    const value = this.tensor(feed.buffer, ElementType.int64, dims);
    try {
      this.api.call('BindInput', this.binding, name, value);
    } finally {
      this.api.fn.ReleaseValue(value);
    }
  }

  async forward(tokens: readonly number[], options: { allPositions?: boolean } = {}): Promise<Float32Array> {
    if (this.released || !this.binding) throw new EngineError('no-model', 'The native backend was released.');
    const { io, vocabSize } = this.config;
    const count = tokens.length;
    if (count === 0) throw new EngineError('internal', 'forward() needs at least one token.');
    const total = this.length + count;
    if (total > this.maxLength) {
      throw new EngineError('prompt-too-long', `The context is full: ${total} positions do not fit the ${this.maxLength} the KV cache holds.`);
    }
    const rows = options.allPositions ? count : 1;
    const graphRows = this.logitsToKeepInput ? rows : count;
    const { ids, mask, positions, keep } = this.feeds;
    for (let i = 0; i < count; i++) ids!.view[i] = BigInt(tokens[i]);
    let result: Float32Array;
    try {
      this.bindInput(io.inputIds, ids!, [1, count]);
      this.bindInput(io.attentionMask, mask!, [1, total]);
      if (positions && io.positionIds) {
        for (let i = 0; i < count; i++) positions.view[i] = BigInt(this.length + i);
        this.bindInput(io.positionIds, positions, [1, count]);
      }
      if (keep && this.logitsToKeepInput) {
        keep.view[0] = BigInt(rows);
        this.bindInput(this.logitsToKeepInput, keep, [1]);
      }
      if (graphRows === 1 && !this.logitsBound) {
        this.api.call('BindOutput', this.binding, io.logits, this.logits!.value);
        this.logitsBound = true;
      } else if (graphRows > 1) {
        this.api.call('BindOutputToDevice', this.binding, io.logits, this.memoryInfo);
        this.logitsBound = false;
      }
      this.api.call('RunWithBinding', this.session, null, this.binding);
      result = graphRows === 1 ? toFloat32(this.logits!.view) : this.readAllocatedLogits(graphRows, rows);
    } catch (e) {
      this.renewBinding();
      if (e instanceof OrtError) {
        throw new EngineError('internal', `ONNX Runtime could not run the model on ${count} token(s) after ${this.length} cached: ${e.message}`);
      }
      throw e;
    }
    this.length = total;
    return result;
  }

  /** The last `rows` rows of logits that ORT allocated for this run; frees them by binding our buffer again. */
  private readAllocatedLogits(graphRows: number, rows: number): Float32Array {
    const { api } = this;
    const array = new BigUint64Array(1);
    const count = new BigUint64Array(1);
    api.call('GetBoundOutputValues', this.binding, this.allocator, array, count);
    const values: bigint[] = [];
    for (let i = 0; i < Number(count[0]); i++) values.push(koffi.decode(array[0], i * 8, 'void *'));
    try {
      const data = api.callOut('GetTensorMutableData', values[0]);
      const half = this.config.logitsType === 'float16';
      const rowBytes = this.config.vocabSize * (half ? 2 : 4);
      const view = koffi.view(data + BigInt((graphRows - rows) * rowBytes), rows * rowBytes) as ArrayBuffer;
      return half ? float16ToFloat32(new Uint16Array(view)) : new Float32Array(view.slice(0));
    } finally {
      for (const v of values) api.fn.ReleaseValue(v);
      if (array[0]) api.call('AllocatorFree', this.allocator, array[0]);
      api.call('BindOutput', this.binding, this.config.io.logits, this.logits!.value);
      this.logitsBound = true;
    }
  }

  /** After a failed call the IoBinding may be unusable (ORT leaves it inconsistent): start a fresh one. */
  private renewBinding(): void {
    if (this.binding) this.api.fn.ReleaseIoBinding(this.binding);
    this.binding = null;
    this.binding = this.createBinding();
  }

  /** Finishes the profile that `profileFilePrefix` started and returns the JSON file's path. */
  endProfiling(): string {
    if (!this.profiling || !this.session) throw new EngineError('internal', 'This native backend was not created with profiling on.');
    const name = this.api.callOut('SessionEndProfiling', this.session, this.allocator);
    try {
      this.profiling = false;
      return koffi.decode.string(name);
    } finally {
      this.api.call('AllocatorFree', this.allocator, name);
    }
  }

  fillForBenchmark(length: number, write: (rows: Float32Array | Uint16Array) => void): void {
    if (this.length !== 0) throw new Error('fillForBenchmark: the cache must be empty');
    if (length > this.maxLength) throw new EngineError('prompt-too-long', `${length} positions do not fit the ${this.maxLength} reserved`);
    const { numKvHeads, headSize, kvType } = this.config;
    for (const { buffer } of this.slot(this.selected).kv) {
      const all = kvType === 'float16' ? new Uint16Array(buffer.buffer) : new Float32Array(buffer.buffer);
      for (let h = 0; h < numKvHeads; h++) {
        const start = h * this.maxLength * headSize; // [1, kvHeads, maxLength, headSize]
        write(all.subarray(start, start + length * headSize));
      }
    }
    this.length = length;
  }

  truncate(length: number): void {
    // The rows past `length` stay in the buffers but are never attended: the mask length decides.
    this.length = Math.max(0, Math.min(length, this.length));
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const { fn } = this.api;
    // The binding holds references to our OrtValues; the OrtValues point into our buffers: free in that order.
    if (this.binding) fn.ReleaseIoBinding(this.binding);
    for (const slot of this.slots) for (const { value } of slot?.kv ?? []) if (value) fn.ReleaseValue(value);
    if (this.logits?.value) fn.ReleaseValue(this.logits.value);
    if (this.session) fn.ReleaseSession(this.session);
    if (this.memoryInfo) fn.ReleaseMemoryInfo(this.memoryInfo);
    if (this.env) fn.ReleaseEnv(this.env);
    for (const slot of this.slots) for (const { buffer } of slot?.kv ?? []) buffer.free();
    this.logits?.buffer.free();
    for (const feed of Object.values(this.feeds)) feed?.buffer.free();
    this.binding = this.session = this.memoryInfo = this.env = null;
    this.slots.length = 0;
    this.logits = undefined;
  }
}

function toFloat32(view: Float32Array | Uint16Array): Float32Array {
  return view instanceof Uint16Array ? float16ToFloat32(view) : new Float32Array(view);
}
