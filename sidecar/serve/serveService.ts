// phi/serve: the sidecar's engine behind `phi-local serve`'s OpenAI-compatible endpoint, started and stopped by the
// extension (Phi: Start OpenAI-Compatible Server), so that other tools (another editor, a script, an agent) use the
// one model already in memory instead of loading their own. Always on 127.0.0.1: the extension offers no way to
// open it to other machines (the CLI does, with a key). Requests from the endpoint wait in the engine's own queue
// beside the editor's, interactive priority.
import * as path from 'node:path';
import type { Connection } from 'vscode-languageserver/node';
import { EngineError, toResponseError } from '../engineError';
import type { InferenceEngine } from '../inferenceEngine';
import { ServeRequest, type ServeResult } from '../protocol';
import { serveOpenAi, type RunningServer } from './openaiServer';

/** Registers phi/serve; the returned close() stops the endpoint (at shutdown). */
export function registerServe(connection: Connection, engine: InferenceEngine): { close(): Promise<void> } {
  let running: { server: RunningServer; modelId: string; port: number; keyed: boolean } | undefined;
  const result = (): ServeResult => (running ? { url: running.server.url, modelId: running.modelId } : {});

  connection.onRequest(ServeRequest, async (params) => {
    try {
      if (params.action === 'status') return result();
      if (params.action === 'stop') {
        const was = running;
        running = undefined;
        await was?.server.close();
        if (was) connection.console.info(`Stopped serving at ${was.server.url}.`);
        return result();
      }
      const port = params.port ?? 8000;
      if (running && (running.port === port || port === 0) && running.keyed === !!params.apiKey) return result();
      const model = engine.model;
      if (!model) throw new EngineError('no-model', 'No model is loaded to serve: load one first.');
      await running?.server.close();
      running = undefined;
      // The id clients name: the remote model's, or the folder's name (what `phi-local serve` lists too).
      const modelId = model.id ?? path.basename(path.resolve(model.dir));
      const server = await serveOpenAi(engine, {
        host: '127.0.0.1', port, apiKey: params.apiKey, modelId,
        log: (line) => connection.console.log(`serve: ${line}`),
      }).catch((e: NodeJS.ErrnoException) => {
        throw new EngineError('internal', e.code === 'EADDRINUSE'
          ? `Port ${port} on 127.0.0.1 is taken by another program: set phiLocal.serve.port to another port (0 picks a free one).`
          : `The server could not start: ${e.message}`);
      });
      running = { server, modelId, port, keyed: !!params.apiKey };
      connection.console.info(`Serving ${model.dir} at ${server.url} as "${modelId}"${params.apiKey ? ' (an API key is required)' : ''}.`);
      return result();
    } catch (e) {
      throw toResponseError(e);
    }
  });
  return { close: async () => { await running?.server.close(); } };
}
