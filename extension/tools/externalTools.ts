// VS Code's language-model tools (vscode.lm.tools: other extensions' tools and the user's MCP servers') offered to Phi
// in the chat panel beside its workspace tools. This file is the pure part, no vscode import (unit-tested in
// test/unit/externalTools.test.ts): which tools are listed, which count as read-only, what is chosen by default,
// what a definition costs, and a tool's result as the text the model reads. externalToolSource.ts lists and invokes
// them through vscode.lm; toolPicker.ts is the "Tools…" QuickPick; toolRunner.ts runs a chosen one's calls.
//
// The read-only rule: a tool is read-only when one of its `tags`, lower-cased with everything but letters and digits
// removed, is "readonly" or ends with "readonly" ("readonly", "read-only", "read_only", "ReadOnly",
// "mcp_readonly", "vscode_readOnly"…). Nothing else makes a tool read-only (not its name, not its description):
// read-only tools run when Phi calls them, like the workspace tools that read; every other one asks first (an
// 'external' consent card with the tool and its arguments), and is off until the user chooses it.
import type { ToolDefinition } from '../../sidecar/protocol';

/** What the chat needs of a vscode.LanguageModelToolInformation. */
export interface ExternalToolInfo {
  name: string;
  description: string;
  inputSchema?: object;
  tags: readonly string[];
}

/** How much of a description goes to the model: Phi-4-mini's context is small, and some tools describe at length. */
export const DESCRIPTION_MAX_CHARS = 1000;

/**
 * Read-only tools chosen by default (no choice made for the conversation yet) while their definitions together stay
 * within this many tokens (estimated); more have to be chosen in the picker.
 */
export const DEFAULT_TOOLS_TOKEN_BUDGET = 1500;

/** Names the chat never lists: Phi Local's own (a workspace tool's name, or one of ours registered with VS Code). */
export function isOwnTool(name: string, workspaceToolNames: ReadonlySet<string>): boolean {
  return workspaceToolNames.has(name) || /^phi[-_]?local/i.test(name);
}

export function isReadOnlyTool(tool: Pick<ExternalToolInfo, 'tags'>): boolean {
  return tool.tags.some((tag) => typeof tag === 'string' && tag.toLowerCase().replace(/[^a-z0-9]/g, '').endsWith('readonly'));
}

/**
 * VS Code's own internal tools (`vscode_editFile_internal`, `vscode_searchExtensions_internal`, …): lm.tools lists
 * them, but they work only inside VS Code's Chat.
 */
export function isInternalTool(name: string): boolean {
  return /_internal$/i.test(name);
}

/** The tools the chat may offer: lm.tools without Phi Local's own or VS Code's internal ones, each name once. */
export function listableTools(all: readonly ExternalToolInfo[], workspaceToolNames: ReadonlySet<string>): ExternalToolInfo[] {
  const seen = new Set<string>();
  return all.filter((t) => {
    if (!t.name || seen.has(t.name) || isOwnTool(t.name, workspaceToolNames) || isInternalTool(t.name)) return false;
    seen.add(t.name);
    return true;
  });
}

/** The definition the model gets: the same shape as a workspace tool's, so the sidecar bounds its schema the same way. */
export function toolDefinitionOf(tool: ExternalToolInfo): ToolDefinition & { name: string; description: string; parameters: Record<string, unknown> } {
  const description = tool.description.length > DESCRIPTION_MAX_CHARS ? `${tool.description.slice(0, DESCRIPTION_MAX_CHARS - 1).trimEnd()}…` : tool.description;
  const schema = tool.inputSchema as Record<string, unknown> | undefined;
  const parameters = schema && typeof schema === 'object' && !Array.isArray(schema) ? schema : { type: 'object', properties: {} };
  return { name: tool.name, description, parameters };
}

/** A definition's tokens, estimated (about 3 characters a token for JSON schema text): when the model is not loaded. */
export function estimateTokens(definition: ToolDefinition): number {
  return Math.ceil(JSON.stringify(definition).length / 3);
}

/** The tools on when a conversation has no choice of its own: read-only ones, in order, within the budget. */
export function defaultChoice(tools: readonly ExternalToolInfo[], budget = DEFAULT_TOOLS_TOKEN_BUDGET): string[] {
  const chosen: string[] = [];
  let spent = 0;
  for (const t of tools) {
    if (!isReadOnlyTool(t)) continue;
    const cost = estimateTokens(toolDefinitionOf(t));
    if (spent + cost > budget) continue;
    spent += cost;
    chosen.push(t.name);
  }
  return chosen;
}

/** The tools a turn offers: the conversation's choice (or the default), of those listed now, in list order. */
export function chosenTools(tools: readonly ExternalToolInfo[], choice: readonly string[] | undefined): ExternalToolInfo[] {
  const names = new Set(choice ?? defaultChoice(tools));
  return tools.filter((t) => names.has(t.name));
}

const decoder = new TextDecoder();

/** One part of a LanguageModelToolResult as text: text parts as they are, the others summarised. */
function partText(part: unknown): string {
  if (part && typeof part === 'object') {
    const p = part as { value?: unknown; mimeType?: unknown; data?: unknown };
    // LanguageModelTextPart
    if (typeof p.value === 'string') return p.value;
    // LanguageModelDataPart (VS Code 1.105 and later): text-like data as text, the rest named.
    if (typeof p.mimeType === 'string' && p.data instanceof Uint8Array) {
      if (/^text\/|[/+]json$|[/+]xml$/i.test(p.mimeType)) return decoder.decode(p.data);
      return `[${p.mimeType} data, ${p.data.byteLength} bytes, not shown]`;
    }
    // LanguageModelPromptTsxPart and anything newer.
    if ('value' in p) return '[a prompt-tsx part, not shown]';
    const kind = (part as object).constructor?.name;
    return `[a ${kind && kind !== 'Object' ? kind : 'result part'} that is not text, not shown]`;
  }
  return typeof part === 'string' ? part : '[a result part that is not text, not shown]';
}

/** A tool's result (LanguageModelToolResult.content) as the text the model reads. */
export function resultToText(content: readonly unknown[] | undefined): string {
  const parts = (content ?? []).map(partText).filter((t) => t.length > 0);
  return parts.length ? parts.join('\n') : '(The tool returned nothing.)';
}

/** A cost as the picker shows it. */
export function costLabel(tokens: number, estimated: boolean): string {
  return `${estimated ? '≈' : ''}${tokens} tokens${estimated ? ' (estimated)' : ''}`;
}

/**
 * The picker's note on the chosen tools' total: a warning when they would take more than a quarter of the context
 * (the sidecar refuses a turn whose prompt does not fit; fewer tools is then the way out).
 */
export function budgetNote(totalTokens: number, contextLength: number | undefined): string {
  if (!contextLength) return `${totalTokens} tokens of tool definitions per turn`;
  const share = Math.round((totalTokens / contextLength) * 100);
  return `${totalTokens} tokens of the model's ${contextLength}-token context per turn (${share}%)` +
    (totalTokens > contextLength / 4 ? ' — too many: little room is left for the conversation' : '');
}
