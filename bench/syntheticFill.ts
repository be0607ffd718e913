// Benchmark only: makes a backend's KV cache hold `length` positions without computing them, so decode speed at a
// long context can be measured without a real prefill (about 5 minutes for 4096 tokens on a 2-core CPU).
// One decode step costs the same whatever the cached keys and values are (the same matmuls, attention over the
// same number of positions, the same bytes read), so the values are made up; every page is written, so the
// memory traffic and RSS are those of a real cache of that length (untouched zero pages would read from cache).
//
// The Backend interface (sidecar/engine/backend.ts) has no way to do this, so this reaches into the two backends'
// private fields, checking they look as expected and failing with a clear message when they do not.
// A `fillForBenchmark(length)`-style hook on the backends would replace it.
import * as ort from 'onnxruntime-node';
import type { Backend } from '../sidecar/engine/backend';
import type { ModelConfig } from '../sidecar/engine/modelFolder';

/** A block of made-up values in [-1, 1), copied over and over (the values do not matter, only that pages are written). */
function pattern(kvType: ModelConfig['kvType']): Float32Array | Uint16Array {
  let s = 0x2545f491;
  const next = () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return s >>> 0;
  };
  const n = 1 << 16;
  if (kvType === 'float16') {
    // sign, exponent of 0.5, random fraction: ±[0.5, 1)
    return Uint16Array.from({ length: n }, () => { const r = next(); return (r & 0x8000) | 0x3800 | (r & 0x3ff); });
  }
  return Float32Array.from({ length: n }, () => next() / 2 ** 31 - 1);
}

function fill(target: Float32Array | Uint16Array, block: Float32Array | Uint16Array): void {
  for (let at = 0; at < target.length; at += block.length) {
    target.set(block.subarray(0, Math.min(block.length, target.length - at)), at);
  }
}

interface NativeInternals {
  length: number;
  maxLength: number;
  kv: Array<{ buffer: { buffer: ArrayBuffer } }>;
}

interface PlainInternals {
  length: number;
  pastKeys: ort.Tensor[];
  pastValues: ort.Tensor[];
}

function changed(name: string): Error {
  return new Error(`--fill synthetic: the ${name} backend's internals are not what bench/syntheticFill.ts expects ` +
    '(they changed); use --fill real, or give the backend a fill hook for benchmarks.');
}

/** Makes `backend` hold `length` cached positions of made-up keys and values. Its cache must be empty. */
export function fillKvCache(backend: Backend, config: ModelConfig, length: number): void {
  if (backend.cachedLength !== 0) throw new Error('fillKvCache: the cache must be empty');
  const { numKvHeads, headSize, numLayers, kvType } = config;
  const block = pattern(kvType);
  const view = (b: ArrayBuffer) => (kvType === 'float16' ? new Uint16Array(b) : new Float32Array(b));

  if (backend.info.name === 'native') {
    const native = backend as unknown as NativeInternals;
    if (typeof native.length !== 'number' || typeof native.maxLength !== 'number' || !Array.isArray(native.kv) ||
        native.kv.length !== 2 * numLayers) throw changed('native');
    if (length > native.maxLength) throw new Error(`fillKvCache: ${length} positions do not fit the ${native.maxLength} reserved`);
    // Each buffer is [1, kvHeads, maxLength, headSize]: the first `length` rows of every head.
    for (const { buffer } of native.kv) {
      const all = view(buffer.buffer);
      if (all.length !== numKvHeads * native.maxLength * headSize) throw changed('native');
      for (let h = 0; h < numKvHeads; h++) {
        const start = h * native.maxLength * headSize;
        fill(all.subarray(start, start + length * headSize), block);
      }
    }
    native.length = length;
    return;
  }

  if (backend.info.name === 'onnxruntime-node') {
    const plain = backend as unknown as PlainInternals;
    if (typeof plain.length !== 'number' || !Array.isArray(plain.pastKeys) || plain.pastKeys.length !== numLayers ||
        !Array.isArray(plain.pastValues) || plain.pastValues.length !== numLayers) throw changed('onnxruntime-node');
    const tensor = () => {
      const data = kvType === 'float16' ? new Uint16Array(numKvHeads * length * headSize) : new Float32Array(numKvHeads * length * headSize);
      fill(data, block);
      return new ort.Tensor(kvType, data, [1, numKvHeads, length, headSize]);
    };
    plain.pastKeys = plain.pastKeys.map(tensor);
    plain.pastValues = plain.pastValues.map(tensor);
    plain.length = length;
    return;
  }
  throw new Error(`--fill synthetic does not know the ${backend.info.name} backend; use --fill real`);
}
