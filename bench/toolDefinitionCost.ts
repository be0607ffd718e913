// npx tsx bench/toolDefinitionCost.ts [--model DIR] [--json] [--calls N]
// What the chat panel's workspace tool definitions cost in the Phi-4 prompt, in Phi-4's own tokens (issue 17): they
// are rendered as JSON inside `<|tool|>…<|/tool|>` in the system message (sidecar/prompt/template.ts), and every one
// of those tokens is prefilled before a new chat's first token (~20–30 tokens/s on a 2-core CPU).
//
// Per tool: the whole definition as the prompt has it ({"name", "description", "parameters"} in the template's JSON
// style), its description, each parameter's description, and the rest (names, types, required, punctuation). Then
// the prompt of a two-word question with the tools (and the chat's tools system prompt) and without them, and what
// the schema keywords `additionalProperties` and `minimum` take of it.
//
// The definitions are the registry's own (bench/workspaceTools.ts).
// The tokenizer and chat template are those of a model folder (default: the generated tiny test model, which has
// Phi-4-mini's real tokenizer files).
//
// Measured 2026-12-03 (issue 17 item 3): the eight definitions took 1,072 tokens (a two-word question's prompt 1,154)
// with examples and parameter descriptions; 595 (prompt 677) after shortening them to one line per tool.
//
// --calls N: then N sampled tool calls (temperature 1, seeds 1, 2, …, a call required, constrained as the chat's are)
// on the model folder's model with these definitions in the prompt, each checked: strict JSON, `name` and
// `arguments` only, a declared tool, arguments valid against its schema (ajv, on the extension's definitions) and
// the call list taken by the sidecar's parser. The default model has random weights: it never ends a string or a number by
// itself, so only for the sampling its string and integer schemas get bounds (maxLength 16, maximum 999), as in
// test/engine/toolCallConstraint.test.ts; the checks use the unbounded definitions. What it shows is that the
// definitions compile to a grammar and every call made under it is valid; which tool a real model picks, and with
// what arguments, needs the real weights (--model <Phi-4-mini folder>, where the bounds are not added).
import { parseArgs } from 'node:util';
import Ajv from 'ajv';
import { SYSTEM_PROMPT, TOOLS_SYSTEM_PROMPT } from '../extension/chat/conversation';
import { Generator } from '../sidecar/engine/generate';
import { readModelFolder } from '../sidecar/engine/modelFolder';
import { OrtBackend } from '../sidecar/engine/ortBackend';
import { PromptBuilder } from '../sidecar/prompt/promptBuilder';
import { readPromptFiles } from '../sidecar/prompt/promptFiles';
import { pyJsonDumps } from '../sidecar/prompt/template';
import type { ToolDefinition } from '../sidecar/protocol';
import { parseToolCalls } from '../sidecar/toolCalls/toolCallParser';
import { ensureModel } from '../test/fixtures/models';
import { workspaceToolDefinitions } from './workspaceTools';

const { values } = parseArgs({ options: { model: { type: 'string' }, json: { type: 'boolean', default: false }, calls: { type: 'string' } } });

(async () => {

  const dir = values.model ?? ensureModel('tiny');
  const prompts = PromptBuilder.fromFolder(readPromptFiles(dir));
  const count = (text: string) => prompts.tokenizer.encode(text).length;

  const definitions: ToolDefinition[] = workspaceToolDefinitions();

  interface Row { tool: string; definition: number; description: number; parameters: Record<string, number>; rest: number; chars: number }
  const rows: Row[] = definitions.map((d) => {
    const json = pyJsonDumps({ name: d.name, description: d.description, parameters: d.parameters });
    const properties = ((d.parameters as { properties?: Record<string, { description?: string }> } | undefined)?.properties) ?? {};
    const parameters = Object.fromEntries(Object.entries(properties).map(([name, p]) => [name, p.description ? count(p.description) : 0]));
    const definition = count(json);
    const description = count(d.description ?? '');
    const rest = definition - description - Object.values(parameters).reduce((a, b) => a + b, 0);
    return { tool: d.name, definition, description, parameters, rest, chars: json.length };
  });

  const question = [{ role: 'user' as const, content: 'Explain recursion' }];
  const withTools = prompts.render([{ role: 'system', content: TOOLS_SYSTEM_PROMPT }, ...question], definitions).ids.length;
  const withoutTools = prompts.render([{ role: 'system', content: SYSTEM_PROMPT }, ...question]).ids.length;
  const toolsPromptSameSystem = prompts.render([{ role: 'system', content: TOOLS_SYSTEM_PROMPT }, ...question]).ids.length;
  const toolsBlock = withTools - toolsPromptSameSystem;

  if (values.json) {
    console.log(JSON.stringify({ model: dir, rows, prompt: { withTools, withoutTools, toolsBlock } }, null, 2));
    return;
  }
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(`tokenizer: ${dir}\n`);
  console.log(`${'tool'.padEnd(18)} ${pad('definition', 10)} ${pad('description', 11)} ${pad('params', 6)} ${pad('other', 5)}  parameter descriptions`);
  for (const r of rows) {
    const params = Object.entries(r.parameters).map(([n, t]) => `${n} ${t}`).join(', ') || '-';
    const paramTotal = Object.values(r.parameters).reduce((a, b) => a + b, 0);
    console.log(`${r.tool.padEnd(18)} ${pad(r.definition, 10)} ${pad(r.description, 11)} ${pad(paramTotal, 6)} ${pad(r.rest, 5)}  ${params}`);
  }
  const sum = (f: (r: Row) => number) => rows.reduce((a, r) => a + f(r), 0);
  const paramSum = sum((r) => Object.values(r.parameters).reduce((a, b) => a + b, 0));
  console.log(`${'all tools'.padEnd(18)} ${pad(sum((r) => r.definition), 10)} ${pad(sum((r) => r.description), 11)} ${pad(paramSum, 6)} ${pad(sum((r) => r.rest), 5)}`);
  console.log('(other: names, types, required, enums, bounds and the JSON around them)');
  console.log(`\nprompt of a two-word question ("${question[0].content}"):`);
  console.log(`  with the tools (tools system prompt + <|tool|> block): ${withTools} tokens`);
  console.log(`  without tools (plain system prompt):                 ${withoutTools} tokens`);
  console.log(`  the <|tool|> block alone:                            ${toolsBlock} tokens`);
  console.log(`  at 20–30 tokens/s prefill the tools add ${(toolsBlock / 30).toFixed(0)}–${(toolsBlock / 20).toFixed(0)} s before the first token`);

  // What the schema keywords that are not descriptions cost: the grammar compiles with xgrammar's strict mode (no
  // properties beyond those declared, additionalProperties or not), so that one says nothing the call can violate.
  for (const keyword of ['additionalProperties', 'minimum']) {
    const without = definitions.map((d) => ({ ...d, parameters: withoutKeyword(d.parameters, keyword) as Record<string, unknown> }));
    const tokens = prompts.render([{ role: 'system', content: TOOLS_SYSTEM_PROMPT }, ...question], without).ids.length;
    console.log(`  of it, the "${keyword}" keywords:${' '.repeat(Math.max(1, 30 - keyword.length))}${withTools - tokens} tokens`);
  }

  if (values.calls) await sampleCalls(dir, definitions, TOOLS_SYSTEM_PROMPT, Number(values.calls), !values.model);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

/** `schema` without the keyword `keyword` anywhere (a property of that name stays). */
function withoutKeyword(schema: unknown, keyword: string, isProperties = false): unknown {
  if (Array.isArray(schema)) return schema.map((x) => withoutKeyword(x, keyword));
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(Object.entries(schema)
    .filter(([k]) => isProperties || k !== keyword)
    .map(([k, v]) => [k, withoutKeyword(v, keyword, !isProperties && k === 'properties')]));
}

/** `schema` with bounds on its strings and integers (for a random-weight model, which never ends them itself). */
function bounded(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(bounded);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'enum' ? v : bounded(v)]));
  if (out.type === 'string' && out.maxLength === undefined && out.enum === undefined) out.maxLength = 16;
  if (out.type === 'integer' && out.maximum === undefined) out.maximum = 999;
  return out;
}

