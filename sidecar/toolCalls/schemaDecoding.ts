// Structured output: every token of the answer is constrained so that the whole answer is a JSON value matching the
// caller's schema (OpenAI's /v1/completions with vLLM's `structured_outputs.json`, or llama-server's `json_schema`).
// The same xgrammar tables as tool calls (toolCallConstraint.ts); the answer ends with eos once the value is complete.
// It has the shape of ToolCallDecoding, so the generation loop treats both alike; its text is all answer ('text').
import { EngineError } from '../engineError';
import type { ToolCallGrammars, ToolCallMatcher } from './toolCallConstraint';
import type { Phase } from './toolCallDecoding';

export class SchemaDecoding {
  private matcher: ToolCallMatcher | undefined;

  constructor(
    private readonly schema: object,
    /** The model's eos tokens: the only tokens allowed once the value is complete. */
    private readonly stopIds: readonly number[],
    private readonly grammars: () => Promise<ToolCallGrammars>,
  ) {}

  constrains(): boolean {
    return true;
  }

  async constrain(logits: Float32Array): Promise<void> {
    this.matcher ??= await (await this.grammars()).schemaMatcher(this.schema, this.stopIds);
    await this.matcher.mask(logits);
    if (!logits.some((x) => x > -Infinity)) throw new EngineError('internal', 'The response schema allows no next token.');
  }

  async accept(id: number): Promise<Phase> {
    this.matcher?.accept(id);
    return 'text';
  }

  release(): void {
    this.matcher?.dispose();
    this.matcher = undefined;
  }
}
