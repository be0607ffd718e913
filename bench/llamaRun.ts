// One llama.cpp measurement in a process of its own (as ./benchRun.ts is for our engine), printing the same JSON:
// load a GGUF (test/fixtures/generateGguf.ts writes one with our model's shapes) in node-llama-cpp's prebuilt CPU
// build, prefill a prompt of `--context` tokens, decode `--steps` tokens greedily, and report the times and peak RSS.
// `getLlama({ build: 'never' })`: the prebuilt binaries in bench/llama/node_modules only (./llama/nodeLlamaCpp.ts
// installs them on first use), never a download or a source build.
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { seededRandom } from '../sidecar/engine/sampling';
import { loadNodeLlamaCpp } from './llama/nodeLlamaCpp';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    context: { type: 'string', default: '512' },
    steps: { type: 'string', default: '32' },
    threads: { type: 'string', default: '2' },
  },
});

/** Which of llama.cpp's CPU builds (haswell, zen4, …) the process loaded, from its memory map. */
function cpuVariant(): string | undefined {
  try {
    return /libggml-cpu-([\w-]+)\.so/.exec(fs.readFileSync('/proc/self/maps', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  if (!values.model) throw new Error('llamaRun: --model FILE.gguf is required');
  const context = Number(values.context);
  const steps = Number(values.steps);
  const threads = Number(values.threads);
  const { getLlama, getModuleVersion, GgmlType, LlamaLogLevel } = await loadNodeLlamaCpp();
  const llama = await getLlama({ gpu: false, build: 'never', maxThreads: threads, logLevel: LlamaLogLevel.error, progressLogs: false });
  const started = performance.now();
  const model = await llama.loadModel({ modelPath: values.model, gpuLayers: 0 });
  const llamaContext = await model.createContext({ contextSize: context + steps + 16, threads: { ideal: threads, min: threads }, sequences: 1 });
  const loadMs = performance.now() - started;
  const rssAfterLoad = process.memoryUsage().rss;
  // The same prompt benchRun.ts feeds ours, kept clear of the control and byte tokens of the GGUF's vocabulary.
  const random = seededRandom(context);
  const vocab = model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 200_064;
  const prompt = Array.from({ length: context }, () => 300 + Math.floor(random() * (Math.min(199_000, vocab) - 300)));

  const t0 = performance.now();
  let firstTokenAt = 0;
  let generated = 0;
  for await (const token of llamaContext.getSequence().evaluate(prompt, { temperature: 0 })) {
    void token;
    if (generated === 0) firstTokenAt = performance.now();
    if (++generated >= steps) break;
  }
  const end = performance.now();
  const timeToFirstTokenMs = firstTokenAt - t0;
  const decodeMs = end - firstTokenAt;
  const out = {
    context, steps, executionProvider: 'cpu', backend: 'llama.cpp', graph: 'Q4_0 GGUF', fill: 'real',
    loadMs,
    timeToFirstTokenMs,
    // The first token's sampling is inside this time; on a 200k vocabulary that is well under a millisecond.
    prefillTokensPerSecond: (context * 1000) / timeToFirstTokenMs,
    decodeTokensPerSecond: generated > 1 ? ((generated - 1) * 1000) / decodeMs : 0,
    decodeMsPerToken: decodeMs / Math.max(1, generated - 1),
    generated,
    rssAfterLoadBytes: rssAfterLoad,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    llamaCpp: {
      nodeLlamaCpp: await getModuleVersion(),
      release: llama.llamaCppRelease.release,
      build: llama.buildType,
      cpu: cpuVariant(),
      threads,
      batchSize: llamaContext.batchSize,
      flashAttention: llamaContext.flashAttention,
      kvCacheType: GgmlType[llamaContext.kvCacheKeyType],
    },
  };
  await llamaContext.dispose();
  await model.dispose();
  await llama.dispose();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
