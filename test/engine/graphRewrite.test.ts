// The load-time graph rewrite (logits for the last `logits_to_keep` positions only) on the tiny model: same logits
// as the official graph, cached beside the model and redone when the model changes, and every case it cannot
// handle loads the official graph unmodified and says why.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { createBackend } from '../../sidecar/engine/backendChoice';
import { LOGITS_TO_KEEP, lastLogitsGraph, rewrittenPath } from '../../sidecar/engine/graphRewrite';
import { readModelFolder, type ModelFolder } from '../../sidecar/engine/modelFolder';
import { OrtBackend } from '../../sidecar/engine/ortBackend';
import { seededRandom } from '../../sidecar/engine/sampling';
import { EXACT_MODEL, ensureModel, modelCacheRoot } from '../fixtures/models';
import { FP32_LOGITS_TOLERANCE, maxAbsDiff } from './helpers';

const { onnx } = onnxProto;

/** A private copy of a model folder: model.onnx copied (the tests edit it), the big files hard-linked. */
function copyFolder(source: string, name: string): string {
  const dir = path.join(modelCacheRoot(), '..', 'test-tmp', `${name}-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const file of fs.readdirSync(source)) {
    if (file.includes('phi-local')) continue;
    const from = path.join(source, file);
    if (file === 'model.onnx' || fs.statSync(from).size < 1 << 16) fs.copyFileSync(from, path.join(dir, file));
    else fs.linkSync(from, path.join(dir, file));
  }
  return dir;
}

describe('graph rewrite: logits for the last positions only (tiny model)', () => {
  let folder: ModelFolder;
  const copies: string[] = [];
  const copy = (name: string) => {
    const dir = copyFolder(folder.dir, name);
    copies.push(dir);
    return dir;
  };

  before(() => {
    folder = readModelFolder(ensureModel('tiny', EXACT_MODEL));
  });
  after(() => {
    for (const dir of copies) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives the official graph\'s logits, for the last position or the last n', async () => {
    const graph = lastLogitsGraph(folder.onnxFile, folder.config.io.logits);
    assert.equal(graph.warning, undefined);
    assert.equal(graph.onnxFile, rewrittenPath(folder.onnxFile));
    assert.equal(graph.logitsToKeepInput, LOGITS_TO_KEEP);
    const options = { executionProvider: 'cpu' as const, threads: 2 };
    const official = await OrtBackend.create(folder.onnxFile, folder.config, options);
    const rewritten = await OrtBackend.create(graph.onnxFile, folder.config, { ...options, logitsToKeepInput: LOGITS_TO_KEEP });
    try {
      const r = seededRandom(8);
      const tokens = Array.from({ length: 50 }, () => Math.floor(r() * 199_000));
      const all = await official.forward(tokens, { allPositions: true });
      const vocab = folder.config.vocabSize;
      const last = await rewritten.forward(tokens);
      const diffLast = maxAbsDiff(last, all.subarray(49 * vocab));
      rewritten.truncate(0);
      const every = await rewritten.forward(tokens, { allPositions: true });
      const diffAll = maxAbsDiff(every, all);
      console.log(`  max |rewritten - official|: last position ${diffLast.toExponential(2)}, all 50 positions ${diffAll.toExponential(2)}`);
      assert.ok(diffLast <= FP32_LOGITS_TOLERANCE && diffAll <= FP32_LOGITS_TOLERANCE);
      // Decoding on from the rewritten graph's cache matches too.
      const next = Math.floor(r() * 199_000);
      assert.ok(maxAbsDiff(await rewritten.forward([next]), await official.forward([next])) <= FP32_LOGITS_TOLERANCE);
    } finally {
      await official.release();
      await rewritten.release();
    }
  });

  it('really computes only the rows asked for', async () => {
    const graph = lastLogitsGraph(folder.onnxFile, folder.config.io.logits);
    const session = await ort.InferenceSession.create(graph.onnxFile, { intraOpNumThreads: 2 });
    try {
      const { io, numKvHeads, headSize } = folder.config;
      const feeds: Record<string, ort.Tensor> = {
        [io.inputIds]: new ort.Tensor('int64', BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 6n]), [1, 6]),
        [io.attentionMask]: new ort.Tensor('int64', new BigInt64Array(6).fill(1n), [1, 6]),
      };
      for (const name of [...io.pastKeys, ...io.pastValues]) feeds[name] = new ort.Tensor('float32', new Float32Array(0), [1, numKvHeads, 0, headSize]);
      for (const [keep, rows] of [[1, 1], [4, 4], [100, 6]]) {
        feeds[LOGITS_TO_KEEP] = new ort.Tensor('int64', BigInt64Array.of(BigInt(keep)), [1]);
        const out = await session.run(feeds);
        assert.deepEqual(out[io.logits].dims, [1, rows, folder.config.vocabSize], `logits_to_keep ${keep}`);
      }
    } finally {
      await session.release();
    }
  });

  it('is cached beside the model and redone when model.onnx changes', () => {
    const dir = copy('rewrite-cache');
    const source = path.join(dir, 'model.onnx');
    const first = lastLogitsGraph(source, 'logits');
    // Each write is a new file renamed into place, so a new inode says "rewritten". (Not the mtime: Linux stamps
    // files from a coarse clock, and two writes a few milliseconds apart can carry the same time.)
    const written = fs.statSync(first.onnxFile).ino;
    const again = lastLogitsGraph(source, 'logits');
    assert.equal(again.onnxFile, first.onnxFile);
    assert.equal(fs.statSync(again.onnxFile).ino, written, 'reused, not rewritten');
    // A new model.onnx (here: same bytes, new time) makes the cached copy stale.
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(source, later, later);
    const redone = lastLogitsGraph(source, 'logits');
    assert.equal(redone.logitsToKeepInput, LOGITS_TO_KEEP);
    assert.notEqual(fs.statSync(redone.onnxFile).ino, written, 'rewritten');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary files left');
  });

  it('a graph whose logits do not come from the lm head loads unmodified and says so', async () => {
    const dir = copy('rewrite-unknown');
    const file = path.join(dir, 'model.onnx');
    // Put an Identity between the lm head and the logits output.
    const model = onnx.ModelProto.decode(fs.readFileSync(file));
    const graph = model.graph as onnxProto.onnx.GraphProto;
    const lmHead = graph.node.find((n) => n.output?.includes('logits'))!;
    lmHead.output = ['logits_raw'];
    graph.node = [...graph.node, onnx.NodeProto.create({ opType: 'Identity', name: 'extra', input: ['logits_raw'], output: ['logits'] })];
    fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());

    const copyFolder = readModelFolder(dir);
    const chosen = await createBackend(copyFolder, { executionProvider: 'cpu', threads: 2 });
    try {
      assert.equal(chosen.backend.info.name, 'native');
      assert.equal(chosen.warnings.length, 1);
      assert.match(chosen.warnings[0], /model\.onnx runs unmodified, computing logits for every prompt position .*: the logits come from a Identity node/);
      assert.ok(!fs.existsSync(rewrittenPath(file)));
      // The native backend reads ORT-allocated logits on this graph: still the official numbers.
      const official = await OrtBackend.create(folder.onnxFile, folder.config, { executionProvider: 'cpu', threads: 2 });
      try {
        const tokens = [200022, 9906, 200020, 200021, 13225, 200020, 200019];
        const expected = await official.forward(tokens, { allPositions: true });
        assert.ok(maxAbsDiff(await chosen.backend.forward(tokens.slice(0, 5)), expected.subarray(4 * folder.config.vocabSize, 5 * folder.config.vocabSize)) <= FP32_LOGITS_TOLERANCE);
        assert.ok(maxAbsDiff(await chosen.backend.forward(tokens.slice(5), { allPositions: true }), expected.subarray(5 * folder.config.vocabSize)) <= FP32_LOGITS_TOLERANCE);
      } finally {
        await official.release();
      }
    } finally {
      await chosen.backend.release();
    }
  });

  it('fields newer than the rewrite knows, or a place it cannot write, leave the graph unmodified', () => {
    const dir = copy('rewrite-refused');
    const file = path.join(dir, 'model.onnx');
    // Field 99 of ModelProto (varint 1): unknown to the ONNX 1.10 schema, so it would be lost on re-encoding.
    fs.appendFileSync(file, Buffer.from([0x98, 0x06, 0x01]));
    const unknownField = lastLogitsGraph(file, 'logits');
    assert.equal(unknownField.onnxFile, file);
    assert.match(unknownField.warning ?? '', /uses ONNX fields newer than the rewrite understands/);

    fs.copyFileSync(folder.onnxFile, file);
    fs.mkdirSync(rewrittenPath(file)); // something in the way of the rewritten file
    const blocked = lastLogitsGraph(file, 'logits');
    assert.equal(blocked.onnxFile, file);
    assert.match(blocked.warning ?? '', /could not write .*phi-local-last-logits\.onnx/);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  });
});
