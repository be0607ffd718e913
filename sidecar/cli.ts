#!/usr/bin/env node
// phi-local: the engine from a terminal, with no VS Code.
//   phi-local chat --model DIR ["prompt"]          one answer, or an interactive chat without a prompt
//   phi-local prompt --model DIR conversation.json  the exact prompt text and token ids for {messages, tools}
//   phi-local serve --model DIR                     an OpenAI-compatible endpoint (serve/openaiServer.ts)
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { parseArgs } from 'node:util';
import { Engine } from './engine/engine';
import { EngineError } from './engineError';
import { EXECUTION_PROVIDER_CHOICES, type ExecutionProviderChoice } from './protocol';
import type { GenerateRequest, GenerateResult } from './engine/generate';
import { readModelFolder } from './engine/modelFolder';
import { PromptBuilder } from './prompt/promptBuilder';
import type { SamplingOptions } from './engine/sampling';
import type { ChatMessage, ToolDefinition } from './prompt/template';
import { serveOpenAi } from './serve/openaiServer';

const USAGE = `Usage:
  phi-local chat --model DIR ["prompt"]           answer one prompt; without one, chat interactively
  phi-local prompt --model DIR conversation.json  print the prompt text and token ids for {messages, tools}
  phi-local serve --model DIR                     serve it at an OpenAI-compatible endpoint (/v1/models,
                                                  /v1/chat/completions with tools and streaming)

Options for chat:
  --ep ${EXECUTION_PROVIDER_CHOICES.join('|').padEnd(27)}execution provider (default auto: the best one that loads)
  --threads N                     threads per operator (default: ONNX Runtime's choice)
  --context N                     context length to allow (default: the model's)
  --max-tokens N                  tokens to generate at most (default 512)
  --temperature T                 0 = greedy (default); otherwise sample
  --top-k K  --top-p P  --repetition-penalty R  --seed S
  --system TEXT                   a system message
  --json                          print the result as JSON instead of streaming text

Options for serve (and --ep, --threads, --context as for chat):
  --host H        address to listen on (default 127.0.0.1; any other needs an API key)
  --port P        default 8000
  --api-key K     require Authorization: Bearer K (or set PHI_LOCAL_API_KEY)
  --model-id ID   the name clients use (default: the model folder's name)

In the interactive chat: /new starts over, /exit (or Ctrl+D) quits, Ctrl+C stops the answer being written.`;

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string', short: 'm' },
    ep: { type: 'string', default: 'auto' },
    threads: { type: 'string' },
    context: { type: 'string' },
    'max-tokens': { type: 'string', default: '512' },
    temperature: { type: 'string', default: '0' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    'repetition-penalty': { type: 'string' },
    seed: { type: 'string' },
    system: { type: 'string' },
    json: { type: 'boolean', default: false },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8000' },
    'api-key': { type: 'string' },
    'model-id': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));

function fail(message: string): never {
  process.stderr.write(`phi-local: ${message}\n`);
  process.exit(2);
}

function modelDir(): string {
  if (!opts.model) fail('--model DIR is required (a folder in the format of microsoft/Phi-4-mini-instruct-onnx).');
  return opts.model;
}

function speedLine(r: GenerateResult, provider: string): string {
  const t = r.timings;
  return `${r.usage.completionTokens} tokens · ${t.decodeTokensPerSecond.toFixed(1)} tok/s · ` +
    `first token ${Math.round(t.timeToFirstTokenMs)} ms · prefill ${r.usage.promptTokens - r.usage.reusedTokens} tokens ` +
    `at ${t.prefillTokensPerSecond.toFixed(1)} tok/s (${r.usage.reusedTokens} reused) · ${provider} · ${r.finishReason}`;
}

/** The engine with the model of --model loaded, its load reported on stderr. */
async function loadedEngine(): Promise<{ engine: Engine; info: Awaited<ReturnType<Engine['load']>> }> {
  const ep = opts.ep as ExecutionProviderChoice;
  if (!EXECUTION_PROVIDER_CHOICES.includes(ep)) fail(`--ep must be one of ${EXECUTION_PROVIDER_CHOICES.join(', ')}.`);
  const engine = new Engine();
  const info = await engine.load({
    dir: modelDir(),
    executionProvider: ep, threads: num(opts.threads), contextLength: num(opts.context),
    onProgress: (m) => process.stderr.write(`${m}…\n`),
  });
  for (const f of info.fallbacks) process.stderr.write(`(${f.provider} not used: ${f.reason})\n`);
  if (info.backendReason) process.stderr.write(`(native backend not used: ${info.backendReason})\n`);
  for (const w of info.warnings) process.stderr.write(`warning: ${w}\n`);
  process.stderr.write(`Loaded in ${(info.loadMs / 1000).toFixed(1)} s on ${info.executionProvider} (${info.backend}), context ${info.contextLength}.\n`);
  return { engine, info };
}

