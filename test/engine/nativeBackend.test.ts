// The native backend (ORT's C API, KV cache in native memory, shared past/present buffers) against the plain
// onnxruntime-node one on the tiny model: same greedy tokens and logits within FP32_LOGITS_TOLERANCE across prefill, decoding,
// rewinds, prefix reuse, a cancel and the LongRoPE switch; clear errors after which the next request works;
// and no memory kept across load/unload cycles.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { canFillForBenchmark, type Backend } from '../../sidecar/engine/backend';
import { createBackend } from '../../sidecar/engine/backendChoice';
import { EngineError } from '../../sidecar/engineError';
import { Generator, type GenerateRequest } from '../../sidecar/engine/generate';
import { lastLogitsGraph } from '../../sidecar/engine/graphRewrite';
import { readModelFolder, type ModelFolder } from '../../sidecar/engine/modelFolder';
import { NativeBackend } from '../../sidecar/engine/native/nativeBackend';
import { NativeBuffer } from '../../sidecar/engine/native/nativeMemory';
import { loadOrtApi, NativeUnavailableError, ortLibraryPath } from '../../sidecar/engine/native/ortApi';
import { PromptBuilder } from '../../sidecar/prompt/promptBuilder';
import { argmax } from '../../sidecar/engine/sampling';
import type { ChatMessage } from '../../sidecar/prompt/template';
import { EXACT_MODEL, ensureModel } from '../fixtures/models';
import { FP32_LOGITS_TOLERANCE, maxAbsDiff, randomTokens, RecordingBackend } from './helpers';

const TOLERANCE = FP32_LOGITS_TOLERANCE;


