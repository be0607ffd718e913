// phi/chat on a connection: the conversation fitted into the context (contextFit.ts: the oldest turns left out, with
// a notice that is the turn's first phi/chatDelta and the start of its text), then one assistant turn (chatTurn.ts)
// on the engine, its text streamed as phi/chatDelta, the model's tool calls sent to the client to run (phi/runTool),
// refused calls announced (phi/toolStepRefused), and $/cancelRequest stopping the engine within one step.
import { CancellationTokenSource, type CancellationToken, type Connection } from 'vscode-languageserver/node';
import { toResponseError } from '../engineError';
import type { InferenceEngine } from '../inferenceEngine';
import { ChatDeltaNotification, ChatRequest, RunToolRequest, ToolStepNotification } from '../protocol';
import type { StatusBoard } from '../statusBoard';
import { runChatTurn } from './chatTurn';
import { ContextFitter } from './contextFit';

export function registerChat(connection: Connection, engine: Pick<InferenceEngine, 'generate' | 'countTokens' | 'model'>, board: StatusBoard): void {
  const fitter = new ContextFitter(engine);
  connection.onRequest(ChatRequest, async (params, token: CancellationToken) => {
    const abort = new AbortController();
    const subscription = token.onCancellationRequested(() => abort.abort());
    board.status.queued++;
    board.publish();
    let started = 0;
    try {
      const { messages, trimmed, figures } = await fitter.fit(params, abort.signal);
      if (trimmed) {
        connection.console.info(`Turn ${params.turnId}: left out the ${trimmed.droppedMessages} oldest messages to fit the context ` +
          `(${figures?.total} → ${figures?.fitted} tokens, budget ${figures?.budget}).`);
        void connection.sendNotification(ChatDeltaNotification, { turnId: params.turnId, text: trimmed.notice });
      }
      const result = await runChatTurn({ ...params, messages }, {
        generate: (request, onText) => engine.generate({ ...request, slot: params.feature ?? 'chat' }, { signal: abort.signal, onText }),
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
            board.status.queued--;
          }
          void connection.sendNotification(ChatDeltaNotification, { turnId: params.turnId, text });
          board.generating(tokens, started);
        },
      }, abort.signal);
      return trimmed ? { ...result, text: trimmed.notice + result.text, trimmed } : result;
    } catch (e) {
      throw toResponseError(e);
    } finally {
      subscription.dispose();
      if (!started) board.status.queued--;
      board.status.generating = undefined;
      board.publish();
    }
  });
}
