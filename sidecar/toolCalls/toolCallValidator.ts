// Checks a call against the declared tools: a known name, and arguments that fit the tool's JSON schema.
//
// Why ajv: the standard JSON-schema validator for JavaScript (drafts 06/07/2019-09/2020-12), actively kept, fast
// (schemas compile to functions, once per tool set here), with readable error paths. Small type slips the model
// makes ("5" for 5, "true" for true) are coerced rather than refused (coerceTypes), as the arguments are meant for
// the tool, not for a strict API client.
import Ajv, { type ValidateFunction } from 'ajv';
import type { ToolCall, ToolDefinition } from '../protocol';

export class ToolCallValidator {
  private readonly ajv = new Ajv({ allErrors: true, coerceTypes: true, strict: false, validateSchema: false });
  private readonly compiled = new Map<string, ValidateFunction | string>();

  constructor(private readonly tools: readonly ToolDefinition[]) {}

  /** Why the call cannot be run (a sentence the model can act on), or undefined when it is valid. */
  check(call: ToolCall): string | undefined {
    const tool = this.tools.find((t) => t.name === call.name);
    if (!tool) {
      const names = this.tools.map((t) => `"${t.name}"`).join(', ');
      return `There is no tool "${call.name}"; ${names ? `the tools are ${names}` : 'no tools are available'}.`;
    }
    const validate = this.validator(tool);
    if (typeof validate === 'string') return validate;
    if (validate(call.arguments)) return undefined;
    const problems = this.ajv.errorsText(validate.errors, { dataVar: 'arguments', separator: '; ' });
    return `The arguments of "${call.name}" do not fit its schema: ${problems}.`;
  }

  private validator(tool: ToolDefinition): ValidateFunction | string {
    let validate = this.compiled.get(tool.name);
    if (!validate) {
      try {
        validate = this.ajv.compile(tool.parameters ?? { type: 'object', additionalProperties: false });
      } catch (e) {
        validate = `The tool "${tool.name}" has a parameter schema that cannot be used: ${(e as Error).message}`;
      }
      this.compiled.set(tool.name, validate);
    }
    return validate;
  }
}
