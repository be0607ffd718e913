import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { argmax, Sampler, seededRandom } from '../../sidecar/engine/sampling';

function randomLogits(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (r() - 0.5) * 10);
}

describe('sampling', () => {
  const logits = randomLogits(5000, 1);
  const best = argmax(logits);

  it('greedy picks the highest logit, every time', () => {
    const s = new Sampler({ temperature: 0 });
    for (let i = 0; i < 5; i++) assert.equal(s.sample(logits), best);
    assert.equal(new Sampler({ temperature: 1, topK: 1 }).sample(logits), best);
  });

  it('a seeded sampler is reproducible, and another seed gives another sequence', () => {
    const draw = (seed: number) => { const s = new Sampler({ temperature: 1.5, seed }); return Array.from({ length: 50 }, () => s.sample(logits)); };
    assert.deepEqual(draw(42), draw(42));
    assert.notDeepEqual(draw(42), draw(43));
    assert.ok(new Set(draw(42)).size > 5, 'temperature 1.5 should spread the draws');
  });

  it('top-k keeps only the k best tokens', () => {
    const top5 = new Set([...logits.keys()].sort((a, b) => logits[b] - logits[a]).slice(0, 5));
    const s = new Sampler({ temperature: 5, topK: 5, seed: 7 });
    const seen = new Set(Array.from({ length: 400 }, () => s.sample(logits)));
    for (const id of seen) assert.ok(top5.has(id), `token ${id} is not among the 5 best`);
    assert.equal(seen.size, 5, 'at a high temperature all 5 should appear');
  });

  it('top-p keeps the smallest set reaching p', () => {
    const l = new Float32Array(100).fill(0);
    l[3] = 10; // p ≈ 0.996
    const s = new Sampler({ temperature: 1, topP: 0.9, seed: 1 });
    for (let i = 0; i < 200; i++) assert.equal(s.sample(l), 3);
    const two = new Float32Array(100).fill(-20);
    two[10] = 1; two[11] = 1; // two equal tokens: p 0.5 each; top-p 0.6 needs both
    const s2 = new Sampler({ temperature: 1, topP: 0.6, seed: 2 });
    const seen = new Set(Array.from({ length: 200 }, () => s2.sample(two)));
    assert.deepEqual([...seen].sort(), [10, 11]);
  });

  it('temperature sampling follows the softmax', () => {
    const l = Float32Array.from([0, Math.log(3)]); // p = 0.25, 0.75
    const s = new Sampler({ temperature: 1, seed: 3 });
    let ones = 0;
    for (let i = 0; i < 4000; i++) ones += s.sample(l);
    assert.ok(Math.abs(ones / 4000 - 0.75) < 0.03, `observed ${ones / 4000}`);
  });

  it('the repetition penalty demotes tokens already in the context', () => {
    const l = new Float32Array(10).fill(0);
    l[4] = 2; l[6] = 1.5;
    assert.equal(new Sampler({ temperature: 0 }).sample(l, [4]), 4);
    assert.equal(new Sampler({ temperature: 0, repetitionPenalty: 1.5 }).sample(l, [4]), 6);
    assert.equal(l[4], 2, 'the caller’s logits are not modified');
  });
});
