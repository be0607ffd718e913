// ONNX Runtime's MatMulNBits kernels, one node at a time, against the exact product (float64 here), for one row and
// for many: the int8 path (accuracy_level 4, as the official CPU export) and the fp32 path (accuracy_level 0, the
// model the exactness tests use, see EXACT_MODEL in test/fixtures/models.ts).
//
// Which kernel runs depends on the CPU (AVX2, AVX-512, AVX-512 VNNI, NEON…) and on the number of rows, so nothing
// here compares against a measured number: each bound is derived from what the kernel is allowed to do, and holds
// for every kernel that does it.
//
// int8 path: each activation x is replaced by s·round(x/s) with s the quantisation step of its block (the block's
// largest |x| over 127). A block is at most the whole row, so s ≤ max|row|/127 whatever the kernel's blocking, and
// rounding to nearest (what MLAS's activation quantisers do on every instruction set: cvtps2dq / vcvtnq / nearbyint
// in the default rounding mode) moves x by at most s/2. The weights' dequantised values are used exactly, the integer
// dot products are exact, and the float work left (scales, block sums) is bounded like the fp32 path:
//     |y − exact| ≤ Σₖ|wₖ|·s/2 + FP32
// A kernel that quantised coarser than int8, truncated, mixed up blocks or dropped terms fails it.
// fp32 path: a dot product of K float32 terms, in any order, with any FMA use, is within K·2⁻²⁴·Σₖ|wₖxₖ| of the exact
// sum; we allow FP32 = (K + 8)·2⁻²³·Σₖ|wₖxₖ| (twice that, plus the rounding of each dequantised weight).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { seededRandom } from '../../sidecar/engine/sampling';

const K = 256;
const N = 96;
const BLOCK = 32;
const ROW_COUNTS = [1, 2, 3, 8, 64];
const FP32_UNIT = 2 ** -23;

/** Deterministic int4 weights (uint8 [N, K/32, 16], low nibble first, zero point 8) and their fp32 scales. */
function weights(seed: number): { packed: Uint8Array; scales: Float32Array; dequantised: Float64Array } {
  const r = seededRandom(seed);
  const blocks = K / BLOCK;
  const packed = new Uint8Array((N * K) / 2);
  for (let i = 0; i < packed.length; i++) packed[i] = Math.floor(r() * 256);
  const scales = Float32Array.from({ length: N * blocks }, () => (r() < 0.5 ? -1 : 1) * (0.01 + 0.02 * r()));
  const dequantised = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const byte = packed[(n * K + k) >> 1];
      const q = k & 1 ? byte >> 4 : byte & 15;
      dequantised[n * K + k] = Math.fround((q - 8) * scales[n * blocks + Math.floor(k / BLOCK)]);
    }
  }
  return { packed, scales, dequantised };
}

/** A model of one MatMulNBits node: A float [M, K] → Y float [M, N]. */
function oneNodeModel(accuracyLevel: number, w: ReturnType<typeof weights>): Uint8Array {
  const DT = onnx.TensorProto.DataType;
  const attr = (name: string, i: number): onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });
  const info = (name: string, dims: (number | string)[]): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: DT.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  const model: onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
    graph: {
      name: 'matmulnbits',
      node: [{
        opType: 'MatMulNBits', domain: 'com.microsoft', name: 'mm', input: ['A', 'B', 'scales'], output: ['Y'],
        attribute: [attr('K', K), attr('N', N), attr('bits', 4), attr('block_size', BLOCK), attr('accuracy_level', accuracyLevel)],
      }],
      initializer: [
        { name: 'B', dims: [N, K / BLOCK, BLOCK / 2], dataType: DT.UINT8, rawData: w.packed },
        { name: 'scales', dims: [N * (K / BLOCK)], dataType: DT.FLOAT, rawData: new Uint8Array(w.scales.buffer) },
      ],
      input: [info('A', ['M', K])],
      output: [info('Y', ['M', N])],
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

/** Activations uniform in [−1, 1), as a normalised hidden state roughly is. */
function activations(seed: number, rows: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: rows * K }, () => 2 * r() - 1);
}

interface Worst { ratio: number; maxBound: number }

/**
 * Runs rows of `a` through the session `rowCount` at a time and checks every output against its bound;
 * returns the worst |error| / bound and the largest bound.
 */
