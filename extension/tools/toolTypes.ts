// What a workspace tool is: its definition for the model (name, description, JSON schema of its arguments), whether
// it writes, and how it runs. Tools get the workspace folders, a cancellation token and, for writing tools, a way to
// ask the user (toolRunner.ts supplies them).
import type * as vscode from 'vscode';
import type { ToolDefinition, ToolResult } from '../../sidecar/protocol';
import type { WorkspaceRoot } from './workspacePaths';

/** The user's answer to a writing tool: Allow once, Allow for this chat, Deny. */
export type ConsentDecision = 'once' | 'chat' | 'deny';

/** What the consent card in the chat shows for a writing call. */
export interface ConsentRequest {
  tool: string;
  /** One line: "Edit src/app.py (line 3)". */
  title: string;
  /** What happens on Allow. */
  detail: string;
  /** Opens the diff of the proposed change again (the user may have closed it). */
  showDiff(): Promise<void>;
}

export interface ToolContext {
  roots: readonly WorkspaceRoot[];
  token: vscode.CancellationToken;
  /** Asks the user about a change (or answers at once when this chat is already allowed). */
  confirm(request: ConsentRequest): Promise<ConsentDecision>;
  /** The user chose "Allow for this chat" earlier: writing tools apply without asking (or showing a diff). */
  preapproved: boolean;
  /** Result budget in bytes. */
  budget: number;
}

export interface Tool {
  definition: ToolDefinition & { name: string; description: string; parameters: Record<string, unknown> };
  /** Writing tools ask the user first. */
  writes: boolean;
  /** The model sees the returned text (or ToolResult); a thrown ToolError becomes an error result it can act on. */
  run(args: Record<string, unknown>, context: ToolContext): Promise<string | ToolResult>;
}

/** A failure the model should hear about, worded for it ("old_text was not found…"). */
export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}
