// The engine through its worker thread, as the sidecar uses it: load, stream, cancel, queue, fall back, fail clearly.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../sidecar/engine/engine';
import { EngineError } from '../../sidecar/engineError';
import type { ChatMessage } from '../../sidecar/prompt/template';
import { EXACT_MODEL, ensureModel } from '../fixtures/models';

const chat: ChatMessage[] = [{ role: 'user', content: 'Explain recursion in one sentence.' }];

describe('engine in a worker thread (tiny model)', () => {
  let dir: string;
  let engine: Engine;

  before(async () => {
    dir = ensureModel('tiny', EXACT_MODEL);
    engine = new Engine();
  });
  after(() => engine?.dispose());

  it('loads a folder, says where it runs, and keeps the main thread free while loading', async () => {
    const progress: string[] = [];
    let ticks = 0;
    let worstGap = 0;
    let last = performance.now();
    const timer = setInterval(() => { const t = performance.now(); worstGap = Math.max(worstGap, t - last); last = t; ticks++; }, 5);
    const started = performance.now();
    const info = await engine.load({ dir, executionProvider: 'cpu', threads: 2, onProgress: (m) => progress.push(m) });
    const loadMs = performance.now() - started;
    clearInterval(timer);
    assert.equal(info.executionProvider, 'cpu');
    assert.equal(info.backend, 'native', `native backend not used: ${info.backendReason}`);
    assert.equal(info.backendReason, undefined);
    assert.equal(info.contextLength, 8192);
    assert.equal(info.numLayers, 2);
    assert.equal(info.prefillTokensPerSecond, undefined, 'the prefill speed is measured after the load');
    assert.ok(progress.length >= 3, `progress: ${progress.join(', ')}`);
    // Relative, not absolute: a load on the main thread would block it for the session's creation, most of the load;
    // in the worker the longest gap is the event loop's scheduling noise. Both grow alike on a slow or busy machine.
    assert.ok(ticks > 0 && worstGap < loadMs / 2, `main thread blocked for ${worstGap.toFixed(0)} ms of a ${loadMs.toFixed(0)} ms load`);
  });

  it('measures how fast the machine prefills after the load, not in it (a request made meanwhile still answers)', async () => {
    const info = engine.model!;
    // Not in the load's answer: the measurement (a 64-token pass, ~2 s of Phi-4-mini on a 2-core CPU) waits until
    // the model is idle, so the request that wanted the model is not held back by it.
    const asked = engine.generate({ messages: chat, maxNewTokens: 4, stopOnEos: false });
    const speed = await engine.prefillMeasured;
    assert.equal((await asked).usage.completionTokens, 4);
    assert.ok(speed !== undefined && speed > 0, `prefill speed ${speed}`);
    assert.equal(info.prefillTokensPerSecond, speed, 'the model info carries it once measured');
  });

  it('streams text whose pieces add up to the answer', async () => {
    const pieces: string[] = [];
    const result = await engine.generate({ messages: chat, maxNewTokens: 30, stopOnEos: false }, { onText: (t) => pieces.push(t) });
    assert.equal(result.usage.completionTokens, 30);
    assert.ok(pieces.length > 1);
    assert.equal(pieces.join(''), result.text);
    assert.ok(result.timings.decodeTokensPerSecond > 0);
    assert.ok(result.timings.timeToFirstTokenMs > 0);
  });

  it('an AbortSignal stops generation promptly and keeps what was generated', async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    let pieces = 0;
    const started = performance.now();
    const result = await engine.generate({ messages: chat, maxNewTokens: 5000, stopOnEos: false }, {
      signal: controller.signal,
      onText: () => { if (++pieces === 3) { controller.abort(); abortedAt = performance.now(); } },
    });
    const stoppedAfter = performance.now() - abortedAt;
    assert.equal(result.finishReason, 'cancelled');
    // Counted in tokens, not milliseconds: the worker checks the signal before every step, so it stops a few steps
    // after the abort (text events reach this thread with a lag that grows with load), never near the 5000 asked for.
    assert.ok(result.usage.completionTokens < 5000 && result.usage.completionTokens >= 3, `${result.usage.completionTokens} tokens`);
    console.log(`  stopped ${stoppedAfter.toFixed(0)} ms after abort (started ${(abortedAt - started).toFixed(0)} ms in), ${result.usage.completionTokens} tokens`);
    // The engine goes on working.
    const next = await engine.generate({ messages: chat, maxNewTokens: 4, stopOnEos: false });
    assert.equal(next.usage.completionTokens, 4);
  });

  it('an already aborted request ends at once as cancelled', async () => {
    const result = await engine.generate({ messages: chat, maxNewTokens: 50 }, { signal: AbortSignal.abort() });
    assert.equal(result.finishReason, 'cancelled');
    assert.equal(result.usage.completionTokens, 0);
  });

  it('queues concurrent requests so they never share the cache mid-turn', async () => {
    const solo = await engine.generate({ messages: chat, maxNewTokens: 16, stopOnEos: false });
    const other: ChatMessage[] = [{ role: 'user', content: 'Something else entirely: list three colours.' }];
    const [a, b, c] = await Promise.all([
      engine.generate({ messages: chat, maxNewTokens: 16, stopOnEos: false }),
      engine.generate({ messages: other, maxNewTokens: 16, stopOnEos: false }),
      engine.renderPrompt(chat),
    ]);
    assert.deepEqual(a.tokenIds, solo.tokenIds);
    assert.notDeepEqual(b.tokenIds, a.tokenIds);
    assert.equal(c.ids.length, a.usage.promptTokens);
    assert.equal(c.text, '<|user|>Explain recursion in one sentence.<|end|><|assistant|>');
  });

  it('a broken folder is refused with its own error, and the engine stays usable', async () => {
    await assert.rejects(engine.load({ dir: '/nonexistent/model' }), (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.equal(e.code, 'model-folder');
      assert.match(e.message, /does not exist/);
      return true;
    });
    // The model loaded before is still there and answers (a failed load used to throw it away).
    assert.equal(engine.model?.dir, dir);
    assert.equal((await engine.generate({ messages: chat, maxNewTokens: 2, stopOnEos: false })).usage.completionTokens, 2);
    // With nothing loaded, a failed load leaves nothing loaded.
    const fresh = new Engine();
    try {
      await assert.rejects(fresh.load({ dir: '/nonexistent/model' }), /does not exist/);
      assert.equal(fresh.model, undefined);
      await assert.rejects(fresh.generate({ messages: chat }), (e: unknown) => e instanceof EngineError && e.code === 'no-model');
    } finally {
      await fresh.dispose();
    }
    await engine.load({ dir, executionProvider: 'cpu', threads: 2 });
    assert.equal((await engine.generate({ messages: chat, maxNewTokens: 2, stopOnEos: false })).usage.completionTokens, 2);
  });

  it('a GPU provider that cannot load falls back to the CPU and says why', async () => {
    const info = await engine.load({ dir, executionProvider: 'webgpu', threads: 2 });
    assert.equal(info.backend, 'onnxruntime-node');
    assert.match(info.backendReason ?? '', /native backend runs on the CPU only, and webgpu was asked for/);
    if (info.executionProvider === 'webgpu') {
      assert.deepEqual(info.fallbacks, []); // a machine with a usable GPU
    } else {
      assert.equal(info.executionProvider, 'cpu');
      assert.equal(info.fallbacks[0].provider, 'webgpu');
      assert.ok(info.fallbacks[0].reason.length > 10, `reason: ${info.fallbacks[0].reason}`);
    }
    if (process.platform !== 'win32') {
      const dml = await engine.load({ dir, executionProvider: 'dml', threads: 2 });
      assert.equal(dml.executionProvider, 'cpu');
      assert.deepEqual(dml.fallbacks, [{ provider: 'dml', reason: 'DirectML exists only on Windows.' }]);
    }
  });
});
