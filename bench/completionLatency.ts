// npm run bench:completions -- --preset phi4-mini [--n 20] [--places N] [--ep cpu] [--threads N] [--timeout-ms 4000] [--json FILE]
//                                (or --model DIR for a real model folder)
// Inline completion latency through the real sidecar (dist/sidecar.js, JSON-RPC over IPC, as the extension uses
// it): the time from the request (the keystroke, once the extension's debounce has passed) to the ghost text,
// median of N, in two situations:
//   typing     - N keystrokes along one line: the suffix stays, the prefix grows by a character, so the engine
//                reuses the cached prompt and prefills only the new tokens (the common case);
//   new place  - N completions at N different lines: the prompt changes from the suffix on, a cold prefill.
// An auto-triggered completion adds the debounce (phiLocal.completions.debounceMs, 300 ms) on top; a cached one
// shows at once. On a generated model (random weights) completions rarely end early, so they tend to run to the
// single-line cap (48 tokens) or the time cap: an upper bound for what real weights do.
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-languageserver-protocol/node';
import { InlineCompletionRequest, LoadModelRequest, type InlineCompletionParams, type InlineCompletionResult } from '../sidecar/protocol';
import { ensureModel } from '../test/fixtures/models';
import { ORDERS_SOURCE } from './ordersSource';
import { median } from './median';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    preset: { type: 'string' },
    n: { type: 'string', default: '20' },
    /** How many "new place" completions (default n): each is a cold prefill, slow on a CPU. */
    places: { type: 'string' },
    ep: { type: 'string', default: 'cpu' },
    threads: { type: 'string' },
    'timeout-ms': { type: 'string', default: '4000' },
    json: { type: 'string' },
  },
});

/** A realistic file to complete in: about 120 lines of TypeScript. */
const SOURCE = ORDERS_SOURCE;

const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.9) - 1)];

async function main(): Promise<void> {
  const dir = values.model ?? (values.preset ? ensureModel(values.preset as 'tiny' | 'phi4-mini') : undefined);
  if (!dir) {
    process.stderr.write('bench:completions: --model DIR (or --preset phi4-mini for the generated full-size model) is required.\n');
    process.exit(2);
  }
  const sidecar = path.join(__dirname, '..', 'dist', 'sidecar.js');
  if (!fs.existsSync(sidecar)) throw new Error('dist/sidecar.js is missing: run `npm run build` first.');
  const child = fork(sidecar, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const rpc = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
  for (const n of ['phi/statusChanged', 'window/logMessage', '$/progress']) rpc.onNotification(n, () => {});
  rpc.onRequest('window/workDoneProgress/create', () => null);
  rpc.listen();
  await rpc.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
  await rpc.sendNotification('initialized', {});
  const info = await rpc.sendRequest(LoadModelRequest, { dir, executionProvider: values.ep as 'cpu', threads: values.threads ? Number(values.threads) : undefined });
  process.stdout.write(`model ${info.dir} on ${info.executionProvider} (${info.backend}), loaded in ${Math.round(info.loadMs)} ms\n`);

  const n = Number(values.n);
  const lines = SOURCE.split('\n');
  // The user is writing line `line`: its first `column` characters are typed, the rest is not there yet.
  const at = (line: number, column: number): InlineCompletionParams => ({
    languageId: 'typescript', fileName: 'orders.ts',
    prefix: [...lines.slice(0, line), lines[line].slice(0, column)].join('\n'),
    suffix: ['', ...lines.slice(line + 1)].join('\n'),
    timeoutMs: Number(values['timeout-ms']),
  });
  const time = async (params: InlineCompletionParams) => {
    const t0 = performance.now();
    const r: InlineCompletionResult = await rpc.sendRequest(InlineCompletionRequest, params);
    return { ms: performance.now() - t0, r };
  };

  // Warm-up: the first request pays one-time costs (buffers, the first prefill of the instructions).
  await time(at(5 + 6 * 19 + 3, 9));
  const typingLine = 5 + 6 * 10 + 3; // a `return order.items.reduce(...)` line
  const typing = [];
  for (let i = 0; i < n; i++) typing.push(await time(at(typingLine, 9 + i)));
  const places = [];
  for (let i = 0; i < Number(values.places ?? n); i++) places.push(await time(at(5 + 6 * ((i * 7) % 20) + 3, 9)));

  const summary = (runs: { ms: number; r: InlineCompletionResult }[]) => ({
    medianMs: Math.round(median(runs.map((x) => x.ms))),
    p90Ms: Math.round(p90(runs.map((x) => x.ms))),
    medianPromptTokens: median(runs.map((x) => x.r.usage.promptTokens)),
    medianReusedTokens: median(runs.map((x) => x.r.usage.reusedTokens)),
    medianCompletionTokens: median(runs.map((x) => x.r.usage.completionTokens)),
    finishReasons: runs.reduce<Record<string, number>>((m, x) => ({ ...m, [x.r.finishReason]: (m[x.r.finishReason] ?? 0) + 1 }), {}),
  });
  const result = { model: info.dir, executionProvider: info.executionProvider, backend: info.backend, n, typing: summary(typing), newPlace: summary(places) };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`completion latency: typing ${result.typing.medianMs} ms (median of ${n}), new place ${result.newPlace.medianMs} ms (median of ${places.length}) (plus the debounce for auto-triggered ones)\n`);
  if (values.json) fs.writeFileSync(values.json, JSON.stringify(result, null, 2));
  rpc.dispose();
  child.kill();
}

main().catch((e: Error) => {
  process.stderr.write(`bench:completions: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
