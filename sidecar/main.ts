// The sidecar's composition root: the transport (the IPC channel of the process that forked it, else stdio), the
// engine the command line names (engineChoice.ts), and the services on top (server.ts). The model itself runs in
// the engine's worker thread, so this thread always answers status and cancel at once. No network port is opened.
import { parseArgs } from 'node:util';
import {
  createConnection, IPCMessageReader, IPCMessageWriter, ProposedFeatures, StreamMessageWriter, type MessageReader, type MessageWriter,
} from 'vscode-languageserver/node';
import { ENGINES, isEngineName } from './engineChoice';
import { GuardedMessageReader } from './guardedReader';
import { serve } from './server';
import { refuseDuplicateIds } from './transport/duplicateIds';
import { FrameReader } from './transport/frameReader';

/** The transport's reader and writer: over IPC when forked by the extension (TransportKind.ipc), else over stdio. */
function transport(log: (message: string) => void): [MessageReader, MessageWriter] {
  if (process.send) return [new IPCMessageReader(process), new IPCMessageWriter(process)];
  // Our own frame reader (a bad frame costs only itself), so vscode-languageserver no longer sees the stream and
  // no longer exits when it ends: the client is gone then, and so is the sidecar.
  process.stdin.on('end', () => process.exit(0));
  return [new FrameReader(process.stdin, log), new StreamMessageWriter(process.stdout)];
}

if (require.main === module) {
  const { values } = parseArgs({ options: { engine: { type: 'string', default: 'local' } }, strict: false });
  const name = String(values.engine);
  if (!isEngineName(name)) {
    console.error(`Unknown engine "${name}": the sidecar has ${Object.keys(ENGINES).join(', ')}.`);
    process.exit(2);
  }
  // stderr: the extension's log (IPC), the terminal (stdio); never stdout, which carries the stdio frames.
  const log = (message: string) => console.error(message);
  const [reader, writer] = transport(log);
  const guarded = refuseDuplicateIds(new GuardedMessageReader(reader, log), writer, log);
  serve(createConnection(ProposedFeatures.all, guarded.reader, guarded.writer), ENGINES[name](process.env));
}