async function check(session: ort.InferenceSession, a: Float32Array, totalRows: number, rowCount: number,
  w: ReturnType<typeof weights>, int8: boolean): Promise<Worst> {
  let ratio = 0;
  let maxBound = 0;
  for (let first = 0; first + rowCount <= totalRows; first += rowCount) {
    const slice = a.slice(first * K, (first + rowCount) * K);
    const out = await session.run({ A: new ort.Tensor('float32', slice, [rowCount, K]) });
    const y = out.Y.data as Float32Array;
    assert.deepEqual(out.Y.dims, [rowCount, N]);
    for (let m = 0; m < rowCount; m++) {
      const x = slice.subarray(m * K, (m + 1) * K);
      let amax = 0;
      for (const v of x) amax = Math.max(amax, Math.abs(v));
      const step = amax / 127;
      for (let n = 0; n < N; n++) {
        let exact = 0, absProducts = 0, absWeights = 0;
        for (let k = 0; k < K; k++) {
          const wk = w.dequantised[n * K + k];
          exact += wk * x[k];
          absProducts += Math.abs(wk * x[k]);
          absWeights += Math.abs(wk);
        }
        const bound = (K + 8) * FP32_UNIT * absProducts + (int8 ? absWeights * step / 2 : 0);
        const err = Math.abs(y[m * N + n] - exact);
        assert.ok(err <= bound, `${rowCount} rows, row ${first + m}, column ${n}: |${y[m * N + n]} − ${exact}| = ${err} > bound ${bound}`);
        ratio = Math.max(ratio, err / bound);
        maxBound = Math.max(maxBound, bound);
      }
    }
  }
  return { ratio, maxBound };
}

for (const [accuracyLevel, int8] of [[4, true], [0, false]] as const) {
  describe(`MatMulNBits accuracy_level ${accuracyLevel} (${int8 ? 'int8 activations' : 'fp32'}) against the exact product`, () => {
    const w = weights(11);
    const totalRows = 64;
    const a = activations(12, totalRows);
    let session: ort.InferenceSession;
    before(async () => {
      session = await ort.InferenceSession.create(oneNodeModel(accuracyLevel, w), { executionProviders: ['cpu'], intraOpNumThreads: 2 });
    });
    after(() => session?.release());

    for (const rowCount of ROW_COUNTS) {
      it(`${rowCount} row${rowCount > 1 ? 's' : ''} at a time: every output within its derived bound`, async (t) => {
        const worst = await check(session, a, totalRows, rowCount, w, int8);
        t.diagnostic(`worst |error| / bound ${worst.ratio.toFixed(3)}; largest bound ${worst.maxBound.toExponential(2)}`);
      });
    }

    // Depends only on the data above, not on the CPU: guards against a derivation so loose it could never fail.
    // Dropping or misplacing one block of 32 of the K/32 = 8 blocks changes an output by about rms/√8 ≈ 0.35·rms;
    // the largest bound must be well below that (half of it) for such a bug to show.
    const tightness = 0.5 / Math.sqrt(K / BLOCK);
    it(`the bound is tight enough to catch a dropped block (${tightness.toFixed(2)} of the output rms or less)`, () => {
      let sumSq = 0, maxBound = 0;
      for (let m = 0; m < totalRows; m++) {
        const x = a.subarray(m * K, (m + 1) * K);
        const step = x.reduce((s, v) => Math.max(s, Math.abs(v)), 0) / 127;
        for (let n = 0; n < N; n++) {
          let exact = 0, absProducts = 0, absWeights = 0;
          for (let k = 0; k < K; k++) {
            exact += w.dequantised[n * K + k] * x[k];
            absProducts += Math.abs(w.dequantised[n * K + k] * x[k]);
            absWeights += Math.abs(w.dequantised[n * K + k]);
          }
          sumSq += exact * exact;
          maxBound = Math.max(maxBound, (K + 8) * FP32_UNIT * absProducts + (int8 ? absWeights * step / 2 : 0));
        }
      }
      const rms = Math.sqrt(sumSq / (totalRows * N));
      assert.ok(maxBound <= tightness * rms, `largest bound ${maxBound} against an output rms of ${rms}`);
    });
  });
}
