// The engine's worker thread: holds the model and runs the generation loop. See workerProtocol.ts.
import { parentPort } from 'node:worker_threads';
import type { Backend } from './backend';
import { createBackend } from './backendChoice';
import { EngineError } from '../engineError';
import { Generator } from './generate';
import { readModelFolder } from './modelFolder';
import { PromptBuilder } from '../prompt/promptBuilder';
import { ReplayScript } from './replay';
import type { HostMessage, LoadOptions, ModelInfo, WorkerMessage } from './workerProtocol';

if (!parentPort) throw new Error('worker.ts must run in a worker thread.');
const port = parentPort;
const post = (message: WorkerMessage) => port.postMessage(message);

let loaded: { generator: Generator; backend: Backend } | undefined;

async function load(id: number, dir: string, options: LoadOptions): Promise<ModelInfo> {
  const started = performance.now();
  if (loaded) {
    await loaded.backend.release();
    loaded = undefined;
  }
  post({ kind: 'progress', id, message: 'Checking the model folder' });
  const folder = readModelFolder(dir);
  post({ kind: 'progress', id, message: 'Loading the tokenizer' });
  const prompts = PromptBuilder.fromFolder(folder);
  post({ kind: 'progress', id, message: 'Loading the model into ONNX Runtime' });
  const { backend, fallbacks, backendReason, warnings } = await createBackend(folder, options);
  // TEST DOUBLE: given a replay file, answers are canned replies (replay.ts); the log says so.
  const replay = options.replayFile ? ReplayScript.fromFile(options.replayFile) : undefined;
  const generator = new Generator(backend, prompts, folder.config, { ...options, replay });
  loaded = { generator, backend };
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
      return model().generate(message.request, signal, {
        onText: (text, tokens) => post({ kind: 'text', id: message.id, text, tokens }),
      });
    }
    case 'prompt':
      return model().prompts.render(message.messages, message.tools);
    case 'unload':
      await loaded?.backend.release();
      loaded = undefined;
      return null;
  }
}

// One message at a time: the host already queues, this keeps the KV cache safe even if it did not.
let queue = Promise.resolve();
port.on('message', (message: HostMessage) => {
  queue = queue.then(async () => {
    try {
      const value = await handle(message);
      post({ kind: 'done', id: message.id, value: value as never });
    } catch (e) {
      const error = e instanceof EngineError ? e : new EngineError('internal', (e as Error)?.message ?? String(e));
      post({ kind: 'failed', id: message.id, error: error.toJSON() });
    }
  });
});
