// What a tool call is about, for its step's one-line summary in the chat: the value of the first required string
// argument in the tool's schema (a path, a pattern, a query). Read from the schema, so neither the chat nor the
// webview knows any tool's argument names, and a new tool gets a summary without declaring one. No vscode import.
import type { ToolDefinition } from '../../sidecar/protocol';

export function toolTarget(definition: Pick<ToolDefinition, 'parameters'> | undefined, argumentsJson: string): string | undefined {
  const parameters = definition?.parameters as { required?: unknown; properties?: Record<string, { type?: unknown } | undefined> } | undefined;
  const required = Array.isArray(parameters?.required) ? (parameters.required as unknown[]) : [];
  const key = required.find((k): k is string => typeof k === 'string' && parameters?.properties?.[k]?.type === 'string');
  if (!key) return undefined;
  try {
    const value = (JSON.parse(argumentsJson) as Record<string, unknown> | null)?.[key];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined; // a refused call's raw text is not JSON
  }
}
