// Prompt-lookup speculative decoding on the tiny model through the native backend (the one that rewinds for free):
// the tokens are exactly those of plain decoding (greedy and seeded sampling, over turns that reuse the cache), and
// after drafts were fed, kept and dropped the KV cache holds what one-by-one decoding writes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend } from '../../sidecar/engine/backend';
import { createBackend } from '../../sidecar/engine/backendChoice';
import { Generator, type GenerateRequest, type GenerateResult } from '../../sidecar/engine/generate';
import { readModelFolder, type ModelFolder } from '../../sidecar/engine/modelFolder';
import { PromptBuilder } from '../../sidecar/prompt/promptBuilder';
import { ReplayScript } from '../../sidecar/engine/replay';
import { seededRandom } from '../../sidecar/engine/sampling';
import type { ChatMessage } from '../../sidecar/prompt/template';
import { EXACT_MODEL, ensureModel } from '../fixtures/models';
import { FP32_LOGITS_TOLERANCE, maxAbsDiff } from './helpers';

const notCancelled = { aborted: false };
const code = 'function add(a, b) {\n  return a + b;\n}\n\nfunction sub(a, b) {\n  return a - b;\n}\n';

describe('speculative decoding (tiny model, native backend)', () => {
  let folder: ModelFolder;
  let backend: Backend;
  let prompts: PromptBuilder;

  before(async () => {
    folder = readModelFolder(ensureModel('tiny', EXACT_MODEL));
    backend = (await createBackend(folder, { backend: 'native', executionProvider: 'cpu', threads: 2 })).backend;
    prompts = PromptBuilder.fromFolder(folder);
  });
  after(() => backend?.release());

  /** Runs the same turns with and without speculation, on the one backend, from a cold cache each time. */
  async function both(turns: GenerateRequest[]): Promise<{ plain: GenerateResult[]; fast: GenerateResult[] }> {
    const run = async (speculative: boolean) => {
      const generator = new Generator(backend, prompts, folder.config, { speculative });
      generator.reset();
      const results: GenerateResult[] = [];
      for (const turn of turns) results.push(await generator.generate(turn, notCancelled));
      return results;
    };
    return { plain: await run(false), fast: await run(true) };
  }

  it('is on by default where rewinding is free', () => {
    assert.equal(backend.rewindIsFree, true);
  });

  it('greedy: the same tokens, over turns that reuse the cache', async () => {
    const first: ChatMessage[] = [{ role: 'user', content: `Rewrite this with types:\n${code}\nand again:\n${code}` }];
    const turns: GenerateRequest[] = [
      { messages: first, maxNewTokens: 60, stopOnEos: false },
      { messages: [...first, { role: 'assistant', content: 'ok' }, { role: 'user', content: code }], maxNewTokens: 40, stopOnEos: false },
    ];
    const { plain, fast } = await both(turns);
    for (let t = 0; t < turns.length; t++) {
      assert.deepEqual(fast[t].tokenIds, plain[t].tokenIds, `turn ${t}`);
      assert.equal(fast[t].text, plain[t].text);
      assert.equal(plain[t].usage.draftedTokens, 0);
    }
    assert.equal(fast[1].usage.reusedTokens, plain[1].usage.reusedTokens, 'drafts do not spoil prefix reuse');
  });

  // Real greedy output, no test double: a random model rarely repeats itself, but on a prompt that repeats a
  // segment its answer now and then follows the pattern, so drafts looked up in the prompt are sometimes kept
  // (about 5 of 20 here) and mostly dropped. Every answer must be exactly the plain one. On the EXACT_MODEL (fp32)
  // the greedy tokens, and so how many drafts are kept, are the same on every CPU: kernels differ only by fp32
  // rounding (~1e-5 of a logit), far below the gap between the top two logits of a random model's step (~0.1).
  // (With the int8 export on an AVX-512 VNNI CPU they are not: see EXACT_MODEL and the README.)
  it('greedy on 20 prompts: exactly the plain tokens, with drafts that hit and drafts that miss', async () => {
    const turns: GenerateRequest[] = Array.from({ length: 20 }, (_, i) => {
      const random = seededRandom(i + 1);
      const segment = Array.from({ length: 6 }, () => Math.floor(random() * 199_000));
      return { messages: [], promptIds: [...segment, ...segment, ...segment, ...segment], maxNewTokens: 48, stopOnEos: false };
    });
    const { plain, fast } = await both(turns);
    let drafted = 0;
    let kept = 0;
    for (let t = 0; t < turns.length; t++) {
      assert.deepEqual(fast[t].tokenIds, plain[t].tokenIds, `prompt ${t}`);
      drafted += fast[t].usage.draftedTokens ?? 0;
      kept += fast[t].usage.acceptedDraftTokens ?? 0;
    }
    assert.ok(kept > 0, `some drafts were kept (${kept} of ${drafted})`);
    assert.ok(kept < drafted, `some drafts were dropped (${kept} of ${drafted} kept)`);
  });

  it('seeded sampling: the same tokens (a draft is kept only where the sampler picks it)', async () => {
    const turns: GenerateRequest[] = [1, 2, 3].map((seed) => ({
      messages: [{ role: 'user', content: `Repeat:\n${code}${code}` }],
      maxNewTokens: 40, stopOnEos: false, sampling: { temperature: 0.7, topP: 0.9, seed },
    }));
    const { plain, fast } = await both(turns);
    for (let t = 0; t < turns.length; t++) assert.deepEqual(fast[t].tokenIds, plain[t].tokenIds, `seed ${t + 1}`);
  });

  // Random weights never repeat their prompt, so no draft would ever be kept: here the answer is forced by the
  // replay TEST DOUBLE (an answer that copies the prompt, as an edit does) while the forward passes, drafts, kept
  // and dropped rows and the rewinds all run for real on the native backend.
  it('a copying answer (TEST DOUBLE: replayed tokens): drafts are kept, and the cache then equals one-by-one decoding', async () => {
    const answer = `Here it is:\n${code.replace('a + b', 'a + b + 0')}Done.`;
    const messages: ChatMessage[] = [{ role: 'user', content: `Change add:\n${code}` }];
    const run = async (speculative: boolean) => {
      const generator = new Generator(backend, prompts, folder.config, { speculative, replay: new ReplayScript('copy', [answer]) });
      generator.reset();
      const result = await generator.generate({ messages, maxNewTokens: 200 }, notCancelled);
      const cached = [...generator.cachedTokens];
      const next = await backend.forward([prompts.tokenizer.encode(' ')[0]]);
      return { result, cached, next };
    };
    const plain = await run(false);
    const fast = await run(true);
    assert.deepEqual(fast.result.tokenIds, plain.result.tokenIds);
    const drafted = fast.result.usage.draftedTokens ?? 0;
    const kept = fast.result.usage.acceptedDraftTokens ?? 0;
    assert.ok(kept >= 10, `most of the copied code came from drafts (${kept} of ${drafted} kept)`);
    assert.ok(kept < drafted, 'some drafts were wrong and dropped');
    assert.deepEqual(fast.cached, plain.cached, 'the cache holds the same tokens');
    assert.ok(maxAbsDiff(fast.next, plain.next) <= FP32_LOGITS_TOLERANCE, `the cached keys and values match (max diff ${maxAbsDiff(fast.next, plain.next)})`);
  });

  it('ending inside a draft leaves the cache holding exactly the generated tokens (TEST DOUBLE: replayed tokens)', async () => {
    const messages: ChatMessage[] = [{ role: 'user', content: `${code}${code}` }];
    const prompt = prompts.render(messages).ids;
    for (const maxNewTokens of [1, 3, 7, 12]) {
      const generator = new Generator(backend, prompts, folder.config, { speculative: true, replay: new ReplayScript('copy', [code]) });
      generator.reset();
      const r = await generator.generate({ messages, maxNewTokens }, notCancelled);
      assert.equal(r.tokenIds.length, maxNewTokens);
      // The last generated token is sampled but not fed; every earlier one is in the cache, nothing after it.
      assert.deepEqual(generator.cachedTokens, [...prompt, ...r.tokenIds.slice(0, -1)], `maxNewTokens ${maxNewTokens}`);
      assert.equal(backend.cachedLength, generator.cachedTokens.length);
    }
  });
});
