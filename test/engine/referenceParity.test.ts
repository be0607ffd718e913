// Parity of ONNX Runtime (the graph our engine runs) with an independent plain-TypeScript forward pass
// (./referenceForward.ts) on the generated `tiny` test model: weights, packed QKV layout, partial NeoX rotary,
// the LongRoPE factor switch at original_max_position_embeddings, GQA head mapping, SiLU gating, norms and the
// int4 block dequantisation all have to agree for the logits to match.
//
// Everything runs one-shot (no past): input_ids [1,S], attention_mask ones [1,S], empty past_key_values.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ensureModel } from '../fixtures/models';
import { loadReferenceModel, referenceLogits, type ReferenceModel } from './referenceForward';

/**
 * max |reference − ORT| allowed with exact (fp32) MatMulNBits compute (accuracy_level 0); typical logits have std ≈ 3.
 * The reference sums in float64, ORT in float32: each K-term dot product may differ by K·2⁻²⁴·Σ|wx| (~1e-5 relative at
 * the tiny model's K ≤ 512), and a layer carries that on; two layers and the LongRoPE tables stay well below 1e-3 of a
 * logit whatever the instruction set. The int8 path (accuracy_level 4) is checked kernel by kernel, with bounds derived
 * from its quantisation step, in ./int8Kernels.test.ts.
 */
const TOL = 1e-3;
const SHORT_LEN = 40;
const LONG_LEN = 4100;

/** Deterministic pseudo-random token ids in [0, 200000) (xorshift32). */
function tokenIds(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    ids.push(s % 200000);
  }
  return ids;
}

interface Diff { maxDiff: number; rmsDiff: number; std: number }

/** Differences of `ref` from `ort`, and the standard deviation of the ORT row. */
function diff(ref: Float32Array, got: Float32Array): Diff {
  assert.equal(ref.length, got.length);
  let max = 0, sq = 0, sum = 0, sum2 = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(ref[i] - got[i]);
    if (!(d <= max)) max = d; // NaN-propagating
    sq += d * d;
    sum += got[i];
    sum2 += got[i] * got[i];
  }
  const n = got.length;
  const mean = sum / n;
  return { maxDiff: max, rmsDiff: Math.sqrt(sq / n), std: Math.sqrt(Math.max(0, sum2 / n - mean * mean)) };
}

const fmt = (d: Diff) => `max|Δ| ${d.maxDiff.toExponential(2)}, rms|Δ| ${d.rmsDiff.toExponential(2)}, logits std ${d.std.toFixed(3)}`;

/**
 * Runs the model once on `ids` with ORT (CPU, 2 threads) and returns copies of the logits rows at `positions`.
 * The session and the full [1, S, vocab] output (3.3 GB at S = 4100) are dropped before returning.
 */
async function ortLogitRows(dir: string, model: ReferenceModel, ids: number[], positions: number[]): Promise<Float32Array[]> {
  const { kvHeads, headDim, vocab } = model.config;
  const session = await ort.InferenceSession.create(join(dir, 'model.onnx'), {
    executionProviders: ['cpu'],
    intraOpNumThreads: 2,
    enableCpuMemArena: false, // give the big logits buffer back as soon as the run is over
  });
  try {
    const S = ids.length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (id) => BigInt(id)), [1, S]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(S).fill(1n), [1, S]),
    };
    const pastNames = session.inputNames.filter((n) => n.startsWith('past_key_values.'));
    assert.equal(pastNames.length, 2 * model.config.layers, `past inputs: ${pastNames.join(', ')}`);
    for (const name of pastNames) feeds[name] = new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
    const out = await session.run(feeds, ['logits']);
    const logits = out.logits;
    assert.deepEqual(logits.dims, [1, S, vocab]);
    const data = logits.data as Float32Array;
    return positions.map((p) => data.slice(p * vocab, (p + 1) * vocab));
  } finally {
    await session.release();
  }
}

/** Each reference row matches ORT's within TOL, and is not degenerate (so the tolerance means something). */
function expectRowsMatch(t: TestContext, positions: number[], ref: Float32Array[], got: Float32Array[]): void {
  positions.forEach((p, i) => {
    const d = diff(ref[i], got[i]);
    t.diagnostic(`pos ${p}: ${fmt(d)}`);
    assert.ok(d.std > 0.1, `pos ${p}: logits are degenerate (std ${d.std})`);
    assert.ok(d.maxDiff <= TOL, `pos ${p}: ${fmt(d)} > ${TOL}`);
  });
}

describe('reference forward vs ORT, accuracy_level 0 (fp32 MatMulNBits)', () => {
  let dir: string;
  let model: ReferenceModel;
  before(() => {
    dir = ensureModel('tiny', { accuracyLevel: 0 });
    model = loadReferenceModel(dir);
  });
  after(() => {
    model = undefined as unknown as ReferenceModel;
  });

  it(`matches ORT on a ${SHORT_LEN}-token sequence (positions 0, 1, middle, last)`, async (t: TestContext) => {
    const ids = tokenIds(SHORT_LEN, 20240601);
    const positions = [0, 1, SHORT_LEN >> 1, SHORT_LEN - 1];
    const got = await ortLogitRows(dir, model, ids, positions);
    const ref = referenceLogits(model, ids, positions);
    expectRowsMatch(t, positions, ref, got);
    // rows differ between positions (the sequence is actually attended to)
    assert.ok(diff(got[0], got[positions.length - 1]).maxDiff > 0.1);
  });

  describe(`one-shot ${LONG_LEN}-token sequence (past original_max_position_embeddings: long factors)`, () => {
    const ids = tokenIds(LONG_LEN, 4100);
    const positions = [100, 4095, 4097, LONG_LEN - 1];
    // one ORT run (the expensive part: 4100 × 200064 logits) shared by both tests, made on first use
    let ortRun: Promise<Float32Array[]> | undefined;
    const ortRows = () => (ortRun ??= ortLogitRows(dir, model, ids, positions));

    it('matches ORT below and above position 4096', async (t: TestContext) => {
      assert.ok(LONG_LEN > model.config.originalMaxPositionEmbeddings);
      const got = await ortRows();
      const ref = referenceLogits(model, ids, positions);
      expectRowsMatch(t, positions, ref, got);
    });

    it('negative control: the short factors do not match (the test sees the LongRoPE switch)', async (t: TestContext) => {
      const got = await ortRows();
      const last = LONG_LEN - 1;
      const [ref] = referenceLogits(model, ids, [last], { factors: 'short' });
      const d = diff(ref, got[positions.indexOf(last)]);
      t.diagnostic(`pos ${last} with short factors: ${fmt(d)}`);
      assert.ok(d.maxDiff > 100 * TOL, `short factors unexpectedly match ORT: ${fmt(d)}`);
    });
  });
});
