// Chooses where the model runs. `auto` tries the GPU providers this platform can have, best first, and
// falls back to the CPU, which always loads; every provider that failed is reported with its reason, so a
// user whose GPU is not used can see why.
import * as ort from 'onnxruntime-node';
import { EngineError } from '../engineError';

import { EXECUTION_PROVIDER_NAMES, EXECUTION_PROVIDERS, type ExecutionProviderChoice } from '../protocol';

export type { ExecutionProviderChoice };

export interface ProviderFailure {
  provider: string;
  reason: string;
}

export interface SessionChoice {
  session: ort.InferenceSession;
  provider: string;
  /** Providers tried before `provider` and why each failed. */
  fallbacks: ProviderFailure[];
}

/** The providers to try, in order, for a choice on a platform. The CPU is always last. */
export function providerCandidates(choice: ExecutionProviderChoice, platform: NodeJS.Platform = process.platform): string[] {
  if (choice !== 'auto') return choice === 'cpu' ? ['cpu'] : [choice, 'cpu'];
  return EXECUTION_PROVIDER_NAMES.filter((p) => EXECUTION_PROVIDERS[p].platforms?.includes(platform) ?? true);
}

/** Why a provider cannot even be tried here, or undefined when it can. */
function unavailableReason(provider: string): string | undefined {
  const known = ort.listSupportedBackends().find((b) => b.name === provider);
  if (provider === 'cpu') return undefined;
  if (provider === 'dml' && process.platform !== 'win32') return 'DirectML exists only on Windows.';
  if (!known) return `this build of onnxruntime-node (${ort.env.versions.node}) has no ${provider} provider on ${process.platform}.`;
  return undefined;
}

/** No provider of a list without the CPU could load the model (see `createSession`'s `candidates`). */
export class ProvidersFailedError extends EngineError {
  constructor(readonly failures: ProviderFailure[]) {
    super('model-load', `No execution provider could load the model: ${failures.map((f) => `${f.provider}: ${f.reason}`).join('; ')}`);
  }
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0].trim();
}

export async function createSession(
  onnxFile: string,
  choice: ExecutionProviderChoice,
  options: ort.InferenceSession.SessionOptions,
  /** The providers to try, in order; a list without 'cpu' fails with ProvidersFailedError when none loads. */
  candidates: readonly string[] = providerCandidates(choice),
): Promise<SessionChoice> {
  const fallbacks: ProviderFailure[] = [];
  for (const provider of candidates) {
    const skip = unavailableReason(provider);
    if (skip) {
      fallbacks.push({ provider, reason: skip });
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(onnxFile, { ...options, executionProviders: [provider] });
      return { session, provider, fallbacks };
    } catch (e) {
      if (provider === 'cpu') {
        throw new EngineError('model-load', `ONNX Runtime could not load ${onnxFile}: ${firstLine(e)}`, 'model.onnx');
      }
      fallbacks.push({ provider, reason: firstLine(e) });
    }
  }
  throw new ProvidersFailedError(fallbacks);
}
