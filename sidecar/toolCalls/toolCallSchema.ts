// The JSON schema of a tool-call list, the payload between `<|tool_call|>` and `<|/tool_call|>`:
// `[{"name": <a declared tool>, "arguments": <that tool's parameters>}, ...]`. The constrained decoder compiles it
// into a grammar; the same shape is what the parser accepts (toolCallParser.ts).
import type { ToolDefinition } from '../protocol';

/** A tool without a parameter schema takes no arguments: `{}`. */
const NO_ARGUMENTS = { type: 'object', properties: {}, additionalProperties: false };

/** Any JSON object. */
const ANY_ARGUMENTS = { type: 'object', additionalProperties: true };

/**
 * `looseArguments`: any JSON object as arguments, for every tool (true) or for those it picks: tools whose schema the
 * grammar compiler cannot handle or should not be given (toolSchemaBounds.ts). Their arguments are still validated
 * after the call.
 */
export function toolCallListSchema(
  tools: readonly ToolDefinition[],
  options: { maxCalls?: number; looseArguments?: boolean | ((tool: ToolDefinition) => boolean) } = {},
): Record<string, unknown> {
  const { looseArguments } = options;
  const loose = typeof looseArguments === 'function' ? looseArguments : () => looseArguments === true;
  const item = (tool: ToolDefinition) => ({
    type: 'object',
    properties: {
      name: { const: tool.name },
      arguments: loose(tool) ? ANY_ARGUMENTS : (tool.parameters ?? NO_ARGUMENTS),
    },
    required: ['name', 'arguments'],
    additionalProperties: false,
  });
  return {
    type: 'array',
    minItems: 1,
    ...(options.maxCalls !== undefined && options.maxCalls > 0 ? { maxItems: options.maxCalls } : {}),
    items: tools.length === 1 ? item(tools[0]) : { anyOf: tools.map(item) },
  };
}
