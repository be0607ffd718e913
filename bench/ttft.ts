// npm run bench:ttft -- [--preset phi4-mini | --model DIR] [--repeats 5] [--threads N] [--flows a,b,c,d,e,f] [--json FILE]
// Time to the first token of the flows users wait on, with the engine's caches (a KV slot per feature, prompt heads
// on disk, requests running at once) and with every cache disabled, in one run, median of --repeats:
//   a  a new chat with the workspace tools, right after a restart (the engine loaded anew): asked at once (its head
//      read from disk by the request), and asked after the warm-up the extension runs after each load
//   b  a second new chat in the same session
//   c  a follow-up turn of the first chat
//   d  an inline completion at a new place, and the next keystroke there (typing), with the window the extension sizes
//      from the prefill speed measured after the load (extension/inline/completionWindow.ts; --full-window: the sidecar's
//      768 + 256 tokens)
//   e  an explanation of a selection
//   f  an explanation asked while a long chat answer streams
// "Disabled" runs each request on an engine loaded for it alone, with no prompt-cache folder (nothing in memory,
// nothing on disk), and (f) with one request at a time, as the engine was before. The engine is the real one (its
// worker thread, the native backend where it loads); the prompts are the extension's own (its system prompts and the
// registry's tool definitions). A model with random weights writes gibberish, so each measured request asks for one
// token: the wait before it is what is measured (a long answer in (f) is generated past its eos tokens).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { SYSTEM_PROMPT, TOOLS_SYSTEM_PROMPT } from '../extension/chat/conversation';
import { Engine } from '../sidecar/engine/engine';
import type { GenerateRequest } from '../sidecar/engine/generate';
import { buildCompletionPrompt } from '../sidecar/completions/completionPrompt';
import { completionWindow } from '../extension/inline/completionWindow';
import type { ChatMessage } from '../sidecar/protocol';
import { ensureModel } from '../test/fixtures/models';
import type { ModelPresetName } from '../test/fixtures/modelPresets';
import { ORDERS_SOURCE } from './ordersSource';
import { median } from './median';
import { workspaceToolDefinitions } from './workspaceTools';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    preset: { type: 'string', default: 'phi4-mini' },
    repeats: { type: 'string', default: '5' },
    threads: { type: 'string' },
    ep: { type: 'string', default: 'cpu' },
    flows: { type: 'string', default: 'a,b,c,d,e,f' },
    'answer-tokens': { type: 'string', default: '48' },
    'full-window': { type: 'boolean', default: false },
    'timeout-ms': { type: 'string', default: '4000' },
    json: { type: 'string' },
  },
});

const repeats = Math.max(1, Number(values.repeats));
const threads = values.threads ? Number(values.threads) : undefined;
const flows = new Set(values.flows!.split(','));
const answerTokens = Number(values['answer-tokens']);
const dir = values.model ?? ensureModel(values.preset as ModelPresetName);
const tools = workspaceToolDefinitions();
const now = () => performance.now();

const QUESTIONS = ['What does main.ts do?', 'Where are settings read?', 'How is a tool call checked?', 'Why is the worker a thread?', 'What runs on activation?'];
const FOLLOW_UPS = ['And where is it tested?', 'Show me the file.', 'Which function is the slowest?', 'Can it run offline?', 'What should I change first?'];
const ANSWER = 'main.ts is the extension\'s entry point: it creates the sidecar client, the model manager and the chat view, and registers the commands.';

/** The file completed in and explained (the one bench/completionLatency.ts completes in). */
const SOURCE = ORDERS_SOURCE;
const SELECTION = SOURCE.split('\n').slice(5, 35).join('\n');

const chatSystem: ChatMessage = { role: 'system', content: TOOLS_SYSTEM_PROMPT };
const chat = (question: string): GenerateRequest => ({ messages: [chatSystem, { role: 'user', content: question }], tools, slot: 'chat' });
const followUp = (i: number): GenerateRequest => ({
  messages: [chatSystem, { role: 'user', content: QUESTIONS[i % 5] }, { role: 'assistant', content: ANSWER }, { role: 'user', content: FOLLOW_UPS[i % 5] }],
  tools, slot: 'chat',
});
const explain = (i: number): GenerateRequest => ({
  messages: [{ role: 'system', content: SYSTEM_PROMPT }, { role: 'user', content: `Explain this code${i ? ` (${i})` : ''}:\n\`\`\`typescript\n${SELECTION}\n\`\`\`` }],
  slot: 'explain',
});
/** The completion window (tokens before and after the cursor); set from the first load's measured prefill speed. */
let window: { maxPrefixTokens?: number; maxSuffixTokens?: number } = {};

