// The real local engine, with every generation step's result kept: a spy for tests that need to see what the engine
// did behind a server or a client (not a double: everything runs for real).
import { Engine, type EngineResult } from '../../sidecar/engine/engine';
import type { GenerationOptions, GenerationRequest } from '../../sidecar/inferenceEngine';

export class RecordingEngine extends Engine {
  readonly results: EngineResult[] = [];
  readonly requests: GenerationRequest[] = [];

  override async generate(request: GenerationRequest, options?: GenerationOptions): Promise<EngineResult> {
    this.requests.push(request);
    const result = await super.generate(request, options);
    this.results.push(result);
    return result;
  }
}
