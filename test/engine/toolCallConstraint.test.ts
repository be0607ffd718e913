// Constrained tool calls on the random-weight tiny model (Phi-4-mini's real 200,064-token vocabulary): with a required
// call and sampling at temperature 1, every call is valid JSON naming a declared tool with arguments that validate,
// while the same runs without the constraint give nothing usable: the constraint does all the work. Then what keeps
// one tool from breaking the others: the schema bounds, and a new copy of xgrammar after it fails.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type * as XGrammar from '@mlc-ai/web-xgrammar';
import Ajv from 'ajv';
import { Generator } from '../../sidecar/engine/generate';
import { readModelFolder } from '../../sidecar/engine/modelFolder';
import { OrtBackend } from '../../sidecar/engine/ortBackend';
import { PromptBuilder } from '../../sidecar/prompt/promptBuilder';
import { ReplayScript } from '../../sidecar/engine/replay';
import type { ChatMessage, ToolDefinition } from '../../sidecar/prompt/template';
import { parseToolCalls } from '../../sidecar/toolCalls/toolCallParser';
import { freshXGrammar, type XGrammarModule } from '../../sidecar/toolCalls/xgrammarModule';
import { ensureModel } from '../fixtures/models';

const notCancelled = { aborted: false };

// Four shapes: an enum; a string with optional integer and boolean; a nested object; arrays of strings and of an
// enum. Random weights never end a string or a number by themselves, so the schemas bound them (maxLength, maximum,
// maxItems): the grammar enforces those bounds as well, and every call ends within the token limit.
const tools: ToolDefinition[] = [
  {
    name: 'set_theme',
    description: 'Switch the color theme.',
    parameters: { type: 'object', properties: { theme: { type: 'string', enum: ['light', 'dark', 'high-contrast'] } }, required: ['theme'], additionalProperties: false },
  },
  {
    name: 'open_file',
    description: 'Open a file, optionally at a line.',
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string', maxLength: 20 },
        line: { type: 'integer', minimum: 1, maximum: 9999 },
        preview: { type: 'boolean' },
      },
      required: ['path'],
      additionalProperties: false,
    },
  },
  {
    name: 'move_cursor',
    description: 'Move the cursor.',
    parameters: {
      type: 'object',
      properties: {
        position: {
          type: 'object',
          properties: { line: { type: 'integer', minimum: 0, maximum: 999 }, character: { type: 'integer', minimum: 0, maximum: 999 } },
          required: ['line', 'character'],
          additionalProperties: false,
        },
        select: { type: 'boolean' },
      },
      required: ['position'],
      additionalProperties: false,
    },
  },
  {
    name: 'tag_files',
    description: 'Tag files.',
    parameters: {
      type: 'object',
      properties: {
        paths: { type: 'array', items: { type: 'string', maxLength: 12 }, minItems: 1, maxItems: 2 },
        tags: { type: 'array', items: { type: 'string', enum: ['bug', 'docs', 'test'] }, maxItems: 3 },
      },
      required: ['paths', 'tags'],
      additionalProperties: false,
    },
  },
];

const conversation: ChatMessage[] = [{ role: 'user', content: 'Tidy up the workspace.' }];

/** An object schema nested `levels` deep: one required object property a level, a string at the bottom. */
function nested(levels: number): Record<string, unknown> {
  let schema: Record<string, unknown> = { type: 'string' };
  for (let i = 0; i < levels; i++) schema = { type: 'object', properties: { a: schema }, required: ['a'], additionalProperties: false };
  return schema;
}

/** A new copy of xgrammar (its own WebAssembly instance), so that what a test breaks stays broken there only. */
function newCopy(): XGrammarModule {
  const xg = freshXGrammar();
  assert.ok(xg, 'from source, a new copy of xgrammar can be made');
  return xg;
}

interface Hooks {
  /** Sees each schema compiled, as JSON; returns the one to compile instead (a spy returns it as it is). */
  compile?(schema: string): string;
  /** Sees what a compile threw. */
  threw?(e: Error): void;
  /** Runs before each mask a matcher computes; may throw. */
  mask?(): void;
}

