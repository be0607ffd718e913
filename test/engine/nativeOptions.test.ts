// The native backend's optional runtime settings on the tiny model: ORT's profiler writes a JSON trace with
// every MatMulNBits kernel (bench/profile.ts reads it) and costs nothing when off; session configuration entries
// reach ORT (one that changes how the model is read makes loading fail, which a wrong function-table index
// could not produce); the arena and memory-pattern switches load and give the same logits as the defaults.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineError } from '../../sidecar/engineError';
import { lastLogitsGraph, type GraphChoice } from '../../sidecar/engine/graphRewrite';
import { readModelFolder, type ModelFolder } from '../../sidecar/engine/modelFolder';
import { NativeBackend, type NativeBackendOptions } from '../../sidecar/engine/native/nativeBackend';
import { ensureModel } from '../fixtures/models';
import { maxAbsDiff, randomTokens } from './helpers';

describe('native backend options (tiny model)', () => {
  let folder: ModelFolder;
  let graph: GraphChoice;
  let dir: string;

  before(() => {
    folder = readModelFolder(ensureModel('tiny'));
    graph = lastLogitsGraph(folder.onnxFile, folder.config.io.logits);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-local-profile-test-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const open = (options: Partial<NativeBackendOptions> = {}) => NativeBackend.create(graph.onnxFile, folder.config, {
    threads: 2, contextLength: 64, logitsToKeepInput: graph.logitsToKeepInput, ...options,
  });
  /** Logits after a 20-token prefill and 3 greedy steps. */
  async function logitsOf(backend: NativeBackend): Promise<Float32Array[]> {
    const out = [await backend.forward(randomTokens(11, 20))];
    for (let i = 0; i < 3; i++) out.push(await backend.forward([100 + i]));
    return out;
  }

  it('profiling writes a trace with each run and every MatMulNBits kernel, and only when asked', async () => {
    const profiled = await open({ profileFilePrefix: path.join(dir, 'trace') });
    let file: string;
    try {
      await profiled.forward(randomTokens(5, 12));
      await profiled.forward([7]);
      file = profiled.endProfiling();
    } finally {
      await profiled.release();
    }
    assert.ok(file.startsWith(path.join(dir, 'trace')), file);
    const events = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ cat: string; name: string; dur: number; args?: { op_name?: string } }>;
    assert.equal(events.filter((e) => e.cat === 'Session' && e.name === 'model_run').length, 2);
    const matmuls = events.filter((e) => e.cat === 'Node' && e.args?.op_name === 'MatMulNBits' && e.name.endsWith('_kernel_time'));
    // tiny: 2 layers × 4 projections + the lm head, in each of the 2 runs
    assert.equal(matmuls.length, 2 * (2 * 4 + 1));
    assert.ok(matmuls.some((e) => e.name.includes('lm_head')));

    const plain = await open();
    try {
      await plain.forward([1, 2, 3]);
      assert.throws(() => plain.endProfiling(), (e: unknown) => e instanceof EngineError && /not created with profiling on/.test(e.message));
    } finally {
      await plain.release();
    }
    assert.deepEqual(fs.readdirSync(dir), [path.basename(file)]);
  });

  it('session configuration entries reach ORT', async () => {
    // Told to read the ORT format, ORT refuses an .onnx file: proof that the entry went through AddSessionConfigEntry.
    await assert.rejects(open({ sessionConfig: { 'session.load_model_format': 'ORT' } }),
      (e: unknown) => e instanceof EngineError && /could not load.*LoadOrtModel/.test(e.message));
    const reference = await open();
    const tuned = await open({ sessionConfig: { 'session.intra_op.allow_spinning': '0' }, memArena: false, memPattern: false });
    try {
      const [a, b] = [await logitsOf(reference), await logitsOf(tuned)];
      for (let i = 0; i < a.length; i++) assert.equal(maxAbsDiff(a[i], b[i]), 0, `step ${i}`);
    } finally {
      await reference.release();
      await tuned.release();
    }
  });
});
