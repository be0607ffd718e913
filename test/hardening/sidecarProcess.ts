// The real sidecar (dist/sidecar.js, `npm run build` first) in a child process over its IPC channel, as the
// extension's language client runs it, for the hardening checks that storm it, kill it and soak it.
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter, type MessageConnection } from 'vscode-languageserver-protocol/node';
import { ChatDeltaNotification, LoadModelRequest, type ModelInfo } from '../../sidecar/protocol';

export const SIDECAR = path.join(__dirname, '..', '..', 'dist', 'sidecar.js');

export interface RunningSidecar {
  child: ChildProcess;
  rpc: MessageConnection;
  /** Called with every streamed delta's turn id (set it; one handler per method in vscode-jsonrpc). */
  onDelta: (turnId: string, text: string) => void;
  /** Resolves with the exit signal or code once the process is gone. */
  exited: Promise<NodeJS.Signals | number | null>;
  info: ModelInfo;
  stop(): void;
}

/** Starts a sidecar and loads `model` on the CPU with `threads`. */
export async function startSidecar(model: string, threads = 2): Promise<RunningSidecar> {
  const child = fork(SIDECAR, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  child.stderr?.resume();
  const rpc = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
  // As the extension's language client does when its server process is gone: the connection is disposed, which fails
  // the requests still waiting for an answer (vscode-jsonrpc keeps them pending on a mere close).
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => {
    rpc.dispose();
    resolve(signal ?? code);
  }));
  const running = { child, rpc, exited, onDelta: () => {} } as unknown as RunningSidecar;
  rpc.onNotification(ChatDeltaNotification, (d) => running.onDelta(d.turnId, d.text));
  for (const n of ['phi/statusChanged', 'window/logMessage', '$/progress', 'phi/toolStepRefused']) rpc.onNotification(n, () => {});
  rpc.onRequest('window/workDoneProgress/create', () => null);
  rpc.onError(() => {});
  rpc.listen();
  await rpc.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
  await rpc.sendNotification('initialized', {});
  running.info = await rpc.sendRequest(LoadModelRequest, { dir: model, executionProvider: 'cpu', threads });
  running.stop = () => {
    rpc.dispose();
    child.kill('SIGKILL');
  };
  return running;
}
