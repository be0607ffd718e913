// Benchmark only: makes a backend's KV cache hold `length` positions without computing them, so decode speed at a
// long context can be measured without a real prefill (about 5 minutes for 4096 tokens on a 2-core CPU).
// One decode step costs the same whatever the cached keys and values are (the same matmuls, attention over the
// same number of positions, the same bytes read), so the values are made up; every page is written, so the
// memory traffic and RSS are those of a real cache of that length (untouched zero pages would read from cache).
import { canFillForBenchmark, type Backend } from '../sidecar/engine/backend';
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

/** Makes `backend` hold `length` cached positions of made-up keys and values. Its cache must be empty. */
export function fillKvCache(backend: Backend, config: ModelConfig, length: number): void {
  const block = pattern(config.kvType);
  if (!canFillForBenchmark(backend)) throw new Error(`the ${backend.info.name} backend cannot fill its cache for a benchmark`);
  backend.fillForBenchmark(length, (rows) => fill(rows, block));
}
