// Messages between the chat webview (media/chat.ts) and the extension (chatViewProvider.ts), declared once and
// imported by both. No vscode import: this module is bundled into the webview too.
import type { ConsentCardView, ConsentChoice } from '../tools/consentCard';
import type { MessageState, ToolStep, TurnStats } from './conversation';

export type { ConsentCardView, ConsentChoice };

/** A context chip as the webview shows it (the text itself stays in the extension). */
export interface ChipView {
  id: string;
  label: string;
  /** Tooltip. */
  title: string;
  /** 'instructions': the project instructions in use (read-only: it has no remove button). */
  kind: 'selection' | 'file' | 'instructions';
}

export interface MessageView {
  id: string;
  role: 'user' | 'assistant';
  /** Markdown of an answer; plain text of a user message. */
  content: string;
  /** Assistant messages only. */
  state?: MessageState;
  error?: string;
  stats?: TurnStats;
  /** User messages only: the context that went with it. */
  chips?: ChipView[];
  /** Assistant messages only: the tool calls of the turn. */
  steps?: ToolStepView[];
  /** Assistant messages only: the workspace excerpts an `@workspace` answer had (those it cites first). */
  sources?: SourceView[];
}

/** An entry of an answer's Sources list: a link that opens the file at the line (`openSource` with its index). */
export interface SourceView {
  /** `path:line (symbol)`. */
  label: string;
  /** The answer cites it. */
  cited: boolean;
}

/** A tool call as the chat shows it; with `consent` while the call waits for the user. */
export interface ToolStepView extends ToolStep {
  /** What the call is about (a path, a pattern), worked out by the extension: the webview knows no arguments. */
  target?: string;
  /** The card with Allow once / Allow for this chat / Deny, drawn as it says (its kind decides the wording). */
  consent?: ConsentCardView;
}

/** A line above the prompt about the model and the sidecar, with the actions that help. */
export interface Banner {
  kind: 'info' | 'warning' | 'error';
  text: string;
  actions?: BannerAction[];
  /** Shows a close button. */
  dismissible?: boolean;
}

/**
 * An entry of the input box's completion list (slash commands, prompt files; slashCommands.ts makes them): shown
 * while the word at the cursor starts like `label`, and put in its place when picked.
 */
export interface CompletionItemView {
  /** What is typed and inserted, trigger character included: `/explain`. */
  label: string;
  description: string;
  /** A dim note beside it ("prompt file"). */
  detail?: string;
  /** Offered only as the first word of the message. */
  atStart?: boolean;
}

export type BannerAction = 'downloadModel' | 'selectModelFolder' | 'showLogs' | 'restartSidecar' | 'openSettings';

export type ToWebview =
  /** The whole conversation (on open, New chat, a history pick, or after the webview was recreated). */
  | { type: 'conversation'; id: string | undefined; title: string; messages: MessageView[]; busy: boolean }
  /** A turn began: the user's message (absent on Retry) and the answer that will stream. */
  | { type: 'turnStarted'; user?: MessageView; assistant: MessageView }
  | { type: 'delta'; messageId: string; text: string }
  /** The answer ended (done, stopped or failed); replaces the streamed text. */
  | { type: 'turnEnded'; message: MessageView }
  /** A tool call of an answer began or changed (shown at its offset in the answer). */
  | { type: 'step'; messageId: string; step: ToolStepView }
  /** The context that will go with the next message. */
  | { type: 'chips'; chips: ChipView[] }
  /** State of the model as far as the chat cares; undefined banner hides it. */
  | { type: 'banner'; banner: Banner | undefined; demo: boolean }
  | { type: 'focusPrompt' }
  /** The input box's completion list (sent on ready, and again when the prompt files change). */
  | { type: 'completions'; items: CompletionItemView[] }
  /** A short note under the input box (a slash command that could not run, and why). */
  | { type: 'notice'; text: string };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'send'; text: string }
  | { type: 'stop' }
  | { type: 'newChat' }
  | { type: 'retry'; messageId: string }
  | { type: 'removeChip'; id: string }
  | { type: 'copy'; code: string }
  | { type: 'insert'; code: string; language?: string }
  | { type: 'apply'; code: string; language?: string }
  | { type: 'action'; action: BannerAction }
  | { type: 'dismissBanner' }
  | { type: 'focusChanged'; focused: boolean }
  | { type: 'consent'; messageId: string; stepId: string; choice: ConsentChoice }
  | { type: 'showDiff'; messageId: string; stepId: string }
  /** A link of an answer's Sources list: the extension opens the file at the line (its own copy of the list). */
  | { type: 'openSource'; messageId: string; index: number };

const ACTIONS: readonly BannerAction[] = ['downloadModel', 'selectModelFolder', 'showLogs', 'restartSidecar', 'openSettings'];
const CHOICES: readonly ConsentChoice[] = ['once', 'chat', 'deny'];
const MAX_TEXT = 1_000_000;

const isText = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_TEXT;
const isOptionalText = (v: unknown): v is string | undefined => v === undefined || isText(v);

/**
 * The webview's message if it is one of FromWebview, else undefined. The webview renders model output, so the
 * extension treats what it sends as untrusted input and checks its shape before acting on it.
 */
export function parseFromWebview(value: unknown): FromWebview | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'ready': case 'stop': case 'newChat': case 'dismissBanner':
      return { type: m.type };
    case 'send':
      return isText(m.text) ? { type: 'send', text: m.text } : undefined;
    case 'retry':
      return isText(m.messageId) ? { type: 'retry', messageId: m.messageId } : undefined;
    case 'removeChip':
      return isText(m.id) ? { type: 'removeChip', id: m.id } : undefined;
    case 'copy':
      return isText(m.code) ? { type: 'copy', code: m.code } : undefined;
    case 'insert': case 'apply':
      return isText(m.code) && isOptionalText(m.language) ? { type: m.type, code: m.code, language: m.language } : undefined;
    case 'action':
      return ACTIONS.includes(m.action as BannerAction) ? { type: 'action', action: m.action as BannerAction } : undefined;
    case 'focusChanged':
      return typeof m.focused === 'boolean' ? { type: 'focusChanged', focused: m.focused } : undefined;
    case 'consent':
      return isText(m.messageId) && isText(m.stepId) && CHOICES.includes(m.choice as ConsentChoice)
        ? { type: 'consent', messageId: m.messageId, stepId: m.stepId, choice: m.choice as ConsentChoice }
        : undefined;
    case 'showDiff':
      return isText(m.messageId) && isText(m.stepId) ? { type: 'showDiff', messageId: m.messageId, stepId: m.stepId } : undefined;
    case 'openSource':
      return isText(m.messageId) && Number.isInteger(m.index) && (m.index as number) >= 0
        ? { type: 'openSource', messageId: m.messageId, index: m.index as number } : undefined;
    default:
      return undefined;
  }
}
