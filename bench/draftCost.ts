// npx tsx bench/draftCost.ts [--model DIR | --preset phi4-mini] [--context 512] [--threads N]
// What verifying a speculative draft costs: one forward pass of 1 + k tokens after `context` cached ones, against a
// plain one-token step (native backend, medians of 7). Speculative decoding pays when the tokens it keeps save more
// steps than the longer pass costs; sidecar/engine/promptLookup.ts sizes its drafts from these numbers.
import { parseArgs } from 'node:util';
import { createBackend } from '../sidecar/engine/backendChoice';
import { readModelFolder } from '../sidecar/engine/modelFolder';
import { ensureModel } from '../test/fixtures/models';
import { median } from './median';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    preset: { type: 'string', default: 'phi4-mini' },
    context: { type: 'string', default: '512' },
    threads: { type: 'string' },
  },
});


async function main(): Promise<void> {
  const folder = readModelFolder(values.model ?? ensureModel(values.preset as 'tiny' | 'phi4-mini'));
  const context = Number(values.context);
  const { backend } = await createBackend(folder, {
    backend: 'native', executionProvider: 'cpu', contextLength: context + 64,
    threads: values.threads ? Number(values.threads) : undefined,
  });
  try {
    const ids = Array.from({ length: context }, (_, i) => 1000 + ((i * 7919) % 50_000));
    for (let i = 0; i < context; i += 256) await backend.forward(ids.slice(i, i + 256));
    let step = 0;
    for (const k of [0, 1, 2, 4, 8]) {
      const times: number[] = [];
      for (let r = 0; r < 7; r++) {
        backend.truncate(context);
        const t = performance.now();
        await backend.forward(ids.slice(0, k + 1), { allPositions: k > 0 });
        times.push(performance.now() - t);
      }
      const ms = median(times);
      if (k === 0) step = ms;
      console.log(`context ${context}: 1 + ${k} drafted token(s): ${ms.toFixed(1)} ms = ${(ms / step).toFixed(2)}× a plain step` +
        (k > 0 ? `; all kept: ${(((k + 1) * step) / ms).toFixed(2)}× plain decode speed` : ''));
    }
  } finally {
    await backend.release();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.message ?? e}\n`);
  process.exit(1);
});
