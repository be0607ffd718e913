// Tool calls during generation, token by token: Phi-4-mini starts a call with the `<|tool_call|>` token and ends it
// with `<|/tool_call|>` (shared/reference/phi4-format.md §4). Before a call, the tool choice decides whether the
// call token may (auto), must (required) or must not (none) come; inside a call, the grammar decides what may come.
import { EngineError } from '../engineError';
import type { ToolDefinition } from '../protocol';
import type { ToolCallGrammars, ToolCallMatcher } from './toolCallConstraint';

export type ToolChoice = 'auto' | 'required' | 'none';

export interface ToolCallTokens {
  /** `<|tool_call|>` */
  start: number;
  /** `<|/tool_call|>` */
  end: number;
}

export interface ToolCallDecodingOptions {
  tools: readonly ToolDefinition[];
  choice: ToolChoice;
  /** False: find calls but leave their text to the model (to measure the constraint, or see what it prevents). */
  constrain: boolean;
  maxCalls?: number;
}

export type Phase = 'text' | 'call' | 'done';

export class ToolCallDecoding {
  private phase: Phase = 'text';
  private matcher: ToolCallMatcher | undefined;

  constructor(
    private readonly options: ToolCallDecodingOptions,
    private readonly tokens: ToolCallTokens,
    /** Built on first use: a turn that never calls a tool never pays for the grammar. */
    private readonly grammars: () => Promise<ToolCallGrammars>,
  ) {}

  /** Whether `constrain` would change the next token's logits (so the caller copies them only then). */
  constrains(generatedSoFar: number): boolean {
    if (this.phase === 'text') {
      const { choice, tools } = this.options;
      return choice === 'none' || tools.length === 0 || (choice === 'required' && generatedSoFar === 0);
    }
    return this.matcher !== undefined;
  }

  /** Applies the choice (before a call) or the grammar (inside one) to the next token's logits, in place. */
  async constrain(logits: Float32Array, generatedSoFar: number): Promise<void> {
    if (this.phase === 'text') {
      const { choice, tools } = this.options;
      if (choice === 'none' || tools.length === 0) logits[this.tokens.start] = -Infinity;
      else if (choice === 'required' && generatedSoFar === 0) {
        const start = logits[this.tokens.start];
        logits.fill(-Infinity);
        logits[this.tokens.start] = Number.isFinite(start) ? start : 0;
      }
      return;
    }
    if (this.matcher) {
      await this.matcher.mask(logits);
      if (!logits.some((x) => x > -Infinity)) {
        throw new EngineError('internal', 'The tool-call grammar allows no next token.');
      }
    }
  }

  /** Takes the token that was picked; returns the phase after it ('done' right after `<|/tool_call|>`). */
  async accept(id: number): Promise<Phase> {
    if (this.phase === 'text') {
      if (id === this.tokens.start) {
        this.phase = 'call';
        if (this.options.constrain) this.matcher = await (await this.grammars()).matcher(this.options.tools, this.options.maxCalls);
      }
      return this.phase;
    }
    if (this.phase === 'call') {
      // A forced token (replay) the grammar rejects ends the constraint; the parser judges the call afterwards.
      if (this.matcher && !this.matcher.accept(id)) this.release();
      if (id === this.tokens.end) this.phase = 'done';
    }
    return this.phase;
  }

  /** Frees the matcher (WebAssembly memory); call when the generation ends, however it ends. */
  release(): void {
    this.matcher?.dispose();
    this.matcher = undefined;
  }
}