/** `xg` with its compilers' and matchers' calls going through `hooks` (a spy, or a TEST DOUBLE that fails). */
function through(xg: XGrammarModule, hooks: Hooks): XGrammarModule {
  const GrammarCompiler = {
    createGrammarCompiler: async (info: XGrammar.TokenizerInfo, cache?: boolean) => {
      const compiler = await xg.GrammarCompiler.createGrammarCompiler(info, cache);
      return new Proxy(compiler, {
        get: (target, key) => key === 'compileJSONSchema'
          ? (schema: string, ...rest: []) => target.compileJSONSchema(hooks.compile ? hooks.compile(schema) : schema, ...rest)
            .catch((e: Error) => { hooks.threw?.(e); throw e; })
          : Reflect.get(target, key),
      });
    },
  };
  const GrammarMatcher = {
    createGrammarMatcher: async (...args: Parameters<typeof xg.GrammarMatcher.createGrammarMatcher>) => {
      const matcher = await xg.GrammarMatcher.createGrammarMatcher(...args);
      return new Proxy(matcher, {
        get: (target, key) => key === 'getNextTokenBitmask'
          ? () => { hooks.mask?.(); return target.getNextTokenBitmask(); }
          : Reflect.get(target, key),
      });
    },
  };
  return { ...xg, GrammarCompiler, GrammarMatcher } as unknown as XGrammarModule;
}