/**
 * A completion on line `line` of SOURCE after its first `at` characters, with `typed` more characters typed there
 * (typing inserts before the cursor: the code after it stays as it was).
 */
function completion(line: number, at: number, typed = 0): GenerateRequest {
  const lines = SOURCE.split('\n');
  const before = [...lines.slice(0, line), lines[line].slice(0, at + typed)].join('\n');
  const after = [lines[line].slice(at), ...lines.slice(line + 1)].join('\n');
  const p = buildCompletionPrompt({ languageId: 'typescript', fileName: 'orders.ts', prefix: before, suffix: after, ...window });
  return { messages: p.messages, assistantPrefix: p.assistantPrefix, slot: 'completion', priority: 'background' };
}

async function loaded(cacheDir: string | undefined, maxRunning?: number): Promise<{ engine: Engine; loadMs: number }> {
  const engine = new Engine({ prefixCacheDir: cacheDir }, maxRunning);
  const t = now();
  await engine.load({ dir, executionProvider: values.ep as 'cpu', threads });
  return { engine, loadMs: now() - t };
}

/** Wall time from the request to its one token. */
async function firstToken(engine: Engine, request: GenerateRequest): Promise<number> {
  const t = now();
  await engine.generate({ ...request, maxNewTokens: 1, sampling: { temperature: 0 } }, { priority: request.priority === 'background' ? 'background' : 'interactive' });
  return now() - t;
}

/** (f): a long answer streams; after its 4th token an explanation is asked; the explanation's wait. */
async function whileStreaming(engine: Engine, i: number): Promise<{ ms: number; answerLeftMs: number }> {
  let asked: Promise<number> | undefined;
  let answerEnd = 0;
  const answer = engine.generate({ ...chat(QUESTIONS[i % 5]), maxNewTokens: answerTokens, stopOnEos: false, sampling: { temperature: 0 } }, {
    onText: (_t, tokens) => { if (tokens >= 4 && !asked) asked = firstToken(engine, explain(i + 100)); },
  }).then(() => { answerEnd = now(); });
  await answer;
  const ms = await (asked ?? Promise.resolve(NaN));
  const explainedAt = now();
  return { ms, answerLeftMs: answerEnd - explainedAt };
}

type Row = { flow: string; cached: number[]; disabled: number[] };
const rows = new Map<string, Row>();
const record = (flow: string, kind: 'cached' | 'disabled', ms: number) => {
  const row = rows.get(flow) ?? { flow, cached: [], disabled: [] };
  row[kind].push(ms);
  rows.set(flow, row);
};

