// Runs the model's tool calls for the chat: which tools a turn is offered (none in an untrusted workspace), and
// one call at a time with its arguments checked, its paths kept inside the workspace, its result cut to the budget,
// and tools that ask the user (a ConsentRequest) waiting for the answer. "Allow for this chat" is remembered per
// conversation and consent kind, for this session. Beside them, the tools of other extensions and MCP servers that the
// conversation's choice names (externalTools.ts, externalToolSource.ts): a turn's definitions() says which it offers,
// and only those run when called in that conversation ("Allow for this chat" counts per external tool).
// Whatever goes wrong becomes an error result the model reads, never an exception in the sidecar's loop.
import * as vscode from 'vscode';
import type { ToolCallInfo, ToolDefinition, ToolResult } from '../../sidecar/protocol';
import type { ActiveEditorSource } from './getActiveEditor';
import { ProposalDocuments } from '../proposalDocuments';
import { createTools, WITHOUT_FOLDER } from './toolRegistry';
import { externalTool, registeredExternalTools } from './externalToolSource';
import { chosenTools, type ExternalToolInfo } from './externalTools';
import { fitToBudget, RESULT_BUDGET_BYTES } from './toolOutput';
import { toolTarget } from './toolTarget';
import { ToolError, type ConsentDecision, type ConsentRequest, type Tool } from './toolTypes';
import type { WorkspaceRoot } from './workspacePaths';

/** The writing tools' proposed texts (not the code blocks' or refactors'; see proposalDocuments.ts). */
const TOOL_PROPOSAL_SCHEME = 'phi-local-tool-proposal';

export interface ToolCallContext {
  conversationId: string;
  token: vscode.CancellationToken;
  /** Shows the consent card for a call; resolves with the user's answer ('deny' if the turn ended). */
  ask(request: ConsentRequest): Promise<ConsentDecision>;
}

const CANCELLED: ToolResult = { content: 'The user stopped the turn before the tool finished.', isError: true };

function workspaceRoots(): WorkspaceRoot[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => ({ name: f.name, fsPath: f.uri.fsPath }));
}

export class ToolRunner implements vscode.Disposable {
  private readonly proposals = new ProposalDocuments(TOOL_PROPOSAL_SCHEME);
  private readonly tools: Tool[];
  private readonly allowedChats = new Set<string>();
  /** The external tools each conversation's latest turn offered: what its calls may run. */
  private readonly offeredExternal = new Map<string, Tool[]>();

  constructor(
    private readonly log: vscode.LogOutputChannel,
    activeEditor: ActiveEditorSource,
    private readonly budget = RESULT_BUDGET_BYTES,
  ) {
    this.tools = createTools(this.proposals, activeEditor);
  }

  /** Why no tools are offered, or undefined when they are. */
  unavailableReason(): string | undefined {
    if (!vscode.workspace.isTrusted) return 'the workspace is not trusted';
    return undefined;
  }

  /**
   * The definitions to send with a turn: none in an untrusted workspace; without folders, only those that need none;
   * with a conversation, also the external tools its choice names (undefined choice: the default), which its calls
   * may then run.
   */
  definitions(conversationId?: string, externalChoice?: readonly string[]): ToolDefinition[] {
    if (this.unavailableReason()) return [];
    const hasFolder = workspaceRoots().length > 0;
    const own = this.tools.filter((t) => hasFolder || WITHOUT_FOLDER.has(t.definition.name)).map((t) => t.definition);
    if (!conversationId) return own;
    const external = chosenTools(this.externalTools(), externalChoice).map(externalTool);
    this.offeredExternal.set(conversationId, external);
    return [...own, ...external.map((t) => t.definition)];
  }

