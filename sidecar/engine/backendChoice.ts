// Picks the backend that runs the forward pass. The native one (ORT's C API, KV cache in native memory) is much
// faster past a few hundred tokens of context but runs on the CPU only and needs koffi and ORT's shared library;
// the plain onnxruntime-node one always loads. `auto` prefers a GPU when one loads, then the native backend, then
// the plain one, and says why the native backend is not the one running.
import type { Backend } from './backend';
import { EngineError } from '../engineError';
import { ProvidersFailedError, providerCandidates, type ExecutionProviderChoice, type ProviderFailure } from './executionProvider';
import { lastLogitsGraph, type GraphChoice } from './graphRewrite';
import type { ModelFolder } from './modelFolder';
import { NativeBackend } from './native/nativeBackend';
import { OrtBackend } from './ortBackend';

export type BackendChoice = 'auto' | 'native' | 'onnxruntime-node';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'native', 'onnxruntime-node'];

export interface BackendOptions {
  backend?: BackendChoice;
  executionProvider?: ExecutionProviderChoice;
  threads?: number;
  /** Context to allow (at most the model's): the native backend reserves its KV cache for it. */
  contextLength?: number;
  /** Load the official graph as it is instead of the last-position-logits rewrite (graphRewrite.ts). Default true. */
  rewriteGraph?: boolean;
}

export interface ChosenBackend {
  backend: Backend;
  /** Execution providers tried before the one that runs, and why they failed. */
  fallbacks: ProviderFailure[];
  /** Why the native backend is not the one running; unset when it is. */
  backendReason?: string;
  /** Non-fatal notes for the model's warnings (e.g. why the graph runs unmodified). */
  warnings: string[];
}

const message = (e: unknown) => String((e as Error)?.message ?? e);

export async function createBackend(folder: ModelFolder, options: BackendOptions = {}): Promise<ChosenBackend> {
  const { config } = folder;
  const choice = options.backend ?? 'auto';
  const provider = options.executionProvider ?? 'auto';
  const graph: GraphChoice = options.rewriteGraph === false
    ? { onnxFile: folder.onnxFile, warning: `${folder.onnxFile} runs unmodified, as asked.` }
    : lastLogitsGraph(folder.onnxFile, config.io.logits);
  const warnings = graph.warning ? [graph.warning] : [];
  const plain = async (executionProvider: ExecutionProviderChoice, backendReason: string, providers?: string[]) => {
    const backend = await OrtBackend.create(graph.onnxFile, config, {
      executionProvider, threads: options.threads, logitsToKeepInput: graph.logitsToKeepInput, providers,
    });
    return { backend, fallbacks: backend.fallbacks, backendReason, warnings };
  };

  if (choice === 'onnxruntime-node') return plain(provider, 'the onnxruntime-node backend was asked for.');
  if (provider !== 'cpu' && provider !== 'auto') {
    const why = `the native backend runs on the CPU only, and ${provider} was asked for.`;
    if (choice === 'native') throw new EngineError('model-load', `Cannot use the native backend: ${why}`);
    return plain(provider, why);
  }
  let fallbacks: ProviderFailure[] = [];
  if (provider === 'auto' && choice === 'auto') {
    const gpus = providerCandidates('auto').filter((p) => p !== 'cpu');
    try {
      if (gpus.length) return await plain('auto', 'a GPU runs the model, and the native backend is CPU-only.', gpus);
    } catch (e) {
      if (!(e instanceof ProvidersFailedError)) throw e;
      fallbacks = e.failures;
    }
  }
  try {
    const backend = await NativeBackend.create(graph.onnxFile, config, {
      threads: options.threads,
      contextLength: Math.min(options.contextLength ?? config.contextLength, config.contextLength),
      logitsToKeepInput: graph.logitsToKeepInput,
    });
    return { backend, fallbacks, warnings };
  } catch (e) {
    if (choice === 'native') {
      throw e instanceof EngineError ? e : new EngineError('model-load', `The native backend could not start: ${message(e)}`);
    }
    const chosen = await plain('cpu', `the native backend could not start: ${message(e)}`);
    return { ...chosen, fallbacks: [...fallbacks, ...chosen.fallbacks] };
  }
}
