// npx tsx bench/profile.ts [--model DIR | --preset phi4-mini] [--context 512] [--steps 16] [--threads N]
//                          [variant flags: bench/nativeVariant.ts] [--no-profile] [--json] [--keep-trace]
// Where a forward pass of the native backend spends its time. Prefills `--context` tokens in the engine's 256-token
// passes, decodes `--steps` greedy tokens and verifies an 8-token draft, with ONNX Runtime's profiler on; then
// prints, from ORT's JSON trace, the time per op type and per node kind (layer index dropped: qkv_proj, lm_head...)
// for a decode step and for the prefill, and the time spent outside ORT's run per step.
// The variant flags (bench/nativeVariant.ts) set the runtime options the tuning experiments compare (bench/tune.ts):
// MatMulNBits accuracy_level, session config entries, the optimization level, threads, the memory arena.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readModelFolder } from '../sidecar/engine/modelFolder';
import { NativeBackend } from '../sidecar/engine/native/nativeBackend';
import { argmax } from '../sidecar/engine/sampling';
import { ensureModel } from '../test/fixtures/models';
import { VARIANT_OPTIONS, nativeVariant } from './nativeVariant';
import { median } from './median';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    preset: { type: 'string', default: 'phi4-mini' },
    context: { type: 'string', default: '512' },
    steps: { type: 'string', default: '16' },
    chunk: { type: 'string', default: '256' },
    draft: { type: 'string', default: '8' },
    ...VARIANT_OPTIONS,
    'no-profile': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'keep-trace': { type: 'boolean', default: false },
  },
});

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

interface TraceEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string };
}

interface Row {
  key: string;
  /** ms per run, averaged over the runs of the phase */
  ms: number;
  share: number;
}

/** Per-op-type and per-node-kind totals for the runs whose index is in `runs`, averaged per run. */
function summarize(events: TraceEvent[], modelRuns: TraceEvent[], runs: number[]) {
  const windows = runs.map((i) => modelRuns[i]);
  const inRun = (e: TraceEvent) => windows.some((w) => e.ts >= w.ts && e.ts <= w.ts + w.dur);
  const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && inRun(e));
  const runMs = sum(windows.map((w) => w.dur)) / 1000 / runs.length;
  const group = (keyOf: (e: TraceEvent) => string): Row[] => {
    const totals = new Map<string, number>();
    for (const e of kernels) totals.set(keyOf(e), (totals.get(keyOf(e)) ?? 0) + e.dur);
    return [...totals].map(([key, us]) => ({ key, ms: us / 1000 / runs.length, share: us / 1000 / runs.length / runMs }))
      .sort((a, b) => b.ms - a.ms);
  };
  const byOp = group((e) => e.args?.op_name ?? '?');
  const byNode = group((e) => `${e.args?.op_name ?? '?'} ${e.name.replace(/_kernel_time$/, '').replace(/\/model\/layers\.\d+\//, '/model/layers.*/')}`);
  const kernelMs = sum(byOp.map((r) => r.ms));
  return { runMs, kernelMs, byOp, byNode };
}

function printTable(title: string, rows: Row[], unit: string, limit = 14): void {
  console.log(`\n  ${title}`);
  console.log(`  ${'op'.padEnd(70)} | ${unit.padStart(10)} | share`);
  for (const r of rows.slice(0, limit)) {
    console.log(`  ${r.key.slice(0, 70).padEnd(70)} | ${r.ms.toFixed(r.ms < 1 ? 3 : 2).padStart(10)} | ${(100 * r.share).toFixed(1).padStart(5)} %`);
  }
  if (rows.length > limit) {
    const rest = rows.slice(limit);
    console.log(`  ${`(${rest.length} more)`.padEnd(70)} | ${sum(rest.map((r) => r.ms)).toFixed(2).padStart(10)} | ${(100 * sum(rest.map((r) => r.share))).toFixed(1).padStart(5)} %`);
  }
}