describe('constrained tool calls (tiny model, random weights)', () => {
  let ort: OrtBackend;
  let prompts: PromptBuilder;
  let generator: Generator;
  const folder = readModelFolder(ensureModel('tiny'));
  // An independent check: ajv straight on each tool's schema (not the sidecar's validator).
  const ajv = new Ajv({ strict: false });
  const validators = new Map(tools.map((t) => [t.name, ajv.compile(t.parameters!)]));

  before(async () => {
    ort = await OrtBackend.create(folder.onnxFile, folder.config, { executionProvider: 'cpu', threads: 2 });
    prompts = PromptBuilder.fromFolder(folder);
    generator = new Generator(ort, prompts, folder.config);
  });
  after(() => ort?.release());

  it('200 sampled calls are all valid JSON, name a declared tool and validate against its schema', async () => {
    const names = new Map<string, number>();
    let calls = 0;
    for (let seed = 1; calls < 200; seed++) {
      const deltas: string[] = [];
      const r = await generator.generate(
        { messages: conversation, tools, toolChoice: 'required', maxNewTokens: 400, sampling: { temperature: 1, seed } },
        notCancelled, { onText: (t) => deltas.push(t) });
      assert.equal(r.finishReason, 'tool-call', `seed ${seed}: ${JSON.stringify(r.toolCall)}`);
      assert.equal(r.toolCall?.closed, true);
      assert.equal(r.text, '', 'a required call comes first');
      assert.deepEqual(deltas, [], 'the call is not streamed as text');
      assert.equal(r.tokenIds[0], prompts.tokenizer.tokenToId('<|tool_call|>'));
      assert.equal(r.tokenIds.at(-1), prompts.tokenizer.tokenToId('<|/tool_call|>'));
      // Strict JSON, no repair.
      const list = JSON.parse(r.toolCall!.text) as Array<{ name: string; arguments: unknown }>;
      assert.ok(Array.isArray(list) && list.length >= 1, r.toolCall!.text);
      for (const call of list) {
        assert.deepEqual(Object.keys(call), ['name', 'arguments'], r.toolCall!.text);
        const validate = validators.get(call.name);
        assert.ok(validate, `seed ${seed}: undeclared tool ${call.name}`);
        assert.ok(validate(call.arguments), `seed ${seed}: ${JSON.stringify(call)}: ${ajv.errorsText(validate.errors)}`);
        names.set(call.name, (names.get(call.name) ?? 0) + 1);
        calls++;
      }
      // And the sidecar's own parser takes it as it is.
      assert.deepEqual(parseToolCalls(r.toolCall!.text, tools), { ok: true, calls: list });
    }
    assert.ok(calls >= 200);
    assert.equal(names.size, tools.length, `every tool was called: ${JSON.stringify([...names])}`);
  });

  it('without the constraint, the same runs give no usable call', async () => {
    let usable = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const r = await generator.generate(
        { messages: conversation, tools, toolChoice: 'required', constrainToolCalls: false, maxNewTokens: 40, sampling: { temperature: 1, seed } },
        notCancelled);
      assert.ok(r.toolCall, 'the call token is still forced');
      if (parseToolCalls(r.toolCall.text, tools).ok) usable++;
    }
    assert.equal(usable, 0);
  });

  it('a call list respects maxToolCalls', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = await generator.generate(
        { messages: conversation, tools, toolChoice: 'required', maxToolCalls: 1, maxNewTokens: 400, sampling: { temperature: 1, seed } },
        notCancelled);
      assert.equal(r.finishReason, 'tool-call');
      assert.equal((JSON.parse(r.toolCall!.text) as unknown[]).length, 1);
    }
  });

  /** A constrained call of `tools` with this seed: valid JSON, declared names, arguments valid for their schemas. */
  async function assertConstrainedCall(g: Generator, seed: number): Promise<void> {
    const r = await g.generate(
      { messages: conversation, tools, toolChoice: 'required', maxNewTokens: 400, sampling: { temperature: 1, seed } },
      notCancelled);
    assert.equal(r.finishReason, 'tool-call', `seed ${seed}: ${JSON.stringify(r.toolCall)}`);
    const list = JSON.parse(r.toolCall!.text) as Array<{ name: string; arguments: unknown }>;
    for (const call of list) {
      const validate = validators.get(call.name);
      assert.ok(validate?.(call.arguments), `seed ${seed}: ${JSON.stringify(call)}`);
    }
  }

  it('xgrammar itself (why the bounds and the new copies): a schema nested 300 levels traps its WebAssembly, and that copy fails every later compile, on new tables too', async () => {
    const vocab = ['{', '}', '"', 'a', 'b', ':', ' ', ',', 'x'];
    const compilerOf = async (copy: XGrammarModule) =>
      copy.GrammarCompiler.createGrammarCompiler(await copy.TokenizerInfo.createTokenizerInfo(vocab, 'byte_level', false, vocab.length, []), true);
    const compile = (c: XGrammar.GrammarCompiler, schema: object) => c.compileJSONSchema(JSON.stringify(schema), false, -1, [', ', ': '], true);
    const small = (name: string) => ({ type: 'object', properties: { [name]: { type: 'string', maxLength: 2 } }, required: [name] });
    const xg = newCopy();
    const compiler = await compilerOf(xg);
    (await compile(compiler, small('a'))).dispose();
    await assert.rejects(compile(compiler, nested(300)), /^RuntimeError: memory access out of bounds$/);
    // (Not tried: the 300-level schema again on that compiler never returns; its cache waits on the failed entry.)
    await assert.rejects(compile(compiler, small('b')), /memory access out of bounds/, 'a new schema on the same compiler');
    await assert.rejects(compilerOf(xg).then((c) => compile(c, small('x'))), /memory access out of bounds|Aborted/, 'new tables on the same copy');
    (await compile(await compilerOf(newCopy()), small('b'))).dispose(); // a new copy works
  });

  it('a tool whose schema is nested 300 levels never reaches xgrammar: its arguments are left free (checked after the call), the other tools stay constrained, and constrained calls work right after', async () => {
    const compiled: string[] = [];
    const loads: boolean[] = [];
    const spied = new Generator(ort, prompts, folder.config, {
      xgrammar: (fresh) => { loads.push(fresh); return through(newCopy(), { compile: (schema) => (compiled.push(schema), schema) }); },
    });
    const deep: ToolDefinition = { name: 'deep_tool', description: 'Nested.', parameters: nested(300) };
    // The prompt of the other tools: the 300 levels would add thousands of tokens to prefill, and only the grammar matters here.
    const promptIds = prompts.render(conversation, tools).ids;
    const r = await spied.generate(
      { messages: conversation, promptIds, tools: [...tools, deep], toolChoice: 'required', maxNewTokens: 60, sampling: { temperature: 1, seed: 1 } },
      notCancelled);
    assert.ok(r.toolCall, 'the request went on to a call');
    assert.equal(compiled.length, 1);
    const items = (JSON.parse(compiled[0]) as { items: { anyOf: Array<{ properties: { name: { const: string }; arguments: unknown } }> } }).items.anyOf;
    assert.deepEqual(items.map((i) => i.properties.name.const), [...tools.map((t) => t.name), 'deep_tool']);
    assert.deepEqual(items.at(-1)!.properties.arguments, { type: 'object', additionalProperties: true });
    for (const [i, tool] of tools.entries()) assert.deepEqual(items[i].properties.arguments, tool.parameters);
    for (let seed = 1; seed <= 5; seed++) await assertConstrainedCall(spied, seed);
    assert.deepEqual(loads, [false], 'xgrammar never failed');
  });

  it("TEST DOUBLE: a compile that traps xgrammar's WebAssembly once (a 300-level schema in its place) is retried on a new copy: that request's call and the next ones are constrained and valid", async () => {
    const loads: boolean[] = [];
    const errors: string[] = [];
    let trapped = false;
    const trapOnce = (schema: string) => {
      if (trapped) return schema;
      trapped = true;
      return JSON.stringify(nested(300));
    };
    const recovering = new Generator(ort, prompts, folder.config, {
      xgrammar: (fresh) => {
        loads.push(fresh);
        const xg = newCopy();
        // The first copy: its first compile traps for real.
        return fresh ? xg : through(xg, { compile: trapOnce, threw: (e) => errors.push(e.message) });
      },
    });
    await assertConstrainedCall(recovering, 1);
    assert.deepEqual(errors, ['memory access out of bounds']);
    assert.deepEqual(loads, [false, true], 'one new copy');
    for (let seed = 2; seed <= 5; seed++) await assertConstrainedCall(recovering, seed);
    assert.deepEqual(loads, [false, true]);
  });

  it('TEST DOUBLE: a matcher that fails mid-call fails its request with a clear error, and the next request works on a new copy', async () => {
    const loads: boolean[] = [];
    let failed = false;
    const recovering = new Generator(ort, prompts, folder.config, {
      xgrammar: (fresh) => {
        loads.push(fresh);
        return fresh ? newCopy() : through(newCopy(), {
          mask: () => {
            if (failed) return;
            failed = true;
            throw new WebAssembly.RuntimeError('memory access out of bounds');
          },
        });
      },
    });
    await assert.rejects(
      recovering.generate({ messages: conversation, tools, toolChoice: 'required', maxNewTokens: 400, sampling: { seed: 1 } }, notCancelled),
      (e: Error) => e.name === 'EngineError' &&
        /^The tool-call grammar engine \(xgrammar\) failed: memory access out of bounds\. It is rebuilt for the next request; try again\.$/.test(e.message));
    for (let seed = 1; seed <= 3; seed++) await assertConstrainedCall(recovering, seed);
    assert.deepEqual(loads, [false, true]);
  });

  it('a call ends the generation and its tokens come back, and the next turn reuses them all (replay)', async () => {
    const call = '[{"name": "set_theme", "arguments": {"theme": "dark"}}]';
    const replay = new ReplayScript('inline', [`Switching.<|tool_call|>${call}<|/tool_call|>`, 'Done.']);
    const replayed = new Generator(ort, prompts, folder.config, { replay });
    replayed.reset();
    const deltas: string[] = [];
    const first = await replayed.generate({ messages: conversation, tools }, notCancelled, { onText: (t) => deltas.push(t) });
    assert.equal(first.finishReason, 'tool-call');
    assert.equal(first.text, 'Switching.');
    assert.equal(deltas.join(''), 'Switching.', 'no call text in the stream');
    assert.deepEqual(first.toolCall, { text: call, closed: true });
    const next: ChatMessage[] = [
      ...conversation,
      { role: 'assistant', content: first.text, toolCalls: [{ name: 'set_theme', arguments: { theme: 'dark' } }] },
      { role: 'tool', name: 'set_theme', content: '{"ok": true}' },
    ];
    const second = await replayed.generate({ messages: next, tools }, notCancelled);
    // Everything the cache holds (the prompt, and the call but its last token, which was never fed) is reused.
    assert.equal(second.usage.reusedTokens, first.usage.promptTokens + first.tokenIds.length - 1);
    assert.equal(second.text, 'Done.');
    assert.equal(second.finishReason, 'stop');
    await assert.rejects(replayed.generate({ messages: next, tools }, notCancelled), /Replay mode: all 2 replies/);
  });
});
