// One benchmark measurement in a process of its own, so that its peak RSS is its own: load the model,
// prefill a prompt of `--context` tokens from a cold cache, decode `--steps` tokens, print JSON.
// It runs the engine's own generation loop (Generator) in this thread, without the worker the sidecar uses, so
// that speculative decoding can be left off (`--speculative` turns it on): a random-weight model's greedy output
// repeats itself, which would make drafting look better than on real text, and llama.cpp does not draft.
// `--fill synthetic`: decode after a KV cache of `--context` positions filled with made-up values instead of a real
// prefill (./syntheticFill.ts); decode speed does not depend on the cached values. No first-token or prefill figures then.
import { parseArgs } from 'node:util';
import { createBackend, type BackendChoice } from '../sidecar/engine/backendChoice';
import type { ExecutionProviderChoice } from '../sidecar/engine/executionProvider';
import { Generator } from '../sidecar/engine/generate';
import { readModelFolder } from '../sidecar/engine/modelFolder';
import { PromptBuilder } from '../sidecar/prompt/promptBuilder';
import { Sampler, seededRandom } from '../sidecar/engine/sampling';
import { fillKvCache } from './syntheticFill';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    context: { type: 'string', default: '512' },
    steps: { type: 'string', default: '32' },
    ep: { type: 'string', default: 'cpu' },
    threads: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    graph: { type: 'string', default: 'rewritten' },
    fill: { type: 'string', default: 'real' },
    speculative: { type: 'boolean', default: false },
  },
});

async function main(): Promise<void> {
  const context = Number(values.context);
  const steps = Number(values.steps);
  if (values.fill !== 'real' && values.fill !== 'synthetic') throw new Error(`--fill must be real or synthetic, not ${values.fill}`);
  const started = performance.now();
  const folder = readModelFolder(values.model!);
  const prompts = PromptBuilder.fromFolder(folder);
  const contextLength = context + steps + 16;
  const { backend } = await createBackend(folder, {
    executionProvider: values.ep as ExecutionProviderChoice,
    backend: values.backend as BackendChoice,
    rewriteGraph: values.graph !== 'official',
    threads: values.threads ? Number(values.threads) : undefined,
    contextLength,
  });
  const generator = new Generator(backend, prompts, folder.config, { contextLength, speculative: values.speculative });
  const loadMs = performance.now() - started;
  const rssAfterLoad = process.memoryUsage().rss;
  // Ordinary token ids (below the special ones), the same for every run.
  const random = seededRandom(context);
  const promptIds = Array.from({ length: context }, () => Math.floor(random() * 199_000));

  let timings: { timeToFirstTokenMs: number | null; prefillTokensPerSecond: number | null; decodeMs: number };
  let generated: number;
  let drafted = 0;
  let accepted = 0;
  if (values.fill === 'real') {
    const result = await generator.generate({ messages: [], promptIds, maxNewTokens: steps, stopOnEos: false }, { aborted: false });
    timings = result.timings;
    generated = result.usage.completionTokens;
    drafted = result.usage.draftedTokens ?? 0;
    accepted = result.usage.acceptedDraftTokens ?? 0;
  } else {
    // The last prompt token is fed for real, as the last prefill position is; its logits give the first token.
    fillKvCache(backend, folder.config, context - 1);
    const sampler = new Sampler();
    const tokens = [...promptIds];
    let logits = await backend.forward(promptIds.slice(-1));
    let firstTokenAt = 0;
    for (generated = 0; generated < steps; generated++) {
      const next = sampler.sample(logits, tokens);
      if (generated === 0) firstTokenAt = performance.now();
      tokens.push(next);
      if (generated + 1 < steps) logits = await backend.forward([next]);
    }
    timings = { timeToFirstTokenMs: null, prefillTokensPerSecond: null, decodeMs: performance.now() - firstTokenAt };
  }
  await backend.release();
  const out = {
    context, steps, executionProvider: backend.info.executionProvider, backend: backend.info.name, graph: values.graph,
    fill: values.fill,
    loadMs,
    timeToFirstTokenMs: timings.timeToFirstTokenMs,
    prefillTokensPerSecond: timings.prefillTokensPerSecond,
    decodeTokensPerSecond: generated > 1 ? ((generated - 1) * 1000) / timings.decodeMs : 0,
    decodeMsPerToken: timings.decodeMs / Math.max(1, generated - 1),
    generated,
    draftedTokens: drafted,
    acceptedDraftTokens: accepted,
    rssAfterLoadBytes: rssAfterLoad,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