describe('native backend vs onnxruntime-node (tiny model)', () => {
  let folder: ModelFolder;
  let plain: Backend;
  let native: Backend;

  before(async () => {
    folder = readModelFolder(ensureModel('tiny', EXACT_MODEL));
    plain = (await createBackend(folder, { backend: 'onnxruntime-node', executionProvider: 'cpu', threads: 2 })).backend;
    native = (await createBackend(folder, { backend: 'native', executionProvider: 'cpu', threads: 2 })).backend;
    assert.equal(plain.info.name, 'onnxruntime-node');
    assert.equal(native.info.name, 'native');
  });
  after(async () => {
    await plain?.release();
    await native?.release();
  });

  /** Runs the same forward pass on both and checks that the logits agree. */
  async function both(tokens: number[], options?: { allPositions?: boolean }): Promise<Float32Array> {
    const [a, b] = [await plain.forward(tokens, options), await native.forward(tokens, options)];
    const diff = maxAbsDiff(a, b);
    assert.ok(diff <= TOLERANCE, `logits differ by ${diff} after ${plain.cachedLength} positions`);
    assert.equal(native.cachedLength, plain.cachedLength);
    return b;
  }

  it('auto picks the native backend on the CPU, with the last-logits graph', async () => {
    const chosen = await createBackend(folder, { executionProvider: 'cpu', threads: 2 });
    try {
      assert.equal(chosen.backend.info.name, 'native');
      assert.equal(chosen.backendReason, undefined);
      assert.deepEqual(chosen.warnings, []);
    } finally {
      await chosen.backend.release();
    }
    const asked = await createBackend(folder, { backend: 'onnxruntime-node', executionProvider: 'cpu', threads: 2 });
    await asked.backend.release();
    assert.match(asked.backendReason ?? '', /onnxruntime-node backend was asked for/);
    await assert.rejects(createBackend(folder, { backend: 'native', executionProvider: 'webgpu' }),
      /native backend runs on the CPU only, and webgpu was asked for/);
  });

  it('prefill, 32 decode steps, a rewind and a prefix-reuse turn give the same logits', async () => {
    plain.truncate(0);
    native.truncate(0);
    const tokens = randomTokens(3, 40);
    let logits = await both(tokens);
    for (let step = 0; step < 32; step++) {
      tokens.push(argmax(logits));
      logits = await both([tokens[tokens.length - 1]]);
    }
    assert.equal(native.cachedLength, 72);
    // Rewind to 20 positions and feed another continuation, asking for every position's logits.
    plain.truncate(20);
    native.truncate(20);
    const rows = await both(randomTokens(4, 7), { allPositions: true });
    assert.equal(rows.length, 7 * folder.config.vocabSize);
    logits = rows.subarray(6 * folder.config.vocabSize);
    for (let step = 0; step < 4; step++) logits = await both([argmax(logits)]);
    // Truncating past the end changes nothing; truncating to 0 starts over.
    native.truncate(1000);
    assert.equal(native.cachedLength, 31);
  });

  it('a cache filled for a benchmark (made-up keys and values) is laid out alike in both, and then decodes alike', async () => {
    plain.truncate(0);
    native.truncate(0);
    const write = (rows: Float32Array | Uint16Array) => {
      for (let i = 0; i < rows.length; i++) rows[i] = Math.sin(i * 0.37) * 0.5;
    };
    const [p, n] = [plain, native];
    if (!canFillForBenchmark(p) || !canFillForBenchmark(n)) return assert.fail('both backends fill a cache for benchmarks');
    p.fillForBenchmark(40, write);
    n.fillForBenchmark(40, write);
    assert.equal(native.cachedLength, 40);
    const next = await both([7]);
    assert.ok(next.some((x) => x !== 0));
    assert.throws(() => n.fillForBenchmark(8, write), /cache must be empty/);
    plain.truncate(0);
    native.truncate(0);
  });

  it('a failing ORT call is a clear error, and the next request works', async () => {
    plain.truncate(0);
    native.truncate(0);
    await both([5, 17, 99]);
    const outOfVocabulary = folder.config.vocabSize + 5;
    await assert.rejects(native.forward([outOfVocabulary]), (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.match(e.message, /^ONNX Runtime could not run the model on 1 token\(s\) after 3 cached: RunWithBinding failed \(INVALID_ARGUMENT\):/);
      assert.match(e.message, /out of data bounds/);
      return true;
    });
    await assert.rejects(plain.forward([outOfVocabulary]), /out of data bounds/);
    assert.equal(native.cachedLength, 3, 'a failed run leaves the cache as it was');
    await both([42, 7]);
  });

  it('a context beyond the KV cache is refused before ORT runs', async () => {
    const small = (await createBackend(folder, { backend: 'native', executionProvider: 'cpu', threads: 2, contextLength: 16 })).backend;
    try {
      await small.forward(randomTokens(5, 10));
      await assert.rejects(small.forward(randomTokens(6, 7)), (e: unknown) =>
        e instanceof EngineError && e.code === 'prompt-too-long' && /17 positions do not fit the 16/.test(e.message));
      await small.forward(randomTokens(6, 6));
      assert.equal(small.cachedLength, 16);
    } finally {
      await small.release();
    }
  });

  it('through the generation loop: same tokens and logits across turns, a cancel and the LongRoPE switch', async () => {
    const prompts = PromptBuilder.fromFolder(folder);
    const a = new RecordingBackend(plain);
    const b = new RecordingBackend(native);
    const genA = new Generator(a, prompts, folder.config);
    const genB = new Generator(b, prompts, folder.config);
    const notCancelled = { aborted: false };
    const compare = async (request: GenerateRequest, cancelAfterTexts?: number) => {
      a.calls = [];
      b.calls = [];
      const run = (g: Generator) => {
        const signal = { aborted: false };
        let texts = 0;
        return g.generate(request, cancelAfterTexts ? signal : notCancelled, {
          onText: () => { if (++texts === cancelAfterTexts) signal.aborted = true; },
        });
      };
      const [ra, rb] = [await run(genA), await run(genB)];
      assert.deepEqual(rb.tokenIds, ra.tokenIds);
      assert.deepEqual(rb.usage, ra.usage);
      assert.equal(rb.finishReason, ra.finishReason);
      assert.equal(b.calls.length, a.calls.length);
      let worst = 0;
      for (let i = 0; i < a.calls.length; i++) {
        assert.equal(b.calls[i].tokens, a.calls[i].tokens);
        assert.equal(b.calls[i].cachedBefore, a.calls[i].cachedBefore);
        worst = Math.max(worst, maxAbsDiff(a.calls[i].logits, b.calls[i].logits));
      }
      assert.ok(worst <= TOLERANCE, `logits differ by ${worst}`);
      return rb;
    };

    const conversation: ChatMessage[] = [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Write a haiku about ONNX Runtime.' },
    ];
    genA.reset();
    genB.reset();
    const first = await compare({ messages: conversation, maxNewTokens: 32, stopOnEos: false });
    assert.equal(first.tokenIds.length, 32);
    const next: ChatMessage[] = [...conversation, { role: 'assistant', content: first.text }, { role: 'user', content: 'Another.' }];
    const second = await compare({ messages: next, maxNewTokens: 16, stopOnEos: false });
    assert.ok(second.usage.reusedTokens > 0, 'the second turn reuses the first one\'s cache');

    const cancelled = await compare({ messages: conversation, maxNewTokens: 500, stopOnEos: false }, 5);
    assert.equal(cancelled.finishReason, 'cancelled');
    assert.ok(cancelled.tokenIds.length <= 6);
    await compare({ messages: next, maxNewTokens: 8, stopOnEos: false });

    const switchAt = folder.config.ropeSwitchLength!;
    const long = await compare({ messages: [], promptIds: randomTokens(21, switchAt - 3), maxNewTokens: 6, stopOnEos: false });
    assert.equal(long.tokenIds.length, 6);
    assert.ok(b.calls.some((c) => c.cachedBefore === 0 && c.tokens === switchAt + 1), 'the sequence was re-fed past the switch');
    genA.reset();
    genB.reset();
  });
});