async function sampleCalls(dir: string, definitions: ToolDefinition[], systemPrompt: string, n: number, randomWeights: boolean): Promise<void> {
  const folder = readModelFolder(dir);
  const ort = await OrtBackend.create(folder.onnxFile, folder.config, { executionProvider: 'cpu', threads: 2 });
  const generator = new Generator(ort, PromptBuilder.fromFolder(folder), folder.config);
  const offered = randomWeights ? definitions.map((d) => ({ ...d, parameters: bounded(d.parameters) as Record<string, unknown> })) : definitions;
  const ajv = new Ajv({ strict: false });
  const validators = new Map(definitions.map((d) => [d.name, ajv.compile(d.parameters ?? {})]));
  const messages = [{ role: 'system' as const, content: systemPrompt }, { role: 'user' as const, content: 'Where is the config read?' }];
  const perTool = new Map<string, number>();
  const problems: string[] = [];
  let calls = 0;
  let valid = 0;
  let lists = 0;
  let parsed = 0;
  let promptTokens = 0;
  const t0 = performance.now();
  try {
    for (let seed = 1; calls < n; seed++) {
      const r = await generator.generate(
        { messages, tools: offered, toolChoice: 'required', maxNewTokens: 400, sampling: { temperature: 1, seed } }, { aborted: false });
      promptTokens = r.usage.promptTokens;
      lists++;
      if (r.finishReason !== 'tool-call' || !r.toolCall?.closed) {
        problems.push(`seed ${seed}: no closed call (${r.finishReason})`);
        calls++;
        continue;
      }
      let list: Array<{ name: string; arguments: unknown }>;
      try {
        list = JSON.parse(r.toolCall.text);
        if (!Array.isArray(list) || list.length === 0) throw new Error('not a non-empty list');
      } catch (e) {
        problems.push(`seed ${seed}: ${(e as Error).message}: ${r.toolCall.text}`);
        calls++;
        continue;
      }
      for (const call of list) {
        calls++;
        const validate = validators.get(call.name);
        const keysOk = JSON.stringify(Object.keys(call)) === JSON.stringify(['name', 'arguments']);
        if (keysOk && validate && validate(call.arguments)) {
          valid++;
          perTool.set(call.name, (perTool.get(call.name) ?? 0) + 1);
        } else {
          problems.push(`seed ${seed}: ${JSON.stringify(call)}${validate ? `: ${ajv.errorsText(validate.errors)}` : ''}`);
        }
      }
      if (parseToolCalls(r.toolCall.text, definitions).ok) parsed++;
    }
  } finally {
    ort.release();
  }
  console.log(`\n${n} sampled calls (${randomWeights ? 'random weights; strings and integers bounded, which adds to the prompt' : 'as offered'}; prompt ${promptTokens} tokens):`);
  console.log(`  valid: ${valid}/${calls} calls; call lists the sidecar's parser takes: ${parsed}/${lists}; ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  console.log(`  per tool: ${definitions.map((d) => `${d.name} ${perTool.get(d.name) ?? 0}`).join(', ')}`);
  for (const p of problems.slice(0, 10)) console.log(`  ${p}`);
}
