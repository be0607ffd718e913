// The "Tools…" picker of a chat (Phi: Choose Tools for This Chat, or the tools button in the chat's title bar): VS
// Code's tools from other extensions and MCP servers, each with what its definition costs in the model's context
// (counted by the model's tokenizer, phi/countTokens, when the model is loaded; estimated otherwise, and marked so),
// whether it is read-only (runs when called) or asks first, and the total of those checked against the context.
import * as vscode from 'vscode';
import type { CountTokensParams, CountTokensResult } from '../../sidecar/protocol';
import { budgetNote, costLabel, estimateTokens, isReadOnlyTool, toolDefinitionOf, type ExternalToolInfo } from './externalTools';

export interface ToolPickerOptions {
  tools: readonly ExternalToolInfo[];
  /** Checked when the picker opens. */
  chosen: readonly string[];
  /** phi/countTokens, when the model is loaded; undefined: the costs are estimated. */
  countTokens?: (params: CountTokensParams) => Promise<CountTokensResult>;
  /** The loaded model's context, for the total's share. */
  contextLength?: number;
}

interface ToolItem extends vscode.QuickPickItem {
  name: string;
  tokens: number;
}

/** Each tool's cost: the prompt's tokens with its definition minus those without; estimated when counting fails. */
async function costs(tools: readonly ExternalToolInfo[], count: ToolPickerOptions['countTokens']): Promise<{ tokens: number[]; estimated: boolean }> {
  const definitions = tools.map(toolDefinitionOf);
  if (count) {
    try {
      const messages = [{ role: 'user' as const, content: '.' }];
      const base = (await count({ messages })).tokens;
      const tokens: number[] = [];
      for (const d of definitions) tokens.push(Math.max(0, (await count({ messages, tools: [d] })).tokens - base));
      return { tokens, estimated: false };
    } catch {
      // The sidecar could not count (no model after all): estimate.
    }
  }
  return { tokens: definitions.map(estimateTokens), estimated: true };
}

const firstSentence = (text: string) => {
  const line = text.split('\n').find((l) => l.trim()) ?? '';
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
};

/** Opens the picker; resolves with the names checked, or undefined when it was closed without OK. */
export async function pickTools(options: ToolPickerOptions): Promise<string[] | undefined> {
  const pick = vscode.window.createQuickPick<ToolItem>();
  pick.canSelectMany = true;
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  pick.title = 'Tools for This Chat';
  pick.placeholder = 'Tools from other extensions and MCP servers that Phi may call in this chat';
  let accepted = false;
  let done!: (names: string[] | undefined) => void;
  const result = new Promise<string[] | undefined>((resolve) => { done = resolve; });
  // Closed while the costs are counted, too: resolves once.
  pick.onDidHide(() => {
    done(accepted ? pick.selectedItems.map((i) => i.name) : undefined);
    pick.dispose();
  });
  pick.busy = true;
  pick.show();
  const { tokens, estimated } = await costs(options.tools, options.countTokens);
  const chosen = new Set(options.chosen);
  const items: ToolItem[] = options.tools.map((t, i) => ({
    name: t.name,
    tokens: tokens[i],
    label: t.name,
    description: `${costLabel(tokens[i], estimated)} · ${isReadOnlyTool(t) ? 'read-only, runs when called' : 'asks before each call'}`,
    detail: firstSentence(t.description),
  }));
  pick.items = items;
  pick.selectedItems = items.filter((i) => chosen.has(i.name));
  const showTotal = () => {
    const total = pick.selectedItems.reduce((sum, i) => sum + i.tokens, 0);
    pick.title = `Tools for This Chat: ${budgetNote(total, options.contextLength)}${estimated ? ' (estimated)' : ''}`;
  };
  showTotal();
  pick.busy = false;
  pick.onDidChangeSelection(showTotal);
  pick.onDidAccept(() => {
    accepted = true;
    pick.hide();
  });
  return result;
}
