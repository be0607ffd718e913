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
import type { PhiTokenizer } from '../prompt/tokenizer';
import { toolCallListSchema } from './toolCallSchema';
import { toolSchemaBeyondBounds } from './toolSchemaBounds';
import { freshXGrammar, loadXGrammar, type XGrammarModule } from './xgrammarModule';

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
/** Compiled call grammars kept per copy of xgrammar. */
const CACHED_GRAMMARS = 32;

export interface ToolCallGrammarsOptions {
  /**
   * Where each copy of xgrammar comes from: `fresh` is false for the first and true for one that replaces a copy that
   * failed. Default: the shared copy first, then new ones (xgrammarModule.ts), or the shared one again where no new
   * one can be had. TEST DOUBLE seam: tests hand in a copy that fails on purpose.
   */
  load?: (fresh: boolean) => XGrammarModule;
}

/** One copy of xgrammar with the vocabulary's token tables, and the call grammars compiled on it. */
interface GrammarEngine {
  xg: XGrammarModule;
  compiler: XGrammar.GrammarCompiler;
  compiled: Map<string, Promise<XGrammar.CompiledGrammar>>;
}

const defaultLoad = (fresh: boolean): XGrammarModule => (fresh ? freshXGrammar() : undefined) ?? loadXGrammar();
const messageOf = (e: unknown): string => (e as Error)?.message ?? String(e);

/**
 * The grammar side of one vocabulary: xgrammar's token tables (about half a second to build for 200k tokens) and
 * a cache of compiled call grammars, one per tool set. Build it once per loaded model, when it is first needed.
 *
 * When xgrammar throws (compiling, or in a matcher), its WebAssembly state may be broken for good (a trap leaves it
 * so): that copy is dropped with everything compiled on it, and the next use builds a new one. A failure while
 * compiling is retried on the new copy; one in a matcher fails its request with an EngineError. Either way the tool
 * calls that follow work.
 */
export class ToolCallGrammars {
  /** The copy in use or being built; undefined after a failure, until the next use builds another. */
  private engine: Promise<GrammarEngine> | undefined;
  private live: GrammarEngine | undefined;
  /** Copies built or being built so far: every one after the first replaces one that failed. */
  private builds = 0;

  private constructor(
    /** The vocabulary as xgrammar takes it, kept to build a new copy's tables. */
    private readonly vocab: string[],
    private readonly vocabSize: number,
    /** `<|/tool_call|>`: the matcher's stop token, allowed once the call list is complete. */
    readonly endId: number,
    private readonly load: (fresh: boolean) => XGrammarModule,
  ) {}

  /** `vocabSize`: rows of the model's logits (may exceed the tokenizer's ids; the extra rows are never allowed). */
  static async create(
    tokenizer: PhiTokenizer, vocabSize: number, endId: number, options: ToolCallGrammarsOptions = {},
  ): Promise<ToolCallGrammars> {
    const vocab: string[] = new Array(vocabSize);
    for (let id = 0; id < vocabSize; id++) {
      const token = tokenizer.idToToken(id) ?? '';
      vocab[id] = ADDED_TOKEN.test(token) || CONTROL_BYTE.test(token) ? '' : token;
    }
    const grammars = new ToolCallGrammars(vocab, vocabSize, endId, options.load ?? defaultLoad);
    await grammars.current();
    return grammars;
  }

  /** A matcher for one call list over `tools`; dispose it when the generation ends. */
  async matcher(tools: readonly ToolDefinition[], maxCalls?: number): Promise<ToolCallMatcher> {
    const key = JSON.stringify([tools.map((t) => [t.name, t.parameters]), maxCalls]);
    // A tool whose schema is past the bounds (toolSchemaBeyondBounds) is not compiled: its arguments may be any
    // object, checked after the call (toolCallValidator.ts), while its name and the call's shape stay constrained.
    // Not a failed request, nor the tool left out: the model sees every tool in the prompt (template.ts), so a tool
    // it could not call would fail every turn that needs it, and a failed request would fail the turns that need
    // none of it, for a schema the caller (another extension, an MCP server) may not be able to change; the
    // generation result has no place for a warning; and this is what a schema xgrammar cannot handle already got.
    const bounded = () => toolCallListSchema(tools, {
      maxCalls, looseArguments: (tool) => toolSchemaBeyondBounds(tool.parameters) !== undefined,
    });
    // The call's shape and names only; the arguments are still validated against their schemas after the call.
    const loose = () => toolCallListSchema(tools, { maxCalls, looseArguments: true });
    // When xgrammar throws, it was a schema feature it does not support (an abort) or its WebAssembly state broke (a
    // trap; memory running out): either way a new copy takes over, and the grammar is tried once more there before
    // the loose one. A tool set that always fails costs two new copies (about a second) once, as the loose grammar
    // is then cached.
    let firstError: unknown;
    for (const schema of [bounded, bounded, loose]) {
      const engine = await this.started();
      let grammar: XGrammar.CompiledGrammar;
      try {
        grammar = await this.compiled(engine, key, schema);
      } catch (e) {
        firstError ??= e;
        this.failed(engine);
        continue;
      }
      try {
        return new ToolCallMatcher(await engine.xg.GrammarMatcher.createGrammarMatcher(grammar, [this.endId]), () => this.failed(engine));
      } catch (e) {
        this.failed(engine);
        throw engineFailure(e);
      }
    }
    throw new EngineError('internal', `The tool-call grammar could not be compiled: ${messageOf(firstError)}`);
  }

