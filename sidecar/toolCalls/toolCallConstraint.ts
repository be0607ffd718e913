// Constrained decoding of tool calls with xgrammar (`@mlc-ai/web-xgrammar`, its WebAssembly build): the grammar of
// `[{"name": <declared tool>, "arguments": <schema-valid object>}, ...]` (toolCallSchema.ts) is compiled against the
// model's vocabulary, and at each step of a call its matcher gives the bitmask of the tokens that keep the text a
// prefix of a valid call; the others are set to -Infinity before sampling.
//
// Why xgrammar: it is the grammar engine of vLLM, SGLang and MLC; its npm build runs offline (the wasm is inlined in
// the JS) in a worker thread, builds its token tables from a byte-level BPE vocabulary as ours is, compiles JSON
// schemas itself, and gives a mask in well under a millisecond on most steps of Phi-4-mini's 200,064-token vocabulary
// (bench/toolCallConstraint.ts). A hand-written JSON-schema automaton would have to redo all of that.
import type * as XGrammar from '@mlc-ai/web-xgrammar';
import { EngineError } from '../engineError';
import type { ToolDefinition } from '../protocol';
import type { PhiTokenizer } from '../engine/tokenizer';
import { toolCallListSchema } from './toolCallSchema';

/** The JSON style the model's calls are constrained to: Python json.dumps' separators on one line (template.ts). */
const SEPARATORS: [string, string] = [', ', ': '];
/** Added tokens (`<|end|>`, `<|user|>`, …): never part of a call's JSON. xgrammar drops tokens given as ''. */
const ADDED_TOKEN = /^<\|[^|]+\|>$/;
/**
 * Byte-level tokens holding a control byte 0x00–0x1f (GPT-2's byte map writes those as U+0100–U+011F). JSON allows
 * them only as whitespace between values, which the one-line format never needs, and never raw inside a string;
 * xgrammar 0.1.27 lets them into strings that have a maxLength, so they are dropped here.
 */
const CONTROL_BYTE = /[\u0100-\u011f]/;

/**
 * Loaded on first use (1 MB of JavaScript with the wasm inlined). `require`, not `import()`: the package's file is
 * a UMD script in a "type": "module" package, which Node's ESM loader refuses; esbuild bundles it as CommonJS.
 */
const loadXGrammar = (): typeof XGrammar => require('@mlc-ai/web-xgrammar');

/**
 * The grammar side of one vocabulary: xgrammar's token tables (about half a second to build for 200k tokens) and
 * a cache of compiled call grammars, one per tool set. Build it once per loaded model, when it is first needed.
 */
export class ToolCallGrammars {
  private readonly compiled = new Map<string, Promise<XGrammar.CompiledGrammar>>();

  private constructor(
    private readonly xg: typeof XGrammar,
    private readonly compiler: XGrammar.GrammarCompiler,
    /** `<|/tool_call|>`: the matcher's stop token, allowed once the call list is complete. */
    readonly endId: number,
  ) {}

  /** `vocabSize`: rows of the model's logits (may exceed the tokenizer's ids; the extra rows are never allowed). */
  static async create(tokenizer: PhiTokenizer, vocabSize: number, endId: number): Promise<ToolCallGrammars> {
    const xg = loadXGrammar();
    const vocab: string[] = new Array(vocabSize);
    for (let id = 0; id < vocabSize; id++) {
      const token = tokenizer.idToToken(id) ?? '';
      vocab[id] = ADDED_TOKEN.test(token) || CONTROL_BYTE.test(token) ? '' : token;
    }
    const info = await xg.TokenizerInfo.createTokenizerInfo(vocab, 'byte_level', false, vocabSize, [endId]);
    const compiler = await xg.GrammarCompiler.createGrammarCompiler(info, true);
    return new ToolCallGrammars(xg, compiler, endId);
  }

  /** A matcher for one call list over `tools`; dispose it when the generation ends. */
  async matcher(tools: readonly ToolDefinition[], maxCalls?: number): Promise<ToolCallMatcher> {
    const grammar = await this.grammar(tools, maxCalls);
    const matcher = await this.xg.GrammarMatcher.createGrammarMatcher(grammar, [this.endId]);
    return new ToolCallMatcher(matcher);
  }

  private grammar(tools: readonly ToolDefinition[], maxCalls?: number): Promise<XGrammar.CompiledGrammar> {
    const key = JSON.stringify([tools.map((t) => [t.name, t.parameters]), maxCalls]);
    let grammar = this.compiled.get(key);
    if (!grammar) {
      grammar = this.compile(tools, maxCalls);
      this.compiled.set(key, grammar);
      grammar.catch(() => this.compiled.delete(key));
      // A handful of tool sets (times the few call limits a turn goes through) is the norm; keep memory bounded
      // if a client sends a new set every turn.
      if (this.compiled.size > 32) {
        const [oldest] = this.compiled.keys();
        void this.compiled.get(oldest)?.then((g) => g.dispose(), () => {});
        this.compiled.delete(oldest);
      }
    }
    return grammar;
  }

  private async compile(tools: readonly ToolDefinition[], maxCalls?: number): Promise<XGrammar.CompiledGrammar> {
    const compileSchema = (schema: object) =>
      this.compiler.compileJSONSchema(JSON.stringify(schema), false, -1, SEPARATORS, true);
    try {
      return await compileSchema(toolCallListSchema(tools, { maxCalls }));
    } catch (e) {
      // A schema feature xgrammar does not support: constrain the call's shape and names only; the arguments are
      // still validated against the schema after the call (toolCallValidator.ts).
      try {
        return await compileSchema(toolCallListSchema(tools, { maxCalls, looseArguments: true }));
      } catch {
        throw new EngineError('internal', `The tool-call grammar could not be compiled: ${(e as Error)?.message ?? e}`);
      }
    }
  }
}

/** The state of one call list being generated. */
export class ToolCallMatcher {
  constructor(private readonly matcher: XGrammar.GrammarMatcher) {}

  /** Sets every token the grammar does not allow next to -Infinity, in place. */
  async mask(logits: Float32Array): Promise<void> {
    const bitmask = await this.matcher.getNextTokenBitmask();
    applyBitmask(logits, bitmask);
  }

  /** Advances past a sampled token; false if the grammar rejects it (only a forced token can be rejected). */
  accept(id: number): boolean {
    return this.matcher.acceptToken(id);
  }

  dispose(): void {
    this.matcher.dispose();
  }
}

/** Bit `id` of `bitmask` (32 tokens per int32, low bit first) says whether token `id` may be sampled. */
export function applyBitmask(logits: Float32Array, bitmask: Int32Array): void {
  const n = logits.length;
  for (let word = 0; word * 32 < n; word++) {
    const bits = bitmask[word] ?? 0;
    if (bits === -1) continue; // all 32 allowed
    const base = word * 32;
    const end = Math.min(base + 32, n);
    for (let id = base; id < end; id++) if (((bits >>> (id - base)) & 1) === 0) logits[id] = -Infinity;
  }
}
