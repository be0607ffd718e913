// npx tsx bench/tune.ts [--preset phi4-mini | --model DIR] [--context 512] [--steps 16] [--repeats 3]
//                       --variant 'name=profile.ts flags' [--variant ...]
// A/B of the native backend's runtime options: each variant runs bench/profile.ts (--json --no-profile) in a
// process of its own; repeats are interleaved across variants (A B A B A B), so a noisy minute on a shared machine
// hits all of them; medians are reported, with every run's value to show the spread. Example:
//   npx tsx bench/tune.ts --variant 'int8=--accuracy-level 4' --variant 'fp32=--accuracy-level 0'
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    preset: { type: 'string', default: 'phi4-mini' },
    context: { type: 'string', default: '512' },
    steps: { type: 'string', default: '16' },
    repeats: { type: 'string', default: '3' },
    threads: { type: 'string' },
    variant: { type: 'string', multiple: true, default: [] },
  },
});

interface Run {
  prefillTokensPerSecond: number;
  decodeMsPerToken: number;
  verifyMs?: number;
  verifyPerStep?: number;
  loadMs: number;
  peakRssBytes: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function run(flags: string[]): Run {
  const args = ['--import', 'tsx', path.join(__dirname, 'profile.ts'), '--json', '--no-profile',
    '--context', values.context!, '--steps', values.steps!,
    ...(values.model ? ['--model', values.model] : ['--preset', values.preset!]),
    ...(values.threads ? ['--threads', values.threads] : []), ...flags];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`profile.ts ${flags.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

function main(): void {
  const variants = values.variant!.map((v) => {
    const at = v.indexOf('=');
    return at < 0 ? { name: v, flags: [] } : { name: v.slice(0, at), flags: v.slice(at + 1).split(/\s+/).filter(Boolean) };
  });
  if (variants.length === 0) throw new Error("give at least one --variant 'name=flags'");
  const runs = new Map<string, Run[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < Number(values.repeats); r++) {
    for (const v of variants) {
      const x = run(v.flags);
      runs.get(v.name)!.push(x);
      process.stderr.write(`  run ${r + 1} ${v.name}: prefill ${x.prefillTokensPerSecond.toFixed(1)} tok/s, decode ${x.decodeMsPerToken.toFixed(1)} ms, ` +
        `verify 1+8 ${x.verifyMs?.toFixed(1)} ms\n`);
    }
  }
  const list = (xs: number[], d: number) => `${median(xs).toFixed(d)} (${xs.map((x) => x.toFixed(d)).join(' / ')})`;
  console.log(`\nA/B, context ${values.context}, ${values.steps} decode steps, medians of ${values.repeats} interleaved runs (each run's value)`);
  console.log(`  ${'variant'.padEnd(14)} | ${'prefill tok/s'.padEnd(26)} | ${'decode ms/token'.padEnd(28)} | ${'verify 1+8 ms'.padEnd(28)} | verify/step | peak RSS GB`);
  for (const v of variants) {
    const rs = runs.get(v.name)!;
    console.log(`  ${v.name.padEnd(14)} | ${list(rs.map((x) => x.prefillTokensPerSecond), 1).padEnd(26)} | ` +
      `${list(rs.map((x) => x.decodeMsPerToken), 1).padEnd(28)} | ${list(rs.map((x) => x.verifyMs ?? NaN), 1).padEnd(28)} | ` +
      `${median(rs.map((x) => x.verifyPerStep ?? NaN)).toFixed(2).padStart(11)} | ${(median(rs.map((x) => x.peakRssBytes)) / 1e9).toFixed(2)}`);
  }
  console.log(JSON.stringify(Object.fromEntries(runs)));
}

main();
