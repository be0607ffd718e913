// `npm run bench -- --engine remote`: the remote engine (sidecar/remote/) timed against an OpenAI-compatible server.
//
// With `--url http://host:port/v1` [--model-id M]: the server there, as a client sees it: first token, and decode
// speed as the server streams the tokens (median of the repeats, after one warm-up request). The API key, if the
// server wants one, comes from PHI_LOCAL_API_KEY.
//
// With `--model DIR` (or `--preset tiny`) and no --url: what the HTTP path costs. `phi-local serve` is started in this
// process on that model (127.0.0.1, a free port), and the same request is run, interleaved, in-process (the Engine
// directly) and through HTTP with each of the remote engine's APIs (RemoteEngine → serve → the same Engine; chat and
// completions): greedy, one fixed chat prompt, the same token
// limit, so both paths run the same tokens through the same model (the texts are compared). Both are timed from the
// caller's side of `generate` (first streamed text, end). After one warm-up per path the engine reuses the cached
// prompt, so every timed request prefills the same single token. Reported: per path, and the overhead as the median
// of the paired differences (remote − in-process) of decode ms per token and of the first token.
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../sidecar/engine/engine';
import type { ExecutionProviderChoice } from '../sidecar/engine/executionProvider';
import type { GenerationRequest, GenerationResult, InferenceEngine } from '../sidecar/inferenceEngine';
import type { ModelInfo } from '../sidecar/protocol';
import { RemoteEngine } from '../sidecar/remote/remoteEngine';
import { serveOpenAi } from '../sidecar/serve/openaiServer';
import { median } from './median';

export interface RemoteBenchOptions {
  /** The server to time (its OpenAI base URL); without it, serve is started in-process on `model`. */
  url?: string;
  /** The model folder to serve in-process (no `url`). */
  model?: string;
  /** The model id to ask the server for (default: the first it lists; in-process: the folder's name). */
  modelId?: string;
  apiKey?: string;
  steps: number;
  repeats: number;
  ep: string;
  threads?: number;
}

/** One fixed prompt that asks for a long answer, so that a real model too runs to the token limit. */
const PROMPT = 'Count from 1 to 1000 in English words, one number per line, and write nothing else.';

interface Sample {
  /** From the call to the first streamed text. */
  firstTokenMs: number;
  /** From the call until generate resolved. */
  totalMs: number;
  tokens: number;
  promptTokens: number;
  /** Tokens after the first per second, from the first streamed text to the end. */
  decodeTokensPerSecond: number;
  decodeMsPerToken: number;
  pieces: number;
  text: string;
  finishReason: GenerationResult['finishReason'];
  drafted?: number;
}

async function timed(engine: InferenceEngine, request: GenerationRequest): Promise<Sample> {
  let first = 0;
  let pieces = 0;
  const t0 = performance.now();
  const r = await engine.generate(request, { onText: () => { if (!pieces++) first = performance.now(); } });
  const end = performance.now();
  if (r.interrupted) throw new Error(`the stream broke: ${r.interrupted}`);
  if (!pieces) first = end;
  const tokens = r.usage.completionTokens;
  const decodeMs = end - first;
  return {
    firstTokenMs: first - t0, totalMs: end - t0, tokens, promptTokens: r.usage.promptTokens,
    decodeTokensPerSecond: tokens > 1 && decodeMs > 0 ? ((tokens - 1) * 1000) / decodeMs : 0,
    decodeMsPerToken: decodeMs / Math.max(1, tokens - 1),
    pieces, text: r.text, finishReason: r.finishReason,
    drafted: (r.usage as { draftedTokens?: number }).draftedTokens,
  };
}

const fmt = (x: number | null, width: number, digits = 1) => (x === null ? '—' : x.toFixed(digits)).padStart(width);
const LABEL = 27;
const HEADER = `  ${'backend (EP)'.padEnd(LABEL)} | context |  load s | first token ms | prefill tok/s | decode tok/s | decode ms/tok | peak RSS GB`;
const RULE = `  ${'-'.repeat(LABEL)}-|---------|---------|----------------|---------------|--------------|---------------|------------`;

/** A row as the other backends' rows are printed (context: the prompt's tokens; no prefill speed or RSS: not ours to see). */
function row(label: string, info: ModelInfo, samples: Sample[], peakRssGB: number | null): string {
  return `  ${label.padEnd(LABEL)} | ${String(median(samples.map((s) => s.promptTokens))).padStart(7)} | ${fmt(info.loadMs / 1000, 7, 2)} | ` +
    `${fmt(median(samples.map((s) => s.firstTokenMs)), 14)} | ${fmt(null, 13)} | ` +
    `${fmt(median(samples.map((s) => s.decodeTokensPerSecond)), 12, 2)} | ${fmt(median(samples.map((s) => s.decodeMsPerToken)), 13, 2)} | ` +
    `${fmt(peakRssGB, 11, 2)}`;
}

