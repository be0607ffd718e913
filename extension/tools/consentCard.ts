// The consent card a request shows, worked out from its kind alone: title, detail, the text to show as it is (a
// command line), the three answers' hints, and whether there is a diff to open. No vscode import: unit-tested, and
// the webview only draws what this returns, knowing no tool.
import type { ConsentRequest } from './toolTypes';

export type ConsentChoice = 'once' | 'chat' | 'deny';

export interface ConsentCardView {
  kind: ConsentRequest['kind'];
  title: string;
  detail: string;
  /** Shown verbatim in a code box (the command line). */
  code?: string;
  /** The answers, in order: label and tooltip. */
  choices: { choice: ConsentChoice; label: string; hint: string }[];
  /** A "Show diff" button opens the proposed change again. */
  showDiff: boolean;
}

const choices = (once: string, chat: string, deny: string): ConsentCardView['choices'] => [
  { choice: 'once', label: 'Allow once', hint: once },
  { choice: 'chat', label: 'Allow for this chat', hint: chat },
  { choice: 'deny', label: 'Deny', hint: deny },
];

export function consentCard(request: ConsentRequest): ConsentCardView {
  switch (request.kind) {
    case 'edit':
      return {
        kind: 'edit', title: request.title, detail: request.detail, showDiff: request.showDiff !== undefined,
        choices: choices('Apply this change', 'Apply this and later changes in this conversation without asking', 'Do not change anything; Phi is told you said no'),
      };
    case 'command':
      return {
        kind: 'command',
        title: `Run a command${request.cwd ? ` in ${request.cwd}` : ''}`,
        detail: request.detail ?? `Phi (${request.tool}) wants to run this command; it can do anything you can.`,
        code: request.commandLine,
        showDiff: false,
        choices: choices('Run this command', 'Run this and later commands in this conversation without asking', 'Do not run it; Phi is told you said no'),
      };
    case 'read':
      return {
        kind: 'read',
        title: `Read ${request.what}`,
        detail: request.detail ?? `Phi (${request.tool}) wants to read ${request.what}; what it reads goes into the conversation.`,
        showDiff: false,
        choices: choices('Let Phi read it', 'Let Phi read this and more in this conversation without asking', 'Do not read it; Phi is told you said no'),
      };
    case 'external':
      return {
        kind: 'external',
        title: `Call ${request.tool}`,
        detail: request.detail ?? `Phi wants to call ${request.tool}, a tool from another extension or an MCP server, with these arguments; it can do whatever that tool does.`,
        code: request.input,
        showDiff: false,
        choices: choices(`Call ${request.tool} this once`, `Call ${request.tool} in this conversation without asking`, 'Do not call it; Phi is told you said no'),
      };
  }
}
