// What Phi: Doctor (and the download's choice of variant) asks the sidecar, since only the sidecar holds
// ONNX Runtime and the model code:
// - phi/probeProviders: each execution provider is tried on a tiny graph built here (one Add), through the same
//   createSession the engine uses, so "loads" means what it means for the model, and a failure comes with ORT's reason.
// - phi/checkModelFolder: readModelFolder's verdict on a folder (errors name the file; warnings as they are),
//   without loading the weights.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { Connection } from 'vscode-languageserver/node';
import { EngineError } from './engineError';
import { createSession, ProvidersFailedError } from './engine/executionProvider';
import { readModelFolder } from './engine/modelFolder';
import {
  CheckModelFolderRequest, EXECUTION_PROVIDER_NAMES, ProbeProvidersRequest, type ModelFolderCheck, type ProviderProbe, type ProviderProbeResult,
} from './protocol';

const { onnx } = onnxProto;

/** y = x + x on a float32 [1, 4]: small enough to load anywhere in milliseconds. */
export function probeGraph(): Uint8Array {
  const tensor = (name: string) => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'phi-local-probe',
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'probe', node: [{ opType: 'Add', input: ['x', 'x'], output: ['y'] }], input: [tensor('x')], output: [tensor('y')] },
  }).finish();
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0].trim();
}

/** Tries each provider: creates a session with it alone and runs the graph once. */
export async function probeProviders(providers: readonly string[] = EXECUTION_PROVIDER_NAMES): Promise<ProviderProbeResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-probe-'));
  const file = path.join(dir, 'probe.onnx');
  fs.writeFileSync(file, probeGraph());
  const results: ProviderProbe[] = [];
  try {
    for (const provider of providers) {
      try {
        const { session } = await createSession(file, provider as never, {}, [provider]);
        try {
          const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]) });
          const y = out.y.data as Float32Array;
          if (y[3] !== 8) throw new Error(`it computed ${y[3]} for 4 + 4`);
          results.push({ provider, loads: true });
        } finally {
          await session.release().catch(() => undefined);
        }
      } catch (e) {
        const reason = e instanceof ProvidersFailedError ? e.failures.map((f) => f.reason).join('; ') : firstLine(e);
        results.push({ provider, loads: false, reason });
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { providers: results, onnxruntimeVersion: ort.env.versions.node ?? 'unknown' };
}

/** readModelFolder's verdict on `dir`, as data. */
export function checkModelFolder(dir: string): ModelFolderCheck {
  const resolved = path.resolve(dir);
  let files: ModelFolderCheck['files'] = [];
  try {
    files = fs.readdirSync(resolved, { withFileTypes: true }).filter((d) => d.isFile())
      .map((d) => ({ name: d.name, bytes: fs.statSync(path.join(resolved, d.name)).size }))
      .sort((a, b) => a.name.localeCompare(b.name));
  } catch {
    // readModelFolder says what is wrong with the folder itself.
  }
  try {
    const folder = readModelFolder(resolved);
    const c = folder.config;
    return {
      dir: resolved, ok: true, warnings: folder.warnings, files,
      summary: { modelType: c.modelType, numLayers: c.numLayers, contextLength: c.contextLength, kvType: c.kvType, exportedFor: c.exportedFor },
    };
  } catch (e) {
    const error = e instanceof EngineError ? e : new EngineError('internal', firstLine(e));
    return { dir: resolved, ok: false, error: error.toJSON(), warnings: [], files };
  }
}

/** Wires the two requests to a connection (the probe runs once per sidecar process). */
export function registerDiagnostics(connection: Connection): void {
  let probe: Promise<ProviderProbeResult> | undefined;
  connection.onRequest(ProbeProvidersRequest, () => (probe ??= probeProviders()));
  connection.onRequest(CheckModelFolderRequest, (params) => checkModelFolder(params.dir));
}
