// npm run bench -- --model DIR [--contexts 16,512,2048] [--steps 32] [--repeats 3] [--ep cpu] [--threads N] [--json FILE]
//                   [--backend auto|native|onnxruntime-node[,...]] [--graph rewritten|official] [--speculative]
//                   [--vs llama.cpp [--gguf FILE]] [--synthetic-fill 4096[,...]]
//        npm run bench -- --engine remote --url http://host:port/v1 [--model-id M]  (or --model DIR / --preset tiny: overhead)
// Load time, time to first token, prefill and decode speed at several context lengths, and peak memory.
// Each measurement runs in a fresh process (its peak RSS is its own); repeats are interleaved across contexts
// and backends so that a noisy minute on a shared machine does not land on one of them only; medians are reported.
// `--vs llama.cpp` adds llama.cpp (node-llama-cpp, ./llamaRun.ts) on a Q4_0 GGUF of the same shapes as one more
// backend, and a table of ours / llama.cpp. `--synthetic-fill` lists contexts where our backends decode after a KV
// cache filled without computing it (./syntheticFill.ts): decode speed does not depend on the cached values, and
// a real 4096-token prefill takes minutes on a small CPU. llama.cpp always prefills for real.
// `--engine remote` times the remote engine instead (./remoteBench.ts): a server at --url, or, with a model and no
// --url, `phi-local serve` in this process and the HTTP path's overhead per token against the engine in-process.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureGguf } from '../test/fixtures/ggufModels';
import { isModelPresetName } from '../test/fixtures/modelPresets';
import { MANIFEST_FILE, ensureModel, type TestModelManifest } from '../test/fixtures/models';
import { ensureNodeLlamaCpp } from './llama/nodeLlamaCpp';
import { median } from './median';
import { benchRemote } from './remoteBench';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    preset: { type: 'string' },
    contexts: { type: 'string' },
    steps: { type: 'string', default: '32' },
    repeats: { type: 'string', default: '3' },
    ep: { type: 'string', default: 'cpu' },
    threads: { type: 'string' },
    backend: { type: 'string' },
    graph: { type: 'string', default: 'rewritten' },
    speculative: { type: 'boolean', default: false },
    vs: { type: 'string' },
    gguf: { type: 'string' },
    'synthetic-fill': { type: 'string', default: '' },
    json: { type: 'string' },
    engine: { type: 'string', default: 'local' },
    url: { type: 'string' },
    'model-id': { type: 'string' },
  },
});

const LLAMA = 'llama.cpp';

interface Run {
  context: number;
  executionProvider: string;
  backend: string;
  graph: string;
  fill: 'real' | 'synthetic';
  loadMs: number;
  /** null after a synthetic fill: nothing was prefilled. */
  timeToFirstTokenMs: number | null;
  prefillTokensPerSecond: number | null;
  decodeTokensPerSecond: number;
  decodeMsPerToken: number;
  generated: number;
  rssAfterLoadBytes: number;
  peakRssBytes: number;
  llamaCpp?: Record<string, unknown>;
}

const medianOrNull = (xs: (number | null)[]) => (xs.some((x) => x === null) ? null : median(xs as number[]));

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function modelDir(): string {
  if (values.model) return values.model;
  if (values.preset) {
    if (!isModelPresetName(values.preset)) fail(`unknown --preset ${values.preset} (tiny or phi4-mini)`);
    // Generated test models (random weights in the official format) are built on first use.
    return ensureModel(values.preset);
  }
  fail('--model DIR (or --preset phi4-mini for the generated full-size model) is required.');
}

/** llama.cpp's model: --gguf, else the generated GGUF with the shapes of the generated model being measured. */
function ggufFor(model: string): string {
  if (values.gguf) return values.gguf;
  let manifest: Partial<TestModelManifest> = {};
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(model, MANIFEST_FILE), 'utf8')) as TestModelManifest;
  } catch {
    // not a generated model folder
  }
  const preset = values.preset ?? manifest.preset;
  if (!preset || !isModelPresetName(preset)) {
    fail(`--vs ${LLAMA} needs a GGUF with the model's shapes: pass --gguf FILE, or measure a generated model (--preset).`);
  }
  return ensureGguf(preset, { seed: manifest.seed, numLayers: manifest.numLayers });
}

/** A script of this folder: from sources through tsx, or its bundled .js (e.g. on a machine without node_modules). */
function script(name: string): string[] {
  return __filename.endsWith('.ts') ? ['--import', 'tsx', path.join(__dirname, `${name}.ts`)] : [path.join(__dirname, `${name}.js`)];
}