  /**
   * A matcher for a whole answer that must match `schema` (structured output: serve's /v1/completions), which ends
   * with one of `stopIds` (eos) once the value is complete. The schema is bounded like a tool's; one past the bounds
   * is refused, not loosened: the caller asked for exactly that shape.
   */
  async schemaMatcher(schema: object, stopIds: readonly number[]): Promise<ToolCallMatcher> {
    const beyond = toolSchemaBeyondBounds(schema);
    if (beyond) throw new EngineError('bad-request', `The response schema ${beyond}; send a smaller one.`);
    const engine = await this.started();
    let grammar: XGrammar.CompiledGrammar;
    try {
      grammar = await this.compiled(engine, JSON.stringify(['response', schema]), () => schema);
    } catch (e) {
      this.failed(engine);
      throw new EngineError('bad-request', `The response schema could not be compiled: ${messageOf(e)}`);
    }
    try {
      return new ToolCallMatcher(await engine.xg.GrammarMatcher.createGrammarMatcher(grammar, [...stopIds]), () => this.failed(engine));
    } catch (e) {
      this.failed(engine);
      throw engineFailure(e);
    }
  }

  /** `current()`, its failure said as an EngineError. */
  private async started(): Promise<GrammarEngine> {
    try {
      return await this.current();
    } catch (e) {
      throw new EngineError('internal', `The tool-call grammar engine (xgrammar) could not be started: ${messageOf(e)}`);
    }
  }

  /** The copy of xgrammar to use: the live one, or a new one after a failure (or at first). */
  private current(): Promise<GrammarEngine> {
    if (!this.engine) {
      const fresh = this.builds++ > 0;
      const engine = (async (): Promise<GrammarEngine> => {
        const xg = this.load(fresh);
        const info = await xg.TokenizerInfo.createTokenizerInfo(this.vocab, 'byte_level', false, this.vocabSize, [this.endId]);
        const compiler = await xg.GrammarCompiler.createGrammarCompiler(info, true);
        return { xg, compiler, compiled: new Map() };
      })();
      this.engine = engine;
      engine.then((e) => { if (this.engine === engine) this.live = e; }, () => { if (this.engine === engine) this.engine = undefined; });
    }
    return this.engine;
  }

  /**
   * xgrammar threw while using `engine`: drop it, with its compiled grammars (its matchers still in use fail or are
   * disposed by their generations). Nothing more is compiled on it: after a trap every call fails, and after any
   * failure, compiling the same schema again on that compiler never returns (xgrammar 0.1.27: its cache waits for the
   * failed entry), which would freeze the engine's thread.
   */
  private failed(engine: GrammarEngine): void {
    if (this.live !== engine) return; // already replaced
    this.live = undefined;
    this.engine = undefined;
  }

  /** The call grammar of `key` on `engine`, compiled from `schema()` unless cached. */
  private compiled(engine: GrammarEngine, key: string, schema: () => object): Promise<XGrammar.CompiledGrammar> {
    let grammar = engine.compiled.get(key);
    if (!grammar) {
      grammar = engine.compiler.compileJSONSchema(JSON.stringify(schema()), false, -1, SEPARATORS, true);
      engine.compiled.set(key, grammar);
      grammar.catch(() => engine.compiled.delete(key));
      // A handful of tool sets (times the few call limits a turn goes through) is the norm; keep memory bounded
      // if a client sends a new set every turn.
      if (engine.compiled.size > CACHED_GRAMMARS) {
        const [oldest] = engine.compiled.keys();
        void engine.compiled.get(oldest)?.then((g) => g.dispose(), () => {});
        engine.compiled.delete(oldest);
      }
    }
    return grammar;
  }
}

/** The error a request gets when xgrammar fails under it (the next request runs on a new copy). */
function engineFailure(e: unknown): EngineError {
  return new EngineError('internal',
    `The tool-call grammar engine (xgrammar) failed: ${messageOf(e)}. It is rebuilt for the next request; try again.`);
}

/** The state of one call list being generated. */
export class ToolCallMatcher {
  constructor(
    private readonly matcher: XGrammar.GrammarMatcher,
    /** Called when xgrammar throws, so that the next request gets a new copy. */
    private readonly onFailure: () => void = () => {},
  ) {}

  /** Sets every token the grammar does not allow next to -Infinity, in place. */
  async mask(logits: Float32Array): Promise<void> {
    let bitmask: Int32Array;
    try {
      bitmask = await this.matcher.getNextTokenBitmask();
    } catch (e) {
      this.onFailure();
      throw engineFailure(e);
    }
    applyBitmask(logits, bitmask);
  }

  /** Advances past a sampled token; false if the grammar rejects it (only a forced token can be rejected). */
  accept(id: number): boolean {
    try {
      return this.matcher.acceptToken(id);
    } catch (e) {
      this.onFailure();
      throw engineFailure(e);
    }
  }

  /** Frees its WebAssembly memory; never throws (the copy it belongs to may have failed). */
  dispose(): void {
    try {
      this.matcher.dispose();
    } catch {
      // a failed copy: its memory goes with it
    }
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
