// The generation loop on the tiny model: determinism, seeded sampling, prefix reuse, cancel within one step,
// prompt too long, and the LongRoPE switch at 4096.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EngineError } from '../../sidecar/engineError';
import { Generator } from '../../sidecar/engine/generate';
import { readModelFolder, type ModelFolder } from '../../sidecar/engine/modelFolder';
import { OrtBackend } from '../../sidecar/engine/ortBackend';
import { PromptBuilder } from '../../sidecar/prompt/promptBuilder';
import { seededRandom } from '../../sidecar/engine/sampling';
import type { ChatMessage } from '../../sidecar/prompt/template';
import { EXACT_MODEL, ensureModel } from '../fixtures/models';
import { FP32_LOGITS_TOLERANCE, RecordingBackend } from './helpers';

const notCancelled = { aborted: false };

describe('generation loop (tiny model)', () => {
  let folder: ModelFolder;
  let ort: OrtBackend;
  let backend: RecordingBackend;
  let prompts: PromptBuilder;
  let generator: Generator;
  const conversation: ChatMessage[] = [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Write a haiku about ONNX Runtime.' },
  ];

  before(async () => {
    folder = readModelFolder(ensureModel('tiny', EXACT_MODEL));
    ort = await OrtBackend.create(folder.onnxFile, folder.config, { executionProvider: 'cpu', threads: 2 });
    backend = new RecordingBackend(ort);
    prompts = PromptBuilder.fromFolder(folder);
    generator = new Generator(backend, prompts, folder.config);
  });
  after(() => ort?.release());

  it('greedy decoding is deterministic, with or without a reused prefix', async () => {
    generator.reset();
    const a = await generator.generate({ messages: conversation, maxNewTokens: 24, stopOnEos: false }, notCancelled);
    assert.equal(a.usage.reusedTokens, 0);
    const b = await generator.generate({ messages: conversation, maxNewTokens: 24, stopOnEos: false }, notCancelled);
    assert.ok(b.usage.reusedTokens > 0, 'the second identical request reuses the cached prompt');
    assert.deepEqual(b.tokenIds, a.tokenIds);
    generator.reset();
    const c = await generator.generate({ messages: conversation, maxNewTokens: 24, stopOnEos: false }, notCancelled);
    assert.deepEqual(c.tokenIds, a.tokenIds);
    assert.equal(a.tokenIds.length, 24);
    assert.equal(a.finishReason, 'length');
    assert.equal(a.text, prompts.tokenizer.decode(a.tokenIds));
  });

  it('the next turn of a conversation prefills only its new tokens', async () => {
    generator.reset();
    const first = await generator.generate({ messages: conversation, maxNewTokens: 12, stopOnEos: false }, notCancelled);
    const next: ChatMessage[] = [...conversation, { role: 'assistant', content: first.text }, { role: 'user', content: 'Another one.' }];
    const promptLength = prompts.render(next).ids.length;
    const second = await generator.generate({ messages: next, maxNewTokens: 12, stopOnEos: false }, notCancelled);
    const firstPromptLength = prompts.render(conversation).ids.length;
    assert.ok(second.usage.reusedTokens >= firstPromptLength, `reused ${second.usage.reusedTokens} of ${promptLength}`);
    assert.equal(second.usage.promptTokens, promptLength);
    // Same answer as from a cold cache.
    generator.reset();
    const cold = await generator.generate({ messages: next, maxNewTokens: 12, stopOnEos: false }, notCancelled);
    assert.deepEqual(second.tokenIds, cold.tokenIds);
  });

  it('a seeded sampler reproduces its text; another seed does not', async () => {
    const run = async (seed: number) => {
      generator.reset();
      return (await generator.generate({ messages: conversation, maxNewTokens: 20, stopOnEos: false,
        sampling: { temperature: 1.2, topP: 0.95, seed } }, notCancelled)).tokenIds;
    };
    const a = await run(11);
    assert.deepEqual(await run(11), a);
    assert.notDeepEqual(await run(12), a);
  });

  it('stops at an eos token without emitting it', async () => {
    // Find what greedy produces, then declare its 5th token an eos: generation must stop right before it.
    generator.reset();
    const free = await generator.generate({ messages: conversation, maxNewTokens: 8, stopOnEos: false }, notCancelled);
    const stopper = new Generator(backend, prompts, { ...folder.config, eosTokenIds: [free.tokenIds[4]] });
    const stopped = await stopper.generate({ messages: conversation, maxNewTokens: 8 }, notCancelled);
    const firstAt = free.tokenIds.indexOf(free.tokenIds[4]);
    assert.equal(stopped.finishReason, 'stop');
    assert.deepEqual(stopped.tokenIds, free.tokenIds.slice(0, firstAt));
  });

  it('cancel stops the loop within one step', async () => {
    generator.reset();
    let texts = 0;
    const signal = { aborted: false };
    const before = backend.calls.length;
    const result = await generator.generate({ messages: conversation, maxNewTokens: 500, stopOnEos: false }, signal, {
      onText: () => { if (++texts === 5) signal.aborted = true; },
    });
    assert.equal(result.finishReason, 'cancelled');
    // The token whose text raised the flag is kept; no forward pass runs after it.
    // The prompt's passes feed many tokens each (its head, then the rest); each decode pass feeds one.
    const decodePasses = backend.calls.slice(before).filter((c) => c.tokens === 1).length;
    assert.ok(result.tokenIds.length <= 6, `${result.tokenIds.length} tokens after cancel`);
    assert.equal(decodePasses, result.tokenIds.length - 1, 'one pass per token but the last');
  });

  it('cancel during a long prefill stops between chunks', async () => {
    generator.reset();
    const r = seededRandom(9);
    const promptIds = Array.from({ length: 2000 }, () => Math.floor(r() * 199_000));
    const signal = { aborted: false };
    const before = backend.calls.length;
    setImmediate(() => { signal.aborted = true; });
    const original = backend.forward.bind(backend);
    backend.forward = async (tokens, options) => { const l = await original(tokens, options); await new Promise(setImmediate); return l; };
    try {
      const result = await generator.generate({ messages: [], promptIds, maxNewTokens: 5 }, signal);
      assert.equal(result.finishReason, 'cancelled');
      assert.equal(result.tokenIds.length, 0);
      assert.ok(backend.calls.length - before < 2000 / 256, 'not every chunk ran');
    } finally {
      backend.forward = original;
    }
  });

  it('a prompt longer than the context is a clear error, and the next request works', async () => {
    const small = new Generator(backend, prompts, folder.config, { contextLength: 64 });
    const long: ChatMessage[] = [{ role: 'user', content: 'word '.repeat(200) }];
    await assert.rejects(small.generate({ messages: long }, notCancelled), (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.equal(e.code, 'prompt-too-long');
      assert.match(e.message, /The prompt is \d+ tokens, but the context holds 64/);
      return true;
    });
    const ok = await small.generate({ messages: conversation, maxNewTokens: 100, stopOnEos: false }, notCancelled);
    assert.equal(ok.finishReason, 'length');
    assert.equal(ok.usage.promptTokens + ok.usage.completionTokens, 64, 'generation is capped at the context');
  });

  it('crossing the LongRoPE switch at 4096 re-feeds the sequence, matching a one-pass recompute', async () => {
    generator.reset();
    const switchAt = folder.config.ropeSwitchLength!;
    assert.equal(switchAt, 4096);
    const r = seededRandom(21);
    const promptIds = Array.from({ length: switchAt - 3 }, () => Math.floor(r() * 199_000));
    const before = backend.calls.length;
    const result = await generator.generate({ messages: [], promptIds, maxNewTokens: 6, stopOnEos: false }, notCancelled);
    const calls = backend.calls.slice(before);
    const refeed = calls.find((c) => c.cachedBefore === 0 && c.tokens > switchAt);
    assert.ok(refeed, 'one pass re-fed the whole sequence under the long factors');
    assert.equal(refeed.tokens, switchAt + 1);
    // The last logits equal a one-pass recompute of the whole sequence.
    const sequence = [...promptIds, ...result.tokenIds.slice(0, -1)];
    const fresh = await OrtBackend.create(folder.onnxFile, folder.config, { executionProvider: 'cpu', threads: 2 });
    try {
      const expected = await fresh.forward(sequence);
      const got = calls[calls.length - 1].logits;
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
      console.log(`  max |generated - one-pass| past the switch: ${worst.toExponential(2)}`);
      assert.ok(worst <= FP32_LOGITS_TOLERANCE, `differs by ${worst}`);
    } finally {
      await fresh.release();
    }
    generator.reset(); // free the 4k-token cache
  });
});
