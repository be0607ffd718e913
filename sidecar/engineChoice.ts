// Where the sidecar's engine is chosen: one line per engine. The composition root (main.ts) asks for the one the
// extension's settings name (`--engine <name>` on the sidecar's command line; `local` when none is given).
import { Engine } from './engine/engine';
import { REPLAY_ENV } from './engine/replay';
import { PREFIX_CACHE_ENV } from './engine/workerProtocol';
import type { InferenceEngine } from './inferenceEngine';
import { RemoteEngine, type RemoteApi } from './remote/remoteEngine';

export const ENGINES = {
  /**
   * ONNX Runtime in this process's worker thread, on the model folder's files (sidecar/engine/). Prompt heads are
   * kept on disk under $PHI_LOCAL_PREFIX_CACHE (the extension's storage; none: in memory only). TEST DOUBLE for the
   * editor and sidecar tests: $PHI_LOCAL_REPLAY names canned replies that stand in for the model's (replay.ts).
   */
  local: (env: NodeJS.ProcessEnv): InferenceEngine => new Engine({
    replayFile: env[REPLAY_ENV] || undefined, prefixCacheDir: env[PREFIX_CACHE_ENV] || undefined,
  }),
  /**
   * An OpenAI-compatible server (sidecar/remote/): its URL, model, key, API ('auto', 'chat', 'completions'), a folder
   * with Phi-4's tokenizer files and the proxy settings (common/network.ts) come in the sidecar's environment.
   */
  remote: (env: NodeJS.ProcessEnv): InferenceEngine => new RemoteEngine({
    url: env.PHI_LOCAL_REMOTE_URL ?? '', model: env.PHI_LOCAL_REMOTE_MODEL || undefined, apiKey: env.PHI_LOCAL_REMOTE_KEY || undefined,
    api: (env.PHI_LOCAL_REMOTE_API as RemoteApi | undefined) || undefined, tokenizerDir: env.PHI_LOCAL_REMOTE_TOKENIZER || undefined, env,
  }),
} as const;

export type EngineName = keyof typeof ENGINES;

export function isEngineName(name: string): name is EngineName {
  return Object.hasOwn(ENGINES, name);
}