async function main(): Promise<void> {
  const folder = readModelFolder(values.model ?? ensureModel(values.preset as 'tiny' | 'phi4-mini'));
  const context = Number(values.context);
  const steps = Number(values.steps);
  const chunk = Number(values.chunk);
  const draft = Number(values.draft);
  const variant = nativeVariant(folder, values);
  const onnxFile = variant.onnxFile;
  const profile = !values['no-profile'];
  const prefix = path.join(os.tmpdir(), `phi-local-profile-${process.pid}`);

  const loadStart = performance.now();
  const backend = await NativeBackend.create(onnxFile, folder.config, {
    ...variant.options,
    contextLength: context + steps + draft + 16,
    profileFilePrefix: profile ? prefix : undefined,
  });
  const loadMs = performance.now() - loadStart;
  const ids = Array.from({ length: context }, (_, i) => 1000 + ((i * 7919) % 50_000));
  const prefillMs: number[] = [];
  const decodeMs: number[] = [];
  const verifyMs: number[] = [];
  let traceFile: string | undefined;
  try {
    let logits: Float32Array | undefined;
    for (let i = 0; i < context; i += chunk) {
      const t = performance.now();
      logits = await backend.forward(ids.slice(i, i + chunk));
      prefillMs.push(performance.now() - t);
    }
    for (let s = 0; s < steps; s++) {
      const next = argmax(logits!);
      const t = performance.now();
      logits = await backend.forward([next]);
      decodeMs.push(performance.now() - t);
    }
    // A speculative verification pass: 1 + draft tokens with every position's logits, three times from the same place.
    const at = backend.cachedLength;
    for (let r = 0; r < 3 && draft > 0; r++) {
      backend.truncate(at);
      const t = performance.now();
      await backend.forward(ids.slice(0, draft + 1), { allPositions: true });
      verifyMs.push(performance.now() - t);
    }
    if (profile) traceFile = backend.endProfiling();
  } finally {
    await backend.release();
  }

  const result: Record<string, unknown> = {
    context, steps, loadMs,
    variant: variant.description,
    prefillTokensPerSecond: context / (sum(prefillMs) / 1000),
    decodeMsPerToken: median(decodeMs),
    verifyMs: verifyMs.length ? median(verifyMs) : undefined,
    verifyPerStep: verifyMs.length ? median(verifyMs) / median(decodeMs) : undefined,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  if (traceFile) {
    const events = JSON.parse(fs.readFileSync(traceFile, 'utf8')) as TraceEvent[];
    const modelRuns = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
    const prefillRuns = prefillMs.map((_, i) => i);
    // The first decode step warms caches up; the others are the steady state.
    const decodeRuns = decodeMs.map((_, i) => prefillMs.length + i).slice(steps > 2 ? 1 : 0);
    if (modelRuns.length !== prefillMs.length + decodeMs.length + verifyMs.length) {
      throw new Error(`the trace has ${modelRuns.length} runs, the script made ${prefillMs.length + decodeMs.length + verifyMs.length}`);
    }
    const decode = summarize(events, modelRuns, decodeRuns);
    const prefill = summarize(events, modelRuns, prefillRuns);
    const decodeJs = decodeRuns.map((i) => decodeMs[i - prefillMs.length]);
    const outsideMs = median(decodeRuns.map((i, k) => decodeJs[k] - modelRuns[i].dur / 1000));
    Object.assign(result, { traceFile, decode, prefill, outsideOrtMsPerStep: outsideMs });
    if (!values.json) {
      console.log(`\nPer-op profile, native backend, ${path.basename(onnxFile)} (${variant.description}), ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), ` +
        `context ${context}, ${steps} decode steps (first one left out), prefill in ${prefillMs.length} pass(es) of ≤ ${chunk}`);
      console.log(`\nDecode step: ${median(decodeJs).toFixed(1)} ms measured in JS (median); ORT model_run ${decode.runMs.toFixed(1)} ms ` +
        `(mean), kernels ${decode.kernelMs.toFixed(1)} ms, inside ORT between kernels ${(decode.runMs - decode.kernelMs).toFixed(1)} ms, ` +
        `outside ORT ${outsideMs.toFixed(2)} ms per step (median)`);
      printTable('decode, per op type (ms per step, share of model_run)', decode.byOp, 'ms/step');
      printTable('decode, per node kind (ms per step, all layers together)', decode.byNode, 'ms/step');
      const prefillTotal = prefill.runMs * prefillRuns.length;
      console.log(`\nPrefill: ${context} tokens in ${sum(prefillMs).toFixed(0)} ms (${(result.prefillTokensPerSecond as number).toFixed(1)} tok/s); ` +
        `ORT model_run ${prefillTotal.toFixed(0)} ms, kernels ${(prefill.kernelMs * prefillRuns.length).toFixed(0)} ms`);
      const perToken = (rows: Row[]) => rows.map((r) => ({ ...r, ms: (r.ms * prefillRuns.length) / context }));
      printTable('prefill, per op type (ms per prompt token, share of model_run)', perToken(prefill.byOp), 'ms/token');
      printTable('prefill, per node kind (ms per prompt token)', perToken(prefill.byNode), 'ms/token');
      if (verifyMs.length) {
        console.log(`\nVerifying 1 + ${draft} tokens: ${median(verifyMs).toFixed(1)} ms = ${(result.verifyPerStep as number).toFixed(2)}× a decode step`);
      }
    }
    if (!values['keep-trace']) fs.rmSync(traceFile, { force: true });
  }
  if (values.json) process.stdout.write(JSON.stringify(result) + '\n');
  else console.log(`\nload ${(loadMs / 1000).toFixed(1)} s, prefill ${(result.prefillTokensPerSecond as number).toFixed(1)} tok/s, ` +
    `decode ${(result.decodeMsPerToken as number).toFixed(1)} ms/token, peak RSS ${((result.peakRssBytes as number) / 1e9).toFixed(2)} GB`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
