// The sidecar's services on one JSON-RPC connection, over whichever engine the composition root (main.ts) chose:
// status and model loading here; chat (chat/), inline completions (completions/), the Doctor's checks
// (diagnostics.ts) each in their own file. Every failure goes out through toResponseError (engineError.ts).
import type { Connection } from 'vscode-languageserver/node';
import { registerChat } from './chat/chatService';
import { registerCompletions } from './completions/completionService';
import { registerDiagnostics } from './diagnostics';
import { registerServe } from './serve/serveService';
import { toResponseError } from './engineError';
import type { InferenceEngine } from './inferenceEngine';
import { CountTokensRequest, LoadModelRequest, RenderPromptRequest, StatusRequest, WarmPromptsRequest } from './protocol';
import { withCheckedParams } from './paramsCheck';
import { StatusBoard } from './statusBoard';

/** Wires the phi/* methods of `connection` to `engine` and starts listening. */
export function serve(transport: Connection, engine: InferenceEngine): void {
  // Every request's params are checked against its schema before a handler sees them (paramsCheck.ts).
  const connection = withCheckedParams(transport);
  const board = new StatusBoard(connection, () => engine.cacheStatus);
  const { status } = board;
  engine.onLog = (message) => connection.console.info(message);
  // Measured after the load (the prefill speed): the client hears it through phi/statusChanged.
  engine.onModelChanged = (model) => {
    if (status.model?.dir !== model.dir) return;
    status.model = model;
    if (model.prefillTokensPerSecond) connection.console.info(`Prefill speed: ${model.prefillTokensPerSecond.toFixed(1)} tokens/s (sizes inline completions).`);
    board.publish();
  };

  connection.onInitialize(() => ({
    capabilities: {},
    serverInfo: { name: 'phi-local-sidecar', version: '0.1.0' },
  }));

  connection.onRequest(StatusRequest, () => board.snapshot());

  connection.onRequest(LoadModelRequest, async (params) => {
    const workDone = connection.window.attachWorkDoneProgress(params.workDoneToken);
    Object.assign(status, { state: 'loading', loading: params.dir, model: undefined, error: undefined });
    board.publish();
    workDone.begin('Loading the model', undefined, params.dir, false);
    try {
      const info = await engine.load({
        dir: params.dir, executionProvider: params.executionProvider, threads: params.threads, contextLength: params.contextLength,
        kvCacheBytes: params.kvCacheMemory ? params.kvCacheMemory * 2 ** 20 : undefined,
        onProgress: (message) => workDone.report(message),
      });
      Object.assign(status, { state: 'ready', model: info, loading: undefined });
      connection.console.info(`Loaded ${info.dir} on ${info.executionProvider} (${info.backend}) in ${Math.round(info.loadMs)} ms.`);
      for (const f of info.fallbacks) connection.console.warn(`${f.provider} not used: ${f.reason}`);
      if (info.backendReason) connection.console.info(`Native backend not used: ${info.backendReason}`);
      for (const w of info.warnings) connection.console.warn(w);
      return info;
    } catch (e) {
      const error = toResponseError(e);
      // The model loaded before stays loaded when the new one was refused before it was let go (a broken folder):
      // the status says what is true, the request says what failed.
      const kept = engine.model;
      Object.assign(status, kept
        ? { state: 'ready', model: kept, loading: undefined, error: undefined }
        : { state: 'error', model: undefined, loading: undefined, error: error.data });
      connection.console.error(`Loading ${params.dir} failed: ${error.message}${kept ? ` (${kept.dir} is still loaded)` : ''}`);
      throw error;
    } finally {
      workDone.done();
      board.publish();
    }
  });

  connection.onRequest(CountTokensRequest, async (params) => {
    try {
      return await engine.countTokens(params);
    } catch (e) {
      throw toResponseError(e);
    }
  });

  connection.onRequest(RenderPromptRequest, async (params) => {
    try {
      return await engine.renderPrompt(params.messages, params.tools);
    } catch (e) {
      throw toResponseError(e);
    }
  });

  // One head at a time, each at idle priority: a real request stops the one computing, and the rest are skipped.
  connection.onRequest(WarmPromptsRequest, async (params, token) => {
    const abort = new AbortController();
    const subscription = token.onCancellationRequested(() => abort.abort());
    const { heads } = params;
    const out: { feature: string; where: string; ms: number }[] = [];
    try {
      for (const head of heads) {
        const started = performance.now();
        const where = !engine.warm ? 'none' : abort.signal.aborted || out.some((o) => o.where === 'cancelled') ? 'cancelled'
          : await engine.warm({ slot: head.feature, messages: head.messages, tools: head.tools }, abort.signal);
        out.push({ feature: head.feature, where, ms: Math.round(performance.now() - started) });
        if (where === 'computed' || where === 'disk') connection.console.info(`Prompt cache: the ${head.feature} prompt's head ${where === 'disk' ? 'read back from disk' : 'computed and stored'} in ${out.at(-1)!.ms} ms.`);
      }
      return { heads: out };
    } catch (e) {
      throw toResponseError(e);
    } finally {
      subscription.dispose();
      board.publish();
    }
  });

  registerChat(connection, engine, board);
  registerCompletions(connection, engine);
  registerDiagnostics(connection);
  const endpoint = registerServe(connection, engine);
  connection.onShutdown(async () => {
    await endpoint.close();
    await engine.dispose();
  });
  connection.listen();
}
