// VS Code's language-model tools as chat tools: the ones registered now (vscode.lm.tools, Phi Local's own left out)
// and one of them as a Tool the ToolRunner runs like a workspace tool. A read-only one (externalTools.ts says which)
// runs at once; any other asks first with an 'external' consent card (the tool and its arguments). It runs through
// vscode.lm.invokeTool with no chat invocation token (the chat panel is not VS Code's Chat), and its result parts
// become the text the model reads (resultToText).
import * as vscode from 'vscode';
import { isReadOnlyTool, listableTools, resultToText, toolDefinitionOf, type ExternalToolInfo } from './externalTools';
import type { Tool } from './toolTypes';

/** The tools other extensions and MCP servers registered, as the chat may offer them (none before VS Code has lm). */
export function registeredExternalTools(workspaceToolNames: ReadonlySet<string>): ExternalToolInfo[] {
  const tools = (vscode.lm as Partial<typeof vscode.lm> | undefined)?.tools ?? [];
  return listableTools(tools.map((t) => ({
    name: t.name, description: t.description ?? '', inputSchema: t.inputSchema, tags: Array.isArray(t.tags) ? t.tags : [],
  })), workspaceToolNames);
}

/** One external tool as the ToolRunner runs it. */
export function externalTool(info: ExternalToolInfo): Tool {
  const readOnly = isReadOnlyTool(info);
  return {
    definition: toolDefinitionOf(info),
    writes: !readOnly,
    async run(args, context) {
      if (!readOnly) {
        const decision = await context.confirm({ kind: 'external', tool: info.name, input: JSON.stringify(args, null, 2) });
        if (decision === 'deny') {
          return { content: `The user denied this call of ${info.name}; it did not run. Do not call it again the same way; ask the user what they want instead.`, denied: true };
        }
      }
      // A failure (no such tool any more, invalid input, the tool threw) becomes an error result in the ToolRunner.
      const result = await vscode.lm.invokeTool(info.name, { input: args, toolInvocationToken: undefined }, context.token);
      return resultToText(result?.content);
    },
  };
}
