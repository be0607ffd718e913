// On the generated tiny model (official format, random weights): the KV-cached forward gives the same
// logits as recomputing the whole sequence, step after step and across a prefix-reuse rewind.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readModelFolder, type ModelFolder } from '../../sidecar/engine/modelFolder';
import { OrtBackend } from '../../sidecar/engine/ortBackend';
import { argmax, seededRandom } from '../../sidecar/engine/sampling';
import { EXACT_MODEL, ensureModel } from '../fixtures/models';
import { FP32_LOGITS_TOLERANCE, maxAbsDiff } from './helpers';

describe('KV cache (tiny model)', () => {
  let folder: ModelFolder;
  let cached: OrtBackend;
  let full: OrtBackend;
  const vocab = () => folder.config.vocabSize;

  before(async () => {
    folder = readModelFolder(ensureModel('tiny', EXACT_MODEL));
    cached = await OrtBackend.create(folder.onnxFile, folder.config, { executionProvider: 'cpu', threads: 2 });
    full = await OrtBackend.create(folder.onnxFile, folder.config, { executionProvider: 'cpu', threads: 2 });
  });
  after(async () => {
    await cached?.release();
    await full?.release();
  });

  /** Logits of every position of `tokens`, from an empty cache in one pass. */
  async function recompute(tokens: number[]): Promise<Float32Array> {
    full.truncate(0);
    return full.forward(tokens, { allPositions: true });
  }

  it('cached decoding equals a full recompute for 40 steps, then across a prefix-reuse turn', async () => {
    const r = seededRandom(5);
    const tokens = Array.from({ length: 24 }, () => Math.floor(r() * 199_000));
    const stepLogits: Float32Array[] = [];
    let logits = await cached.forward(tokens);
    stepLogits.push(logits);
    for (let step = 0; step < 40; step++) {
      tokens.push(argmax(logits));
      logits = await cached.forward([tokens[tokens.length - 1]]);
      stepLogits.push(logits);
    }
    assert.equal(cached.cachedLength, tokens.length);
    const all = await recompute(tokens);
    let worst = 0;
    for (let s = 0; s < stepLogits.length; s++) {
      const row = 23 + s; // the position whose logits step s returned
      worst = Math.max(worst, maxAbsDiff(stepLogits[s], all.subarray(row * vocab(), (row + 1) * vocab())));
    }
    console.log(`  max |cached - recomputed| over ${stepLogits.length} steps: ${worst.toExponential(2)}`);
    assert.ok(worst <= FP32_LOGITS_TOLERANCE, `cached logits differ by ${worst}`);

    // Next turn: keep the first 50 positions (prefix reuse), then feed a different continuation.
    cached.truncate(50);
    assert.equal(cached.cachedLength, 50);
    const turn2 = [...tokens.slice(0, 50), ...Array.from({ length: 9 }, () => Math.floor(r() * 199_000))];
    const reused = await cached.forward(turn2.slice(50), { allPositions: true });
    const again = await recompute(turn2);
    const diff = maxAbsDiff(reused, again.subarray(50 * vocab()));
    console.log(`  max |reused - recomputed| after a rewind to 50: ${diff.toExponential(2)}`);
    assert.ok(diff <= FP32_LOGITS_TOLERANCE, `logits after prefix reuse differ by ${diff}`);
    // And decoding goes on correctly from there.
    turn2.push(argmax(reused.subarray(8 * vocab())));
    const next = await cached.forward([turn2[turn2.length - 1]]);
    const nextFull = await recompute(turn2);
    assert.ok(maxAbsDiff(next, nextFull.subarray((turn2.length - 1) * vocab())) <= FP32_LOGITS_TOLERANCE);
  });

  it('the logits are not degenerate (the comparison above means something)', async () => {
    full.truncate(0);
    const l = await full.forward([200022, 9906, 200020, 200021, 13225, 200020, 200019]);
    let mean = 0;
    for (const x of l) mean += x / l.length;
    let variance = 0;
    for (const x of l) variance += (x - mean) ** 2 / l.length;
    assert.ok(Math.sqrt(variance) > 0.1, `logit std ${Math.sqrt(variance)}`);
    assert.ok(l.every(Number.isFinite));
  });
});
