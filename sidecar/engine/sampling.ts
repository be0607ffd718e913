// Picks the next token from a row of logits: greedy, or sampled with temperature, top-k, top-p and a
// repetition penalty, from a seeded generator so that a given seed always gives the same text.

import type { SamplingOptions } from '../protocol';

export type { SamplingOptions };

/** mulberry32: small, fast, and good enough for picking tokens. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

export class Sampler {
  private readonly random: () => number;
  readonly greedy: boolean;
  readonly seed: number;

  constructor(private readonly options: SamplingOptions = {}) {
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    this.random = seededRandom(this.seed);
    this.greedy = (options.temperature ?? 0) <= 0 || options.topK === 1;
  }

  /** `context` is every token the model has seen (prompt and generated), for the repetition penalty. */
  sample(logits: Float32Array, context: readonly number[] = []): number {
    const penalty = this.options.repetitionPenalty ?? 1;
    if (penalty !== 1 && context.length > 0) logits = penalise(logits, context, penalty);
    if (this.greedy) return argmax(logits);
    return this.pick(logits);
  }

  private pick(logits: Float32Array): number {
    const temperature = this.options.temperature ?? 1;
    const topK = this.options.topK ?? 0;
    const topP = this.options.topP ?? 1;
    const max = logits[argmax(logits)];
    // Tokens whose probability is below e^-30 of the best cannot matter for any top-p < 1 - 1e-13; skipping
    // them keeps the sort small on a 200k vocabulary.
    const floor = max - 30 * temperature;
    // Without top-k or top-p, no order is needed: draw from the softmax in two passes over a typed array. (A flat
    // distribution, e.g. inside a constrained string on random weights, has ~200k candidates to sort otherwise.)
    if (topK <= 0 && topP >= 1) return this.draw(logits, max, floor, temperature);
    let candidates: number[] = [];
    for (let i = 0; i < logits.length; i++) if (logits[i] >= floor) candidates.push(i);
    candidates.sort((a, b) => logits[b] - logits[a] || a - b);
    if (topK > 0 && candidates.length > topK) candidates = candidates.slice(0, topK);
    const weights = candidates.map((i) => Math.exp((logits[i] - max) / temperature));
    let total = weights.reduce((a, b) => a + b, 0);
    if (topP < 1) {
      let cumulative = 0;
      let keep = 0;
      while (keep < candidates.length && cumulative < topP * total) cumulative += weights[keep++];
      candidates.length = weights.length = Math.max(1, keep);
      total = weights.reduce((a, b) => a + b, 0);
    }
    let r = this.random() * total;
    for (let i = 0; i < candidates.length; i++) {
      r -= weights[i];
      if (r <= 0) return candidates[i];
    }
    return candidates[candidates.length - 1];
  }

  private weights = new Float64Array(0);

  private draw(logits: Float32Array, max: number, floor: number, temperature: number): number {
    if (this.weights.length < logits.length) this.weights = new Float64Array(logits.length);
    const weights = this.weights;
    let total = 0;
    for (let i = 0; i < logits.length; i++) {
      const w = logits[i] >= floor ? Math.exp((logits[i] - max) / temperature) : 0;
      weights[i] = w;
      total += w;
    }
    let r = this.random() * total;
    let last = 0;
    for (let i = 0; i < logits.length; i++) {
      if (weights[i] === 0) continue;
      last = i;
      r -= weights[i];
      if (r <= 0) return i;
    }
    return last;
  }
}

function penalise(logits: Float32Array, context: readonly number[], penalty: number): Float32Array {
  const out = new Float32Array(logits);
  for (const id of new Set(context)) {
    if (id < 0 || id >= out.length) continue;
    out[id] = out[id] > 0 ? out[id] / penalty : out[id] * penalty;
  }
  return out;
}
