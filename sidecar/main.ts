// The sidecar's composition root: the transport (the IPC channel of the process that forked it, else stdio), the
// engine the command line names (engineChoice.ts), and the services on top (server.ts). The model itself runs in
// the engine's worker thread, so this thread always answers status and cancel at once. No network port is opened.
import { parseArgs } from 'node:util';
import { createConnection, IPCMessageReader, IPCMessageWriter, ProposedFeatures } from 'vscode-languageserver/node';
import { ENGINES, isEngineName } from './engineChoice';
import { GuardedMessageReader } from './guardedReader';
import { serve } from './server';

if (require.main === module) {
  const { values } = parseArgs({ options: { engine: { type: 'string', default: 'local' } }, strict: false });
  const name = String(values.engine);
  if (!isEngineName(name)) {
    console.error(`Unknown engine "${name}": the sidecar has ${Object.keys(ENGINES).join(', ')}.`);
    process.exit(2);
  }
  // Over IPC when forked by the extension (vscode-languageclient's TransportKind.ipc), else over stdio.
  const connection = process.send
    ? createConnection(ProposedFeatures.all, new GuardedMessageReader(new IPCMessageReader(process), (m) => console.error(m)), new IPCMessageWriter(process))
    : createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  serve(connection, ENGINES[name](process.env));
}