async function serve(): Promise<void> {
  const { engine, info } = await loadedEngine();
  const server = await serveOpenAi(engine, {
    host: opts.host, port: num(opts.port), apiKey: opts['api-key'] ?? process.env.PHI_LOCAL_API_KEY,
    modelId: opts['model-id'] ?? path.basename(path.resolve(info.dir)),
    log: (line) => process.stderr.write(`${line}\n`),
  }).catch((e: Error) => fail(e.message));
  process.stderr.write(`Serving ${info.dir} at ${server.url} (Ctrl+C stops).\n`);
  process.stdout.write(`${server.url}\n`);
  const stop = async () => {
    await server.close();
    await engine.dispose();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function chat(): Promise<void> {
  const { engine, info } = await loadedEngine();
  const sampling: SamplingOptions = {
    temperature: num(opts.temperature), topK: num(opts['top-k']), topP: num(opts['top-p']),
    repetitionPenalty: num(opts['repetition-penalty']), seed: num(opts.seed),
  };
  const base: ChatMessage[] = opts.system ? [{ role: 'system', content: opts.system }] : [];
  const turn = async (messages: ChatMessage[], signal?: AbortSignal) => {
    const request: GenerateRequest = { messages, maxNewTokens: num(opts['max-tokens']), sampling };
    const result = await engine.generate(request, { signal, onText: opts.json ? undefined : (t) => process.stdout.write(t) });
    if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else process.stdout.write('\n');
    process.stderr.write(speedLine(result, info.executionProvider) + '\n');
    return result;
  };

  const prompt = positionals.slice(1).join(' ');
  if (prompt) {
    await turn([...base, { role: 'user', content: prompt }]);
  } else {
    await interactive(base, turn);
  }
  await engine.dispose();
}

async function interactive(base: ChatMessage[], turn: (m: ChatMessage[], s?: AbortSignal) => Promise<GenerateResult>): Promise<void> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY, prompt: '> ' });
  let messages = [...base];
  let current: AbortController | undefined;
  rl.on('SIGINT', () => {
    if (current) current.abort();
    else rl.close();
  });
  process.stderr.write('Chat with the model. /new starts over, /exit quits, Ctrl+C stops an answer.\n');
  rl.prompt();
  // Lines typed (or piped) while an answer is being written wait their turn.
  for await (const line of rl) {
    const text = line.trim();
    if (text === '/exit') break;
    if (text === '/new') {
      messages = [...base];
    } else if (text) {
      messages.push({ role: 'user', content: line });
      current = new AbortController();
      try {
        const result = await turn(messages, current.signal);
        messages.push({ role: 'assistant', content: result.text });
      } catch (e) {
        messages.pop(); // the question stays answerable: nothing half-done enters the history
        process.stderr.write(`error: ${(e as Error).message}\n`);
      } finally {
        current = undefined;
      }
    }
    rl.prompt();
  }
  rl.close();
}

function prompt(): void {
  const file = positionals[1];
  if (!file) fail('prompt needs a conversation file: {"messages": [...], "tools": [...]}');
  let conversation: { messages?: ChatMessage[]; tools?: ToolDefinition[] };
  try {
    conversation = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(`${file} is not a readable JSON file: ${(e as Error).message}`);
  }
  if (!Array.isArray(conversation.messages)) fail(`${file} has no "messages" list.`);
  const prompts = PromptBuilder.fromFolder(readModelFolder(modelDir()));
  const { text, ids } = prompts.render(conversation.messages, conversation.tools);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ text, ids, tokens: ids.length }) + '\n');
  } else {
    process.stdout.write(`${text}\n\n${ids.length} tokens:\n${ids.join(' ')}\n`);
  }
}

async function main(): Promise<void> {
  if (opts.help || positionals.length === 0) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  switch (positionals[0]) {
    case 'chat': return chat();
    case 'prompt': return prompt();
    case 'serve': return serve();
    default: fail(`unknown command "${positionals[0]}".\n${USAGE}`);
  }
}

main().catch((e) => {
  if (e instanceof EngineError) fail(e.message);
  fail((e as Error)?.stack ?? String(e));
});
