// npx tsx bench/tune.ts [--preset phi4-mini | --model DIR] [--context 512] [--steps 24] [--repeats 5] [--pass 64]
//                       --variant 'name=flags' --variant 'name=flags' ...       (flags: bench/nativeVariant.ts)
// A/B of the native backend's runtime options, interleaved step by step: every variant is loaded into this one
// process (one ORT session each, ~3.5 GB for phi4-mini) and prefilled to `--context` tokens; then each measurement
// goes round the variants in turn (A B C A B C ...), always from the same cached length, so that a noisy second on
// a shared machine lands on all of them. Measured: a decode step (medians of --steps), a speculative verification
// pass of 1 + 8 tokens and prefill passes of each --pass size (comma-separated; medians of --repeats). Example:
//   npx tsx bench/tune.ts --variant 'int8=--accuracy-level 4' --variant 'fp32=--accuracy-level 0'
import { parseArgs } from 'node:util';
import { readModelFolder } from '../sidecar/engine/modelFolder';
import { NativeBackend } from '../sidecar/engine/native/nativeBackend';
import { ensureModel } from '../test/fixtures/models';
import { nativeVariant, parseVariantFlags } from './nativeVariant';
import { median } from './median';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    preset: { type: 'string', default: 'phi4-mini' },
    context: { type: 'string', default: '512' },
    steps: { type: 'string', default: '24' },
    repeats: { type: 'string', default: '5' },
    pass: { type: 'string', default: '64' },
    draft: { type: 'string', default: '8' },
    variant: { type: 'string', multiple: true, default: [] },
  },
});


async function main(): Promise<void> {
  const folder = readModelFolder(values.model ?? ensureModel(values.preset as 'tiny' | 'phi4-mini'));
  const context = Number(values.context);
  const passes = values.pass!.split(',').map(Number);
  const pass = Math.max(...passes);
  const draft = Number(values.draft);
  const specs = values.variant!.map((v) => {
    const at = v.indexOf('=');
    const flags = at < 0 ? [] : v.slice(at + 1).split(/\s+/).filter(Boolean);
    return { name: at < 0 ? v : v.slice(0, at), variant: nativeVariant(folder, parseVariantFlags(flags)) };
  });
  if (specs.length === 0) throw new Error("give at least one --variant 'name=flags'");
  const ids = Array.from({ length: context + pass }, (_, i) => 1000 + ((i * 7919) % 50_000));
  const variants: Array<{ name: string; description: string; backend: NativeBackend; loadMs: number; prefillTps: number;
    decode: number[]; verify: number[]; passMs: number[][] }> = [];
  for (const { name, variant } of specs) {
    const t0 = performance.now();
    const backend = await NativeBackend.create(variant.onnxFile, folder.config, { ...variant.options, contextLength: context + pass + draft + 8 });
    const loadMs = performance.now() - t0;
    const t1 = performance.now();
    for (let i = 0; i < context; i += 256) await backend.forward(ids.slice(i, Math.min(context, i + 256)));
    const prefillMs = performance.now() - t1;
    process.stderr.write(`  ${name} (${variant.description}): load ${(loadMs / 1000).toFixed(1)} s, prefill ${context} in ${(prefillMs / 1000).toFixed(1)} s\n`);
    variants.push({ name, description: variant.description, backend, loadMs, prefillTps: context / (prefillMs / 1000), decode: [], verify: [], passMs: passes.map(() => []) });
  }
  const timed = async (v: (typeof variants)[number], tokens: number[], allPositions = false) => {
    v.backend.truncate(context);
    const t = performance.now();
    await v.backend.forward(tokens, { allPositions });
    return performance.now() - t;
  };
  try {
    for (let s = 0; s < Number(values.steps); s++) for (const v of variants) v.decode.push(await timed(v, [ids[context]]));
    for (let r = 0; r < Number(values.repeats); r++) {
      for (const v of variants) v.verify.push(await timed(v, ids.slice(context, context + draft + 1), true));
      for (const [i, size] of passes.entries()) for (const v of variants) v.passMs[i].push(await timed(v, ids.slice(context, context + size)));
    }
  } finally {
    for (const v of variants) await v.backend.release();
  }
  const fmt = (xs: number[]) => `${median(xs).toFixed(1)} (min ${Math.min(...xs).toFixed(1)})`;
  console.log(`\nA/B in one process, interleaved step by step; context ${context}; medians (minimum) of ${values.steps} decode steps, ` +
    `${values.repeats} verification and prefill passes; a pass's tok/s: median (best)`);
  console.log(`  ${'variant'.padEnd(12)} | ${'decode ms/token'.padEnd(20)} | ${`verify 1+${draft} ms`.padEnd(20)} | verify/step | ` +
    `${passes.map((p) => `${p}-token pass tok/s`.padEnd(20)).join(' | ')} | first prefill tok/s | settings`);
  for (const v of variants) {
    console.log(`  ${v.name.padEnd(12)} | ${fmt(v.decode).padEnd(20)} | ${fmt(v.verify).padEnd(20)} | ${(median(v.verify) / median(v.decode)).toFixed(2).padStart(11)} | ` +
      `${passes.map((p, i) => `${(p / (median(v.passMs[i]) / 1000)).toFixed(1)} (${(p / (Math.min(...v.passMs[i]) / 1000)).toFixed(1)})`.padEnd(20)).join(' | ')} | ` +
      `${v.prefillTps.toFixed(1).padStart(19)} | ${v.description}`);
  }
  console.log(JSON.stringify(variants.map(({ backend: _, ...v }) => v)));
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