  /** What a new chat's first turn would offer (its choice still the default), without recording it: for warming its prompt. */
  newChatDefinitions(): ToolDefinition[] {
    if (this.unavailableReason()) return [];
    const hasFolder = workspaceRoots().length > 0;
    const own = this.tools.filter((t) => hasFolder || WITHOUT_FOLDER.has(t.definition.name)).map((t) => t.definition);
    return [...own, ...chosenTools(this.externalTools(), undefined).map((t) => externalTool(t).definition)];
  }

  /** The tools of other extensions and MCP servers registered now (Phi Local's own left out). */
  externalTools(): ExternalToolInfo[] {
    return registeredExternalTools(new Set(this.tools.map((t) => t.definition.name)));
  }

  /** What a call is about, for its step's summary (toolTarget.ts). */
  target(name: string, argumentsJson: string): string | undefined {
    const definition = this.tools.find((t) => t.definition.name === name)?.definition ??
      [...this.offeredExternal.values()].flat().find((t) => t.definition.name === name)?.definition;
    return toolTarget(definition, argumentsJson);
  }

  async run(call: ToolCallInfo, context: ToolCallContext): Promise<ToolResult> {
    const started = performance.now();
    const result = await this.runUnlogged(call, context);
    const outcome = result.denied ? 'denied' : result.isError ? `error: ${result.content}` : `ok, ${result.content.length} chars`;
    this.log.info(`Tool ${call.name} ${JSON.stringify(call.arguments)} → ${outcome} (${Math.round(performance.now() - started)} ms)`);
    return result;
  }

  private async runUnlogged(call: ToolCallInfo, context: ToolCallContext): Promise<ToolResult> {
    const unavailable = this.unavailableReason();
    if (unavailable) return { content: `Tools are off because ${unavailable}.`, isError: true };
    const offered = this.offeredExternal.get(context.conversationId) ?? [];
    const tool = this.tools.find((t) => t.definition.name === call.name) ?? offered.find((t) => t.definition.name === call.name);
    if (!tool) {
      const names = [...this.tools, ...offered].map((t) => t.definition.name);
      return { content: `There is no tool named "${call.name}". The tools are: ${names.join(', ')}.`, isError: true };
    }
    const args = call.arguments;
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return { content: 'The arguments must be a JSON object.', isError: true };
    if (context.token.isCancellationRequested) return CANCELLED;

    // "Allow for this chat" covers requests of the same kind only: allowing edits does not let commands run unasked;
    // an external tool's, that tool only.
    const allowedKey = (kind: ConsentRequest['kind'], tool = '') => `${context.conversationId}\u0000${kind}${kind === 'external' ? `\u0000${tool}` : ''}`;
    const confirm = async (request: ConsentRequest): Promise<ConsentDecision> => {
      if (this.allowedChats.has(allowedKey(request.kind, request.tool))) return 'chat';
      const decision = await context.ask(request);
      if (decision === 'chat') this.allowedChats.add(allowedKey(request.kind, request.tool));
      return decision;
    };
    let cancelSubscription: vscode.Disposable | undefined;
    const cancelled = new Promise<ToolResult>((resolve) => {
      cancelSubscription = context.token.onCancellationRequested(() => resolve(CANCELLED));
    });
    try {
      const run = tool.run(args, { roots: workspaceRoots(), token: context.token, confirm, preapproved: this.allowedChats.has(allowedKey('edit')), budget: this.budget })
        .then((r): ToolResult => (typeof r === 'string' ? { content: r } : r));
      const result = await Promise.race([run, cancelled]);
      // A result is never longer than the budget, whatever the tool did.
      return { ...result, content: fitToBudget(result.content, this.budget).text };
    } catch (e) {
      if (e instanceof ToolError) return { content: e.message, isError: true };
      this.log.error(`Tool ${call.name} failed: ${(e as Error)?.stack ?? String(e)}`);
      return { content: `The tool ${call.name} failed: ${(e as Error)?.message ?? String(e)}`, isError: true };
    } finally {
      cancelSubscription?.dispose();
    }
  }

  dispose(): void {
    this.proposals.dispose();
  }
}
