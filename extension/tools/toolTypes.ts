// What a workspace tool is: its definition for the model (name, description, JSON schema of its arguments), whether
// it writes, and how it runs. Tools get the workspace folders, a cancellation token and a way to ask the user
// before acting (toolRunner.ts supplies them; what a tool may ask is a ConsentRequest).
import type * as vscode from 'vscode';
import type { ToolDefinition, ToolResult } from '../../sidecar/protocol';
import type { WorkspaceRoot } from './workspacePaths';

/** The user's answer on a consent card: Allow once, Allow for this chat, Deny. */
export type ConsentDecision = 'once' | 'chat' | 'deny';

/**
 * What a tool asks before it acts, by kind. The card's wording and buttons follow from the kind
 * (consentCard.ts), so a new tool picks a kind and fills its fields; neither the broker nor the webview changes.
 */
export type ConsentRequest =
  /** A change to files, shown as a diff. */
  | { kind: 'edit'; tool: string; /** "Edit src/app.py (line 3)". */ title: string; /** What happens on Allow. */ detail: string;
      /** Opens the diff of the proposed change again (the user may have closed it). */ showDiff?(): Promise<void> }
  /** A command line to run, shown as it will run. */
  | { kind: 'command'; tool: string; commandLine: string; /** Where it runs, as the user reads it. */ cwd?: string; detail?: string }
  /** A read of something sensitive (a secret, a file outside the workspace), named in `what`. */
  | { kind: 'read'; tool: string; what: string; detail?: string }
  /** A call of a tool another extension or an MCP server provides (externalToolSource.ts), with its arguments as JSON. */
  | { kind: 'external'; tool: string; input: string; detail?: string };

export interface ToolContext {
  roots: readonly WorkspaceRoot[];
  token: vscode.CancellationToken;
  /** Asks the user (the card follows from the request's kind), or answers 'chat' at once if that kind is allowed. */
  confirm(request: ConsentRequest): Promise<ConsentDecision>;
  /** The user chose "Allow for this chat" for edits earlier: edits apply without asking (or showing a diff). Other
   *  kinds just call confirm, which answers at once when their kind is allowed. */
  preapproved: boolean;
  /** Result budget in bytes. */
  budget: number;
}

export interface Tool {
  definition: ToolDefinition & { name: string; description: string; parameters: Record<string, unknown> };
  /** Writing tools change the workspace (they ask first, with an 'edit' consent). */
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