describe('ONNX Runtime library', () => {
  it('is onnxruntime-node\'s own copy, version-checked; other platforms get their names or a clear refusal', () => {
    const api = loadOrtApi();
    assert.match(api.version, /^1\.(3\d|[4-9]\d)\./);
    assert.equal(api.libraryPath, ortLibraryPath());
    assert.match(ortLibraryPath('win32', 'x64'), /[\\/]win32[\\/]x64[\\/]onnxruntime\.dll$/);
    assert.match(ortLibraryPath('darwin', 'arm64'), /[\\/]darwin[\\/]arm64[\\/]libonnxruntime\.1\.dylib$/);
    assert.throws(() => ortLibraryPath('freebsd', 'x64'), NativeUnavailableError);
    assert.throws(() => ortLibraryPath('linux', 'ia32'), /64-bit/);
  });
});

describe('native backend lifetime (tiny model)', () => {
  it('60 load/unload cycles give back their memory', async () => {
    const folder = readModelFolder(ensureModel('tiny'));
    const graph = lastLogitsGraph(folder.onnxFile, folder.config.io.logits);
    const cycle = async () => {
      const backend = await NativeBackend.create(graph.onnxFile, folder.config, {
        threads: 2, contextLength: 1024, logitsToKeepInput: graph.logitsToKeepInput,
      });
      await backend.forward(randomTokens(7, 300));
      await backend.forward([1, 2, 3], { allPositions: true });
      await backend.release();
      await backend.release(); // twice is harmless
      await assert.rejects(backend.forward([1]), /released/);
    };
    // RSS after each cycle; the first ones settle allocator arenas and JS garbage from earlier tests. It wanders by
    // about 20 MiB either way with no trend (as for onnxruntime-node's own sessions); a leaked session would add
    // the model's 120 MiB per cycle, and leaked native buffers show in liveBytes.
    const rss: number[] = [];
    for (let i = 0; i < 60; i++) {
      await cycle();
      rss.push(process.memoryUsage().rss / 2 ** 20);
    }
    const early = Math.min(...rss.slice(5, 15));
    const late = Math.min(...rss.slice(50));
    console.log(`  RSS (MiB, lowest of 10 cycles) after cycles 5-15: ${early.toFixed(1)}, after 50-60: ${late.toFixed(1)}; ` +
      `native buffers live: ${NativeBuffer.liveBytes} bytes`);
    assert.equal(NativeBuffer.liveBytes, 0);
    assert.ok(late - early < 64, `RSS grew by ${(late - early).toFixed(1)} MiB over 45 cycles`);
  });
});
