// npm run bench -- --model DIR [--contexts 16,512,2048] [--steps 32] [--repeats 3] [--ep cpu] [--threads N] [--json FILE]
//                   [--backend auto|native|onnxruntime-node[,...]] [--graph rewritten|official]
// Load time, time to first token, prefill and decode speed at several context lengths, and peak memory.
// Each measurement runs in a fresh process (its peak RSS is its own); repeats are interleaved across contexts
// and backends so that a noisy minute on a shared machine does not land on one of them only; medians are reported.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureModel } from '../test/fixtures/models';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    preset: { type: 'string' },
    contexts: { type: 'string', default: '16,512,2048' },
    steps: { type: 'string', default: '32' },
    repeats: { type: 'string', default: '3' },
    ep: { type: 'string', default: 'cpu' },
    threads: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    graph: { type: 'string', default: 'rewritten' },
    json: { type: 'string' },
  },
});

interface Run {
  context: number;
  executionProvider: string;
  backend: string;
  graph: string;
  loadMs: number;
  timeToFirstTokenMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  decodeMsPerToken: number;
  generated: number;
  rssAfterLoadBytes: number;
  peakRssBytes: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function modelDir(): Promise<string> {
  if (values.model) return values.model;
  if (values.preset) {
    // Generated test models (random weights in the official format) are built on first use.
    return ensureModel(values.preset as 'tiny' | 'phi4-mini');
  }
  process.stderr.write('bench: --model DIR (or --preset phi4-mini for the generated full-size model) is required.\n');
  process.exit(2);
}

function measure(model: string, context: number, backend: string): Run {
  // From sources through tsx; a bundled copy (e.g. on a GPU machine without node_modules) runs benchRun.js.
  const runner = __filename.endsWith('.ts') ? ['--import', 'tsx', path.join(__dirname, 'benchRun.ts')] : [path.join(__dirname, 'benchRun.js')];
  const args = [...runner, '--model', model, '--context', String(context),
    '--steps', values.steps!, '--ep', values.ep!, '--backend', backend, '--graph', values.graph!];
  if (values.threads) args.push('--threads', values.threads);
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`benchmark run (${backend}) at context ${context} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  const model = await modelDir();
  const contexts = values.contexts!.split(',').map(Number);
  const backends = values.backend!.split(',');
  const repeats = Number(values.repeats);
  const key = (backend: string, context: number) => `${backend}@${context}`;
  const runs = new Map<string, Run[]>();
  for (let r = 0; r < repeats; r++) {
    for (const c of contexts) {
      for (const b of backends) {
        const run = measure(model, c, b);
        runs.set(key(b, c), [...(runs.get(key(b, c)) ?? []), run]);
        process.stderr.write(`  run ${r + 1}/${repeats} context ${c} ${run.backend}: decode ${run.decodeTokensPerSecond.toFixed(2)} tok/s, ` +
          `prefill ${run.prefillTokensPerSecond.toFixed(1)} tok/s, first token ${Math.round(run.timeToFirstTokenMs)} ms\n`);
      }
    }
  }
  const rows = backends.flatMap((b) => contexts.map((c) => {
    const rs = runs.get(key(b, c))!;
    return {
      backend: rs[0].backend,
      executionProvider: rs[0].executionProvider,
      graph: rs[0].graph,
      context: c,
      loadMs: median(rs.map((x) => x.loadMs)),
      timeToFirstTokenMs: median(rs.map((x) => x.timeToFirstTokenMs)),
      prefillTokensPerSecond: median(rs.map((x) => x.prefillTokensPerSecond)),
      decodeTokensPerSecond: median(rs.map((x) => x.decodeTokensPerSecond)),
      decodeMsPerToken: median(rs.map((x) => x.decodeMsPerToken)),
      peakRssGB: median(rs.map((x) => x.peakRssBytes)) / 1e9,
      rssAfterLoadGB: median(rs.map((x) => x.rssAfterLoadBytes)) / 1e9,
      runs: rs.length,
    };
  }));
  const report = {
    model: path.resolve(model),
    backends: [...new Set(rows.map((r) => r.backend))],
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGB: os.totalmem() / 1e9, node: process.version },
    steps: Number(values.steps),
    rows,
  };
  const fmt = (x: number, d = 1) => x.toFixed(d).padStart(9);
  console.log(`\nPhi Local benchmark — ${report.machine.cpus} CPUs, median of ${repeats} interleaved runs, ` +
    `${values.steps} decode steps, ${values.graph} graph\n${report.model}\n`);
  console.log('  backend (EP)           | context |  load s | first token ms | prefill tok/s | decode tok/s | decode ms/tok | peak RSS GB');
  console.log('  -----------------------|---------|---------|----------------|---------------|--------------|---------------|------------');
  for (const r of rows) {
    console.log(`  ${`${r.backend} (${r.executionProvider})`.padEnd(22)} | ${String(r.context).padStart(7)} | ${fmt(r.loadMs / 1000, 2).slice(2)} | ` +
      `${fmt(r.timeToFirstTokenMs, 0).padStart(14)} | ${fmt(r.prefillTokensPerSecond).padStart(13)} | ` +
      `${fmt(r.decodeTokensPerSecond, 2).padStart(12)} | ${fmt(r.decodeMsPerToken).padStart(13)} | ${fmt(r.peakRssGB, 2).padStart(10)}`);
  }
  console.log('\n' + JSON.stringify(report));
  if (values.json) fs.writeFileSync(values.json, JSON.stringify(report, null, 2));
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.message ?? e}\n`);
  process.exit(1);
});