function summary(samples: Sample[]) {
  return {
    promptTokens: median(samples.map((s) => s.promptTokens)),
    generated: median(samples.map((s) => s.tokens)),
    timeToFirstTokenMs: median(samples.map((s) => s.firstTokenMs)),
    decodeTokensPerSecond: median(samples.map((s) => s.decodeTokensPerSecond)),
    decodeMsPerToken: median(samples.map((s) => s.decodeMsPerToken)),
    totalMs: median(samples.map((s) => s.totalMs)),
    finishReasons: [...new Set(samples.map((s) => s.finishReason))],
    runs: samples.length,
  };
}

const progress = (line: string) => process.stderr.write(`  ${line}\n`);
const describe = (s: Sample) => `first token ${s.firstTokenMs.toFixed(1)} ms, ${s.tokens} tokens at ${s.decodeTokensPerSecond.toFixed(1)} tok/s ` +
  `(${s.decodeMsPerToken.toFixed(2)} ms/token)`;

/** --url: the server there, through the remote engine. */
async function againstServer(options: RemoteBenchOptions & { url: string }, request: GenerationRequest): Promise<unknown> {
  const remote = new RemoteEngine({ url: options.url, model: options.modelId, apiKey: options.apiKey });
  const info = await remote.load({ dir: '' });
  progress(`warm-up: ${describe(await timed(remote, request))}`);
  const samples: Sample[] = [];
  for (let r = 0; r < options.repeats; r++) {
    const s = await timed(remote, request);
    samples.push(s);
    progress(`run ${r + 1}/${options.repeats}: ${describe(s)}`);
  }
  const result = summary(samples);
  console.log(`\nPhi Local benchmark — the remote engine against ${info.dir}, median of ${options.repeats} runs after a warm-up, ` +
    `greedy, at most ${options.steps} tokens, one fixed chat prompt (${result.promptTokens} tokens by the server's count), streamed`);
  console.log(`  first token: from the request to the first streamed text; decode: tokens after the first (the server's usage count) ` +
    `per second until the stream ended; load: GET /v1/models.`);
  console.log(`\n${HEADER}\n${RULE}`);
  console.log(row(info.executionProvider, info, samples, null));
  if (result.generated < options.steps) console.log(`  (the server stopped after ${result.generated} tokens: ${result.finishReasons.join(', ')})`);
  return { engine: 'remote', url: options.url, model: info.dir, loadMs: info.loadMs, steps: options.steps, prompt: PROMPT, remote: result };
}

type PathName = 'in-process' | 'http chat' | 'http completions';

