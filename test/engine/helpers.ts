// Shared by the engine tests: a recording wrapper around a real backend, and small numeric helpers.
import assert from 'node:assert/strict';
import type { Backend } from '../../sidecar/engine/backend';
import { seededRandom } from '../../sidecar/engine/sampling';

/** Delegates to the real backend and remembers what each forward pass was given and returned. */
export class RecordingBackend implements Backend {
  calls: Array<{ tokens: number; cachedBefore: number; logits: Float32Array }> = [];
  constructor(private readonly inner: Backend) {}
  get info() { return this.inner.info; }
  get cachedLength() { return this.inner.cachedLength; }
  async forward(tokens: readonly number[], options?: { allPositions?: boolean }) {
    const cachedBefore = this.inner.cachedLength;
    const logits = await this.inner.forward(tokens, options);
    this.calls.push({ tokens: tokens.length, cachedBefore, logits });
    return logits;
  }
  truncate(length: number) { this.inner.truncate(length); }
  release() { return this.inner.release(); }
  get bytesPerPosition() { return this.inner.bytesPerPosition; }
  selectSlot(slot: number) { this.inner.selectSlot(slot); }
  copySlot(from: number, to: number, length: number) { this.inner.copySlot(from, to, length); }
  freeSlot(slot: number) { this.inner.freeSlot(slot); }
  exportPositions(length: number) { return this.inner.exportPositions(length); }
  importPositions(data: Uint8Array, length: number) { this.inner.importPositions(data, length); }
}

/**
 * How far two fp32 computations of the tiny model's logits may differ when they sum in different orders (one row
 * against many, a cached prefix against a recompute, another backend's kernels), on the EXACT_MODEL (accuracy_level 0).
 * A dot product of K float32 terms is within K·2⁻²⁴·Σ|wx| of the exact sum in any order; the tiny model's widest
 * product is K = 256 (its MLP), and its logits reach about ±20 with Σ|wx| a few times |y|, so one matmul may move a
 * logit by up to ~1e-3 in the worst case (typical: ~2e-5, measured). Any real mistake (a wrong position, a stale or
 * missing cache row, wrong LongRoPE factors) moves logits by O(1), a thousand times more.
 */
export const FP32_LOGITS_TOLERANCE = 1e-3;

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Ordinary token ids (below the special ones), the same for a given seed. */
export function randomTokens(seed: number, n: number): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => Math.floor(r() * 199_000));
}