(async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-ttft-'));
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`model ${dir}, ${tools.length} tool definitions, repeats ${repeats}, flows ${[...flows].join(',')}`);
  let cacheBytes = 0;
  try {
    // The heads stored once, as a first session after installing would (not measured).
    {
      const { engine } = await loaded(cacheDir);
      await engine.prefillMeasured; // after the load, as the extension hears it
      const sized = completionWindow(engine.model?.prefillTokensPerSecond, Number(values['timeout-ms']));
      if (sized && !values['full-window']) window = { maxPrefixTokens: sized.maxPrefixTokens, maxSuffixTokens: sized.maxSuffixTokens };
      log(`prefill ${engine.model?.prefillTokensPerSecond?.toFixed(1)} tokens/s after the load: completion window ${window.maxPrefixTokens ?? 768} + ${window.maxSuffixTokens ?? 256} tokens` +
        `${sized && !sized.fits ? ' (the smallest: this machine is too slow for completions within the cap, the extension says so)' : ''}`);
      await engine.warm({ slot: 'chat', messages: [chatSystem], tools });
      await engine.warm({ slot: 'explain', messages: [{ role: 'system', content: SYSTEM_PROMPT }] });
      await engine.dispose();
    }
    for (let i = 0; i < repeats; i++) {
      // With the caches: a restart, then the flows one after another in that session.
      if (flows.has('a')) {
        const { engine: e } = await loaded(cacheDir);
        await e.warm({ slot: 'chat', messages: [chatSystem], tools });
        record('a … after the post-load warm-up', 'cached', await firstToken(e, chat(QUESTIONS[i % 5])));
        await e.dispose();
      }
      const { engine } = await loaded(cacheDir);
      if (flows.has('a')) record('a new chat with tools, after a restart', 'cached', await firstToken(engine, chat(QUESTIONS[i % 5])));
      if (flows.has('b')) record('b second new chat', 'cached', await firstToken(engine, chat(QUESTIONS[(i + 1) % 5])));
      if (flows.has('c')) {
        await firstToken(engine, chat(QUESTIONS[i % 5])); // the first chat's prompt in the chat slot, as after its answer
        record('c follow-up turn', 'cached', await firstToken(engine, followUp(i)));
      }
      if (flows.has('d')) {
        record('d completion at a new place', 'cached', await firstToken(engine, completion(8 + 6 * i, 2)));
        record('d completion while typing', 'cached', await firstToken(engine, completion(8 + 6 * i, 2, 1)));
      }
      if (flows.has('e')) record('e explanation', 'cached', await firstToken(engine, explain(i)));
      if (flows.has('f')) {
        const f = await whileStreaming(engine, i);
        record('f explanation while an answer streams', 'cached', f.ms);
      }
      cacheBytes = Math.max(cacheBytes, engine.cacheStatus?.bytes ?? 0);
      await engine.dispose();

      // Every cache disabled: each request on an engine of its own, no cache folder, one request at a time.
      const cold = async (flow: string, request: GenerateRequest) => {
        const { engine: e } = await loaded(undefined, 1);
        record(flow, 'disabled', await firstToken(e, request));
        await e.dispose();
      };
      if (flows.has('a')) {
        const { engine: e } = await loaded(undefined, 1);
        const ms = await firstToken(e, chat(QUESTIONS[i % 5]));
        record('a new chat with tools, after a restart', 'disabled', ms);
        record('a … after the post-load warm-up', 'disabled', ms); // no warm-up without caches: the same cold request
        await e.dispose();
      }
      if (flows.has('b')) await cold('b second new chat', chat(QUESTIONS[(i + 1) % 5]));
      if (flows.has('c')) await cold('c follow-up turn', followUp(i));
      if (flows.has('d')) {
        await cold('d completion at a new place', completion(8 + 6 * i, 2));
        await cold('d completion while typing', completion(8 + 6 * i, 2, 1));
      }
      if (flows.has('e')) await cold('e explanation', explain(i));
      if (flows.has('f')) {
        const { engine: e } = await loaded(undefined, 1);
        record('f explanation while an answer streams', 'disabled', (await whileStreaming(e, i)).ms);
        await e.dispose();
      }
      log(`repeat ${i + 1}/${repeats} done`);
      // The medians so far, after each repeat: a long run stopped early still says what it measured.
      if (i + 1 < repeats) report(i + 1, (line) => log(line));
    }
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
  report(repeats, (line) => console.log(line));

  function report(done: number, print: (line: string) => void): void {
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    print(`Time to first token (median of ${done}; ${os.cpus()[0]?.model ?? 'CPU'}, ${os.availableParallelism()} threads; model ${path.basename(dir)})`);
    print('flow                                        | caches on | every cache disabled | ratio');
    print('--------------------------------------------|-----------|----------------------|------');
    const out = [...rows.values()].map((r) => ({ flow: r.flow, cachedMs: median(r.cached), disabledMs: median(r.disabled) }));
    for (const r of out) print(`${r.flow.padEnd(44)}| ${s(r.cachedMs).padStart(9)} | ${s(r.disabledMs).padStart(20)} | ${(r.cachedMs / r.disabledMs).toFixed(3)}`);
    print(`KV caches held at most ${(cacheBytes / 2 ** 20).toFixed(0)} MiB (no budget set here).`);
    if (values.json) fs.writeFileSync(values.json, JSON.stringify({ repeats: done, model: dir, rows: out, raw: [...rows.values()], cacheBytes }, null, 2));
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