/** No --url: serve in this process on the model, and the same requests in-process and through HTTP, interleaved. */
async function overhead(options: RemoteBenchOptions & { model: string }, request: GenerationRequest): Promise<unknown> {
  const engine = new Engine();
  const local = await engine.load({
    dir: options.model, executionProvider: options.ep as ExecutionProviderChoice, threads: options.threads,
    contextLength: Math.min(4096, 1024 + options.steps),
  });
  const modelId = options.modelId ?? path.basename(path.resolve(options.model));
  const server = await serveOpenAi(engine, { port: 0, modelId, maxNewTokens: options.steps });
  try {
    // The remote engine's two APIs: chat (the server renders the prompt) and completions (Phi-4's prompt rendered
    // here from the model folder's tokenizer files, sent as token ids).
    const chat = new RemoteEngine({ url: server.url, model: modelId, api: 'chat' });
    const completions = new RemoteEngine({ url: server.url, model: modelId, api: 'completions', tokenizerDir: options.model });
    const infos = { 'in-process': local, 'http chat': await chat.load({ dir: '' }), 'http completions': await completions.load({ dir: '' }) };
    const paths: Record<PathName, InferenceEngine> = { 'in-process': engine, 'http chat': chat, 'http completions': completions };
    const names = Object.keys(paths) as PathName[];
    // Warm-up: one-time costs (buffers, the connection, the prompt's first prefill, which all then reuse).
    for (const name of names) progress(`warm-up ${name}: ${describe(await timed(paths[name], request))}`);
    const runs: Record<PathName, Sample>[] = [];
    for (let r = 0; r < options.repeats; r++) {
      // Rotating which goes first, so that none always runs right after another.
      const order = names.map((_, i) => names[(i + r) % names.length]);
      const got = {} as Record<PathName, Sample>;
      for (const name of order) got[name] = await timed(paths[name], request);
      runs.push(got);
      progress(`run ${r + 1}/${options.repeats}: ${names.map((n) => `${n} ${describe(got[n])}`).join('; ')}`);
      for (const name of names) {
        if (got[name].text !== got['in-process'].text || got[name].tokens !== got['in-process'].tokens) {
          throw new Error(`${name} generated another answer than in-process (${got[name].tokens} and ${got['in-process'].tokens} tokens): ` +
            'greedy decoding of the same prompt should not differ, so they did not do the same work.');
        }
      }
    }
    const summaries = Object.fromEntries(names.map((n) => [n, summary(runs.map((x) => x[n]))])) as Record<PathName, ReturnType<typeof summary>>;
    const overheadOf = (name: PathName) => {
      const diff = (f: (s: Sample) => number) => median(runs.map((x) => f(x[name]) - f(x['in-process'])));
      return {
        perToken: diff((s) => s.decodeMsPerToken),
        firstToken: diff((s) => s.firstTokenMs),
        /** The whole request's extra time spread over its tokens (the stream's end and the request's start included). */
        perTokenWholeRequest: median(runs.map((x) => (x[name].totalMs - x['in-process'].totalMs) / Math.max(1, x[name].tokens))),
      };
    };
    const overheadMs = { chat: overheadOf('http chat'), completions: overheadOf('http completions') };
    const inProcess = summaries['in-process'];
    const drafted = runs[0]['in-process'].drafted ?? 0;
    console.log(`\nPhi Local benchmark — the HTTP path's overhead: phi-local serve in this process (${server.url}) on ` +
      `${local.dir}\n  ${local.executionProvider} (${local.backend}), ${options.threads ? `${options.threads} threads` : "ONNX Runtime's default threads"}, ` +
      `${os.cpus().length} CPUs; median of ${options.repeats} rotated rounds after a warm-up per path`);
    console.log(`  Each round runs the same request on each path: in-process (Engine.generate), and over HTTP with each of the remote ` +
      `engine's APIs (chat: POST /v1/chat/completions; completions: Phi-4's prompt rendered here, POST /v1/completions with token ids; ` +
      `streamed, to the same Engine): greedy, one fixed chat prompt of ${inProcess.promptTokens} tokens ` +
      `(cached after the warm-up: each request prefills 1 token), ${inProcess.generated} tokens generated, identical texts. ` +
      `Times from the caller's side: first token = to the first streamed text, decode ms/token = from it to the end, per token after the first. ` +
      `Load: the model's for in-process, GET /v1/models for http. ` +
      `Speculative decoding as serve runs it (the engine's default): ${drafted} tokens drafted per request.`);
    console.log(`\n${HEADER}\n${RULE}`);
    for (const name of names) console.log(row(`${name} (${local.executionProvider})`, infos[name], runs.map((x) => x[name]), null));
    for (const [api, o] of Object.entries(overheadMs)) {
      console.log(`\n  HTTP overhead, ${api} API (remote − in-process, median of the rounds): ${o.perToken.toFixed(3)} ms per token ` +
        `(target ≤ 5 ms: ${o.perToken <= 5 ? 'met' : 'NOT met'}), first token ${o.firstToken.toFixed(2)} ms, ` +
        `whole request ${o.perTokenWholeRequest.toFixed(3)} ms per token`);
    }
    return {
      engine: 'remote', mode: 'overhead', model: path.resolve(local.dir), url: server.url, backend: local.backend,
      executionProvider: local.executionProvider, threads: options.threads ?? null, steps: options.steps, prompt: PROMPT,
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
      inProcess, httpChat: summaries['http chat'], httpCompletions: summaries['http completions'], overheadMs, draftedTokensPerRequest: drafted,
    };
  } finally {
    await server.close();
    await engine.dispose();
  }
}

export async function benchRemote(options: RemoteBenchOptions): Promise<unknown> {
  const request: GenerationRequest = {
    messages: [{ role: 'user', content: PROMPT }], maxNewTokens: options.steps, sampling: { temperature: 0 },
  };
  if (options.url) return againstServer({ ...options, url: options.url }, request);
  if (!options.model) throw new Error('--engine remote needs --url (a server to time) or --model/--preset (to serve in-process)');
  return overhead({ ...options, model: options.model }, request);
}
