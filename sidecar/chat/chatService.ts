// phi/chat on a connection: one assistant turn (chatTurn.ts) on the engine, its text streamed as phi/chatDelta, the
// model's tool calls sent to the client to run (phi/runTool), refused calls announced (phi/toolStepRefused), and
// $/cancelRequest stopping the engine within one step.
import { CancellationTokenSource, type CancellationToken, type Connection } from 'vscode-languageserver/node';
import { toResponseError } from '../engineError';
import type { InferenceEngine } from '../inferenceEngine';
import { ChatDeltaNotification, ChatRequest, RunToolRequest, ToolStepNotification } from '../protocol';
import type { StatusBoard } from '../statusBoard';
import { runChatTurn } from './chatTurn';

export function registerChat(connection: Connection, engine: Pick<InferenceEngine, 'generate'>, board: StatusBoard): void {
  connection.onRequest(ChatRequest, async (params, token: CancellationToken) => {
    const abort = new AbortController();
    const subscription = token.onCancellationRequested(() => abort.abort());
    board.status.queued++;
    board.publish();
    let started = 0;
    try {
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
            board.status.queued--;
          }
          void connection.sendNotification(ChatDeltaNotification, { turnId: params.turnId, text });
          board.generating(tokens, started);
        },
      }, abort.signal);
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
