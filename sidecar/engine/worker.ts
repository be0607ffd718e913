// The engine's worker thread: holds the model and runs the generation loop. See workerProtocol.ts.
import { parentPort } from 'node:worker_threads';
import type { Backend } from './backend';
import { createBackend } from './backendChoice';
import { EngineError } from '../engineError';
import { Generator } from './generate';
import { readModelFolder } from './modelFolder';
import { PromptBuilder } from '../prompt/promptBuilder';
import { ReplayScript } from './replay';
import { PrefixStore, modelFingerprint } from './prefixStore';
import { prefixCacheFolder } from '../../common/prefixCachePath';
import { DEFAULT_PREFIX_CACHE_BYTES, type HostMessage, type LoadOptions, type ModelInfo, type WorkerMessage } from './workerProtocol';

if (!parentPort) throw new Error('worker.ts must run in a worker thread.');
const port = parentPort;
const post = (message: WorkerMessage) => port.postMessage(message);

let loaded: { generator: Generator; backend: Backend; budgetBytes?: number } | undefined;
const heads = { fromDisk: 0, computed: 0 };

/** Lets go of the loaded model, once a prompt head still being written to disk is written. */
async function unload(): Promise<void> {
  if (!loaded) return;
  await loaded.generator.settled();
  await loaded.backend.release();
  loaded = undefined;
}

async function load(id: number, dir: string, options: LoadOptions): Promise<ModelInfo> {
  const started = performance.now();
  await unload();
  post({ kind: 'progress', id, message: 'Checking the model folder' });
  const folder = readModelFolder(dir);
  post({ kind: 'progress', id, message: 'Loading the tokenizer' });
  const prompts = PromptBuilder.fromFolder(folder);
  post({ kind: 'progress', id, message: 'Loading the model into ONNX Runtime' });
  const { backend, fallbacks, backendReason, warnings } = await createBackend(folder, options);
  // TEST DOUBLE: given a replay file, answers are canned replies (replay.ts); the log says so.
  const replay = options.replayFile ? ReplayScript.fromFile(options.replayFile) : undefined;
  // Prompt heads on disk, keyed by what their values depend on (prefixStore.ts). Not with the replay double: its
  // answers are not the model's anyway.
  const prefixStore = options.prefixCacheDir && !replay ? new PrefixStore(prefixCacheFolder(options.prefixCacheDir, folder.dir), {
    model: modelFingerprint(folder.dir),
    backend: backend.info.name,
    executionProvider: backend.info.executionProvider,
    threads: options.threads ?? 0,
    kvType: folder.config.kvType,
    bytesPerPosition: backend.bytesPerPosition,
  }, options.prefixCacheBytes ?? DEFAULT_PREFIX_CACHE_BYTES) : undefined;
  const generator = new Generator(backend, prompts, folder.config, {
    ...options, replay, prefixStore, kvBudgetBytes: options.kvCacheBytes,
    log: (message) => post({ kind: 'log', message }),
  });
  loaded = { generator, backend, budgetBytes: options.kvCacheBytes };
  heads.fromDisk = heads.computed = 0;
  postCache();
  return {
    dir: folder.dir,
    backend: backend.info.name,
    executionProvider: backend.info.executionProvider,
    fallbacks,
    backendReason,
    contextLength: generator.contextLength,
    modelContextLength: folder.config.contextLength,
    numLayers: folder.config.numLayers,
    vocabSize: folder.config.vocabSize,
    kvType: folder.config.kvType,
    loadMs: performance.now() - started,
    warnings: [
      ...folder.warnings, ...warnings,
      ...(replay ? [`Replay mode (test double): answers are the ${replay.remaining} canned replies of ${replay.file}, not the model's.`] : []),
    ],
  };
}

/** Tells the host what the KV slots hold (the status shows it). */
function postCache(): void {
  if (!loaded) return;
  post({ kind: 'cache', status: { ...loaded.generator.cacheSummary(), budgetBytes: loaded.budgetBytes, heads: { ...heads } } });
}

function model(): Generator {
  if (!loaded) throw new EngineError('no-model', 'No model is loaded. Select a model folder first.');
  return loaded.generator;
}

async function handle(message: HostMessage): Promise<unknown> {
  switch (message.kind) {
    case 'load':
      return load(message.id, message.dir, message.options);
    case 'generate': {
      const flag = new Int32Array(message.cancel);
      const signal = { get aborted() { return Atomics.load(flag, 0) !== 0; } };
      try {
        const result = await model().generate(message.request, signal, {
          onText: (text, tokens) => post({ kind: 'text', id: message.id, text, tokens }),
        });
        if (result.usage.diskTokens) heads.fromDisk++;
        return result;
      } finally {
        postCache();
      }
    }
    case 'warm': {
      const flag = new Int32Array(message.cancel);
      const signal = { get aborted() { return Atomics.load(flag, 0) !== 0; } };
      try {
        const where = await model().warm(message.request, signal);
        if (where === 'disk') heads.fromDisk++;
        if (where === 'computed') heads.computed++;
        return where;
      } finally {
        postCache();
      }
    }
    case 'measure': {
      const flag = new Int32Array(message.cancel);
      const speed = await model().measurePrefill({ get aborted() { return Atomics.load(flag, 0) !== 0; } });
      return speed ?? 'cancelled';
    }
    case 'prompt':
      return model().prompts.render(message.messages, message.tools);
    case 'unload':
      await unload();
      return null;
  }
}

// Requests run at once: the host's scheduler decides which may (a load runs alone), and the generator's gate
// makes their forward passes take turns on the model.
port.on('message', async (message: HostMessage) => {
  try {
    const value = await handle(message);
    post({ kind: 'done', id: message.id, value: value as never });
  } catch (e) {
    const error = e instanceof EngineError ? e : new EngineError('internal', (e as Error)?.message ?? String(e));
    post({ kind: 'failed', id: message.id, error: error.toJSON() });
  }
});
