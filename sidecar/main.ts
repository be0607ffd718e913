// The sidecar: an LSP server (vscode-languageserver) with Phi Local's own phi/* methods (protocol.ts), spoken over
// the IPC channel of the process that spawned it (or stdio). It holds the engine; the model itself runs in the
// engine's worker thread, so this thread always answers status and cancel at once. No network port is opened.
import {
  CancellationTokenSource, createConnection, IPCMessageReader, IPCMessageWriter, ProposedFeatures, ResponseError, type CancellationToken,
  type Connection,
} from 'vscode-languageserver/node';
import { Engine } from './engine/engine';
import { EngineError } from './engine/errors';
import { runChatTurn } from './tools/toolFlow';
import { registerDiagnostics } from './diagnostics';
import { TokenCounter } from './tokenCount';
import { registerCompletions } from './completions/completionService';
import { GuardedMessageReader } from './guardedReader';
import {
  ChatDeltaNotification, ChatRequest, CountTokensRequest, LoadModelRequest, PhiErrorCodes, RenderPromptRequest, StatusNotification,
  StatusRequest, RunToolRequest, ToolStepNotification, type PhiErrorData, type SidecarStatus,
} from './protocol';

function toResponseError(e: unknown): ResponseError<PhiErrorData> {
  const error = e instanceof EngineError ? e : new EngineError('internal', (e as Error)?.message ?? String(e));
  return new ResponseError(PhiErrorCodes.engine, error.message, error.toJSON());
}

/** Wires the phi/* methods of `connection` to an engine. Exported for tests that bring their own connection. */
export function serve(connection: Connection, engine = new Engine()): void {
  const status: Omit<SidecarStatus, 'pid' | 'rssBytes'> = { state: 'no-model', queued: 0 };
  const snapshot = (): SidecarStatus => ({ ...status, pid: process.pid, rssBytes: process.memoryUsage().rss });
  const publish = () => void connection.sendNotification(StatusNotification, snapshot());
  let lastPublished = 0;

  connection.onInitialize(() => ({
    capabilities: {},
    serverInfo: { name: 'phi-local-sidecar', version: '0.1.0' },
  }));

  connection.onRequest(StatusRequest, () => snapshot());

  connection.onRequest(LoadModelRequest, async (params) => {
    const workDone = connection.window.attachWorkDoneProgress(params.workDoneToken);
    Object.assign(status, { state: 'loading', loading: params.dir, model: undefined, error: undefined });
    publish();
    workDone.begin('Loading the model', undefined, params.dir, false);
    try {
      const info = await engine.load(params.dir, {
        executionProvider: params.executionProvider, threads: params.threads, contextLength: params.contextLength,
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
      Object.assign(status, { state: 'error', loading: undefined, error: error.data });
      connection.console.error(`Loading ${params.dir} failed: ${error.message}`);
      throw error;
    } finally {
      workDone.done();
      publish();
    }
  });

  connection.onRequest(ChatRequest, async (params, token: CancellationToken) => {
    const abort = new AbortController();
    const subscription = token.onCancellationRequested(() => abort.abort());
    status.queued++;
    publish();
    let started = 0;
    try {
      // Tools: the flow generates, has the client run the model's calls, and generates again (tools/toolFlow.ts).
      return await runChatTurn(params, {
        generate: (request, onText) => engine.generate(request, { signal: abort.signal, onText }),
        runTool: (call) => {
          const cancel = new CancellationTokenSource();
          const stop = () => cancel.cancel();
          abort.signal.addEventListener('abort', stop, { once: true });
          return connection.sendRequest(RunToolRequest, { turnId: params.turnId, call }, cancel.token)
            .finally(() => { abort.signal.removeEventListener('abort', stop); cancel.dispose(); });
        },
        refused: (notice) => {
          connection.console.warn(`Turn ${params.turnId}: a tool call was refused: ${notice.error}`);
          void connection.sendNotification(ToolStepNotification, notice);
        },
        text: (text, tokens) => {
          if (!started) {
            started = performance.now();
            status.queued--;
          }
          void connection.sendNotification(ChatDeltaNotification, { turnId: params.turnId, text });
          const now = performance.now();
          status.generating = { tokens, tokensPerSecond: tokens > 1 ? ((tokens - 1) * 1000) / (now - started) : 0 };
          if (now - lastPublished > 500) {
            lastPublished = now;
            publish();
          }
        },
      }, abort.signal);
    } catch (e) {
      throw toResponseError(e);
    } finally {
      subscription.dispose();
      if (!started) status.queued--;
      status.generating = undefined;
      publish();
    }
  });

  const counter = new TokenCounter();
  connection.onRequest(CountTokensRequest, (params) => {
    try {
      return counter.count(engine.model?.dir, params);
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

  registerDiagnostics(connection);
  registerCompletions(connection, engine);
  connection.onShutdown(() => engine.dispose());
  connection.listen();
}

if (require.main === module) {
  // Over IPC when forked by the extension (vscode-languageclient's TransportKind.ipc), else over stdio.
  const connection = process.send
    ? createConnection(ProposedFeatures.all, new GuardedMessageReader(new IPCMessageReader(process), (m) => console.error(m)), new IPCMessageWriter(process))
    : createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  serve(connection);
}
