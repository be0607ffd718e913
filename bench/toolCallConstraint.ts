// npx tsx bench/toolCallConstraint.ts [--preset tiny|phi4-mini] [--model DIR] [--repeats 5] [--steps 64]
// The cost of constrained tool calls on Phi-4-mini's 200,064-token vocabulary (the presets share the tokenizer):
// building xgrammar's tables, compiling a tool set's grammar, and per token of a call the mask (xgrammar's bitmask
// plus setting the logits) and the accept. Then whole decode steps on the model, inside a constrained call and in
// plain text, so the overhead shows against a real step (on the tiny model a step is a few ms; on the real 3.8B
// model it is 50 ms or more, and the same mask cost is a smaller share).
import { parseArgs } from 'node:util';
import { Generator } from '../sidecar/engine/generate';
import { readModelFolder } from '../sidecar/engine/modelFolder';
import { OrtBackend } from '../sidecar/engine/ortBackend';
import { PromptBuilder } from '../sidecar/prompt/promptBuilder';
import type { ToolDefinition } from '../sidecar/prompt/template';
import { ToolCallGrammars } from '../sidecar/toolCalls/toolCallConstraint';
import { ensureModel } from '../test/fixtures/models';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'tiny' },
    model: { type: 'string' },
    repeats: { type: 'string', default: '5' },
    steps: { type: 'string', default: '64' },
  },
});

// Tools like the extension's (issue 5): a path, a query with options, an edit with a nested range.
const tools: ToolDefinition[] = [
  { name: 'read_file', description: 'Read a file of the workspace.', parameters: { type: 'object', properties: { path: { type: 'string' }, startLine: { type: 'integer', minimum: 1 }, endLine: { type: 'integer', minimum: 1 } }, required: ['path'], additionalProperties: false } },
  { name: 'list_folder', description: 'List a folder.', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'], additionalProperties: false } },
  { name: 'search_text', description: 'Search the workspace.', parameters: { type: 'object', properties: { query: { type: 'string' }, isRegex: { type: 'boolean' }, include: { type: 'string' }, maxResults: { type: 'integer', minimum: 1, maximum: 200 } }, required: ['query'], additionalProperties: false } },
  { name: 'apply_edit', description: 'Replace a range of a file.', parameters: { type: 'object', properties: { path: { type: 'string' }, range: { type: 'object', properties: { startLine: { type: 'integer' }, endLine: { type: 'integer' } }, required: ['startLine', 'endLine'], additionalProperties: false }, text: { type: 'string' } }, required: ['path', 'range', 'text'], additionalProperties: false } },
];
const calls = [
  '[{"name": "read_file", "arguments": {"path": "src/extension/main.ts", "startLine": 10, "endLine": 80}}]',
  '[{"name": "search_text", "arguments": {"query": "registerCommand\\\\(", "isRegex": true, "include": "**/*.ts", "maxResults": 20}}]',
  '[{"name": "apply_edit", "arguments": {"path": "README.md", "range": {"startLine": 3, "endLine": 4}, "text": "## Quick start\\n\\nRun `npm ci`, then `npm start`.\\n"}}, {"name": "list_folder", "arguments": {"path": "docs"}}]',
];

const ms = (t0: number) => performance.now() - t0;
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(3)}  p50 ${q(0.5).toFixed(3)}  p95 ${q(0.95).toFixed(3)}  max ${s[s.length - 1].toFixed(3)} ms (n=${xs.length})`;
};

(async () => {
  const dir = values.model ?? ensureModel(values.preset as 'tiny' | 'phi4-mini');
  const folder = readModelFolder(dir);
  const prompts = PromptBuilder.fromFolder(folder);
  const endId = prompts.tokenizer.tokenToId('<|/tool_call|>')!;
  console.log(`model ${dir}\nvocabulary ${folder.config.vocabSize} rows, ${tools.length} tools`);

  let t0 = performance.now();
  const grammars = await ToolCallGrammars.create(prompts.tokenizer, folder.config.vocabSize, endId);
  console.log(`xgrammar tables for the vocabulary (once per model): ${ms(t0).toFixed(0)} ms`);
  t0 = performance.now();
  (await grammars.matcher(tools)).dispose();
  console.log(`grammar of the tool set, first compile: ${ms(t0).toFixed(0)} ms`);
  t0 = performance.now();
  (await grammars.matcher(tools)).dispose();
  console.log(`grammar of the tool set, cached: ${ms(t0).toFixed(1)} ms`);

  const maskMs: number[] = [];
  const acceptMs: number[] = [];
  const logits = new Float32Array(folder.config.vocabSize);
  for (let r = 0; r < Number(values.repeats); r++) {
    for (const call of calls) {
      const matcher = await grammars.matcher(tools);
      for (const id of [...prompts.tokenizer.encode(call), endId]) {
        logits.fill(0);
        let t = performance.now();
        await matcher.mask(logits);
        maskMs.push(ms(t));
        if (logits[id] === -Infinity) throw new Error(`the grammar refused ${JSON.stringify(prompts.tokenizer.decode([id]))} in ${call}`);
        t = performance.now();
        matcher.accept(id);
        acceptMs.push(ms(t));
      }
      matcher.dispose();
    }
  }
  console.log(`per token of a call, mask (bitmask + logits): ${stats(maskMs)}`);
  console.log(`per token of a call, accept:                  ${stats(acceptMs)}`);

  // Whole decode steps: the same number of tokens, greedy, in a constrained call and in plain text.
  const backend = await OrtBackend.create(folder.onnxFile, folder.config, { executionProvider: 'cpu' });
  const generator = new Generator(backend, prompts, folder.config);
  const messages = [{ role: 'user' as const, content: 'Find where the commands are registered.' }];
  const steps = Number(values.steps);
  const decode = async (toolChoice: 'required' | 'none') => {
    const perToken: number[] = [];
    for (let r = 0; r < Number(values.repeats); r++) {
      generator.reset();
      const result = await generator.generate({ messages, tools, toolChoice, maxNewTokens: steps, stopOnEos: false }, { aborted: false });
      if (result.tokenIds.length > 1) perToken.push(result.timings.decodeMs / (result.tokenIds.length - 1));
    }
    return perToken;
  };
  await decode('required'); // warm-up: compiles nothing new, fills caches
  const inCall = await decode('required');
  const plain = await decode('none');
  console.log(`decode step inside a constrained call: ${stats(inCall)}`);
  console.log(`decode step in plain text:            ${stats(plain)}`);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`overhead per token in a call: ${(mean(inCall) - mean(plain)).toFixed(3)} ms`);
  await backend.release();
})();
