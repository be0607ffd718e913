// One benchmark measurement in a process of its own, so that its peak RSS is its own: load the model,
// prefill a prompt of `--context` tokens from a cold cache, decode `--steps` tokens, print JSON.
import { parseArgs } from 'node:util';
import { Engine } from '../sidecar/engine/engine';
import type { BackendChoice } from '../sidecar/engine/backendChoice';
import type { ExecutionProviderChoice } from '../sidecar/engine/executionProvider';
import { seededRandom } from '../sidecar/engine/sampling';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    context: { type: 'string', default: '512' },
    steps: { type: 'string', default: '32' },
    ep: { type: 'string', default: 'cpu' },
    threads: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    graph: { type: 'string', default: 'rewritten' },
  },
});

async function main(): Promise<void> {
  const context = Number(values.context);
  const steps = Number(values.steps);
  const engine = new Engine();
  const info = await engine.load(values.model!, {
    executionProvider: values.ep as ExecutionProviderChoice,
    backend: values.backend as BackendChoice,
    rewriteGraph: values.graph !== 'official',
    threads: values.threads ? Number(values.threads) : undefined,
    contextLength: context + steps + 16,
  });
  const rssAfterLoad = process.memoryUsage().rss;
  // Ordinary token ids (below the special ones), the same for every run.
  const random = seededRandom(context);
  const promptIds = Array.from({ length: context }, () => Math.floor(random() * 199_000));
  const result = await engine.generate({ messages: [], promptIds, maxNewTokens: steps, stopOnEos: false });
  await engine.dispose();
  const out = {
    context, steps, executionProvider: info.executionProvider, backend: info.backend, graph: values.graph,
    loadMs: info.loadMs,
    timeToFirstTokenMs: result.timings.timeToFirstTokenMs,
    prefillTokensPerSecond: result.timings.prefillTokensPerSecond,
    decodeTokensPerSecond: result.timings.decodeTokensPerSecond,
    decodeMsPerToken: result.timings.decodeMs / Math.max(1, result.usage.completionTokens - 1),
    generated: result.usage.completionTokens,
    rssAfterLoadBytes: rssAfterLoad,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