function measure(target: { model: string; gguf?: string }, context: number, backend: string, threads: string | undefined,
  synthetic: boolean): Run {
  const common = ['--context', String(context), '--steps', values.steps!, ...(threads ? ['--threads', threads] : [])];
  const args = backend === LLAMA
    ? [...script('llamaRun'), '--model', target.gguf!, ...common]
    : [...script('benchRun'), '--model', target.model, ...common, '--ep', values.ep!, '--backend', backend,
      '--graph', values.graph!, '--fill', synthetic ? 'synthetic' : 'real', ...(values.speculative ? ['--speculative'] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`benchmark run (${backend}) at context ${context} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Run;
}

/** Width of the first column: "onnxruntime-node (webgpu) *". */
const LABEL = 27;
const fmt = (x: number | null, width: number, digits = 1) => (x === null ? '—' : x.toFixed(digits)).padStart(width);

/** --engine remote: the remote engine against --url, or the HTTP path's overhead on a model served in-process. */
async function remote(): Promise<void> {
  const localOnly = (['contexts', 'backend', 'graph', 'speculative', 'vs', 'gguf', 'synthetic-fill'] as const)
    .filter((k) => values[k] !== undefined && values[k] !== '' && values[k] !== false && !(k === 'graph' && values[k] === 'rewritten'));
  if (localOnly.length) fail(`--engine remote times one fixed chat prompt through the engine as serve runs it: ${localOnly.map((k) => `--${k}`).join(', ')} do not apply.`);
  if (values.url && (values.model || values.preset)) {
    fail('--engine remote takes --url (time that server) or --model/--preset (serve it here and measure the overhead), not both.');
  }
  if (!values.url && !values.model && !values.preset) {
    fail('--engine remote needs --url http://host:port/v1 (time that server) or --model DIR / --preset tiny (serve it here and measure the overhead).');
  }
  const report = await benchRemote({
    url: values.url, model: values.url ? undefined : modelDir(), modelId: values['model-id'], apiKey: process.env.PHI_LOCAL_API_KEY,
    steps: Number(values.steps), repeats: Number(values.repeats), ep: values.ep!, threads: values.threads ? Number(values.threads) : undefined,
  });
  console.log('\n' + JSON.stringify(report));
  if (values.json) fs.writeFileSync(values.json, JSON.stringify(report, null, 2));
}

async function main(): Promise<void> {
  if (values.engine === 'remote') return remote();
  if (values.engine !== 'local') fail(`--engine takes local or remote, not ${values.engine}`);
  if (values.url || values['model-id']) fail('--url and --model-id go with --engine remote.');
  if (values.vs !== undefined && values.vs !== LLAMA) fail(`--vs takes ${LLAMA}, not ${values.vs}`);
  const versus = values.vs === LLAMA;
  const model = modelDir();
  const target = { model, gguf: versus ? ggufFor(model) : undefined };
  // node-llama-cpp is the benchmark's own package (./llama), installed on first use: here, before any timed run.
  if (versus) ensureNodeLlamaCpp();
  const contexts = (values.contexts ?? '16,512,2048').split(',').map(Number);
  const synthetic = new Set(values['synthetic-fill']!.split(',').filter(Boolean).map(Number));
  // Side by side, both engines get the same threads: 2 unless told (the issue's comparison).
  const threads = values.threads ?? (versus ? '2' : undefined);
  const ours = (values.backend ?? (versus ? 'native,onnxruntime-node' : 'auto')).split(',');
  const backends = versus ? [...ours, LLAMA] : ours;
  const repeats = Number(values.repeats);
  const key = (backend: string, context: number) => `${backend}@${context}`;
  const runs = new Map<string, Run[]>();
  for (let r = 0; r < repeats; r++) {
    for (const c of contexts) {
      for (const b of backends) {
        const run = measure(target, c, b, threads, b !== LLAMA && synthetic.has(c));
        runs.set(key(b, c), [...(runs.get(key(b, c)) ?? []), run]);
        process.stderr.write(`  run ${r + 1}/${repeats} context ${c} ${run.backend}${run.fill === 'synthetic' ? ' (synthetic fill)' : ''}: ` +
          `decode ${run.decodeTokensPerSecond.toFixed(2)} tok/s, prefill ${fmt(run.prefillTokensPerSecond, 0)} tok/s, ` +
          `first token ${fmt(run.timeToFirstTokenMs, 0, 0)} ms\n`);
      }
    }
  }
  const rows = backends.flatMap((b) => contexts.map((c) => {
    const rs = runs.get(key(b, c))!;
    return {
      backend: rs[0].backend,
      executionProvider: rs[0].executionProvider,
      graph: rs[0].graph,
      fill: rs[0].fill,
      context: c,
      loadMs: median(rs.map((x) => x.loadMs)),
      timeToFirstTokenMs: medianOrNull(rs.map((x) => x.timeToFirstTokenMs)),
      prefillTokensPerSecond: medianOrNull(rs.map((x) => x.prefillTokensPerSecond)),
      decodeTokensPerSecond: median(rs.map((x) => x.decodeTokensPerSecond)),
      decodeMsPerToken: median(rs.map((x) => x.decodeMsPerToken)),
      peakRssGB: median(rs.map((x) => x.peakRssBytes)) / 1e9,
      rssAfterLoadGB: median(rs.map((x) => x.rssAfterLoadBytes)) / 1e9,
      runs: rs.length,
    };
  }));
  // llama.cpp's settings as its longest context ran (its batch size depends on the context size).
  const llamaCpp = versus ? runs.get(key(LLAMA, Math.max(...contexts)))![0].llamaCpp : undefined;
  const report = {
    model: path.resolve(model),
    ...(versus ? { gguf: path.resolve(target.gguf!), llamaCpp } : {}),
    backends: [...new Set(rows.map((r) => r.backend))],
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGB: os.totalmem() / 1e9, node: process.version },
    steps: Number(values.steps),
    threads: threads ? Number(threads) : null,
    speculative: values.speculative,
    rows,
  };

  console.log(`\nPhi Local benchmark — ${report.machine.cpus} CPUs, median of ${repeats} interleaved runs, ${values.steps} decode steps, ` +
    `${threads ? `${threads} threads` : "ONNX Runtime's default threads"}, ${values.graph} graph, ` +
    `speculative decoding ${values.speculative ? 'on' : 'off'}\n${report.model}`);
  if (versus) {
    const l = llamaCpp as Record<string, unknown>;
    console.log(`${LLAMA} ${l.release} (node-llama-cpp ${l.nodeLlamaCpp}, prebuilt CPU build ${l.cpu}), batch ${l.batchSize}, ` +
      `flash attention ${l.flashAttention}, ${l.kvCacheType} KV cache, on ${report.gguf}`);
  }
  console.log(`\n  ${'backend (EP)'.padEnd(LABEL)} | context |  load s | first token ms | prefill tok/s | decode tok/s | decode ms/tok | peak RSS GB`);
  console.log(`  ${'-'.repeat(LABEL)}-|---------|---------|----------------|---------------|--------------|---------------|------------`);
  for (const r of rows) {
    const label = `${r.backend} (${r.executionProvider})${r.fill === 'synthetic' ? ' *' : ''}`;
    console.log(`  ${label.padEnd(LABEL)} | ${String(r.context).padStart(7)} | ${fmt(r.loadMs / 1000, 7, 2)} | ` +
      `${fmt(r.timeToFirstTokenMs, 14, 0)} | ${fmt(r.prefillTokensPerSecond, 13)} | ` +
      `${fmt(r.decodeTokensPerSecond, 12, 2)} | ${fmt(r.decodeMsPerToken, 13)} | ${fmt(r.peakRssGB, 11, 2)}`);
  }
  if (rows.some((r) => r.fill === 'synthetic')) {
    console.log('  * decode after a KV cache filled to that many positions with made-up values, not computed (decode cost does\n' +
      '    not depend on the values); no first token or prefill, and the peak RSS lacks the prefill\'s activations.');
  }
  if (contexts.some((c) => c + Number(values.steps) > 4096)) {
    console.log('  Past 4096 positions Phi-4-mini switches to its long RoPE factors: our real-prefill decode then re-feeds the\n' +
      '  whole sequence once (counted in its decode time); the synthetic fill and llama.cpp do not.');
  }

  if (versus) {
    console.log(`\n  ${`ours / ${LLAMA}`.padEnd(LABEL)} | context | prefill × | decode × | peak RSS ×`);
    console.log(`  ${'-'.repeat(LABEL)}-|---------|-----------|----------|-----------`);
    for (const r of rows.filter((x) => x.backend !== LLAMA)) {
      const peer = rows.find((x) => x.backend === LLAMA && x.context === r.context)!;
      const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : a / b);
      console.log(`  ${`${r.backend}${r.fill === 'synthetic' ? ' *' : ''}`.padEnd(LABEL)} | ${String(r.context).padStart(7)} | ` +
        `${fmt(ratio(r.prefillTokensPerSecond, peer.prefillTokensPerSecond), 9, 2)} | ` +
        `${fmt(ratio(r.decodeTokensPerSecond, peer.decodeTokensPerSecond), 8, 2)} | ${fmt(ratio(r.peakRssGB, peer.peakRssGB), 10, 2)}`);
    }
    console.log('  prefill and decode: speed ratio (above 1: ours is faster); peak RSS: memory ratio (below 1: ours uses less).');
  }
  console.log('\n' + JSON.stringify(report));
  if (values.json) fs.writeFileSync(values.json, JSON.stringify(report, null, 2));
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.message ?? e}\n`);
  process.exit(1);
});
