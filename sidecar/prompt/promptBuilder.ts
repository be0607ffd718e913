// Conversation → the exact text and token ids the model is fed: the folder's own chat template and tokenizer.
import type { PromptFiles } from './promptFiles';
import { ChatTemplate, type ChatMessage, type ToolDefinition } from './template';
import { PhiTokenizer, type CancelSignal } from './tokenizer';

export interface RenderedPrompt {
  text: string;
  ids: number[];
}

/** tokenizer_config.json writes special tokens either as strings or as {content: ...} objects. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const content = (value as { content?: unknown } | undefined)?.content;
  return typeof content === 'string' ? content : undefined;
}

export class PromptBuilder {
  constructor(readonly tokenizer: PhiTokenizer, readonly template: ChatTemplate) {}

  static fromFolder(folder: PromptFiles): PromptBuilder {
    const tokenizer = new PhiTokenizer(folder.tokenizerJson, folder.tokenizerConfig);
    const template = new ChatTemplate(folder.chatTemplate, {
      bos_token: tokenText(folder.tokenizerConfig.bos_token),
      eos_token: tokenText(folder.tokenizerConfig.eos_token),
    });
    return new PromptBuilder(tokenizer, template);
  }

  /** The prompt for the assistant's next turn (content is data, never markup: see `marked`). */
  render(messages: readonly ChatMessage[], tools?: readonly ToolDefinition[], assistantPrefix = ''): RenderedPrompt {
    const pieces = this.marked(messages, tools, assistantPrefix);
    return { text: pieces.join(''), ids: pieces.flatMap((piece) => this.tokenizer.encode(piece)) };
  }

  /**
   * `render`, giving the event loop turns while it tokenizes and stopping once `signal` is aborted (then undefined):
   * a conversation of megabytes takes seconds to tokenize, and a Stop must not wait for it.
   */
  async renderAsync(messages: readonly ChatMessage[], tools?: readonly ToolDefinition[], assistantPrefix?: string): Promise<RenderedPrompt>;
  async renderAsync(messages: readonly ChatMessage[], tools: readonly ToolDefinition[] | undefined, assistantPrefix: string | undefined,
    signal: CancelSignal | undefined): Promise<RenderedPrompt | undefined>;
  async renderAsync(messages: readonly ChatMessage[], tools?: readonly ToolDefinition[], assistantPrefix = '', signal?: CancelSignal): Promise<RenderedPrompt | undefined> {
    const pieces = this.marked(messages, tools, assistantPrefix);
    const ids: number[] = [];
    for (const piece of pieces) {
      const pieceIds = await this.tokenizer.encodeAsync(piece, signal);
      if (!pieceIds) return undefined;
      for (const id of pieceIds) ids.push(id);
    }
    return { text: pieces.join(''), ids };
  }

  /**
   * The rendered text, split where content had a `<|`. Text that came from users, files, tools or earlier answers
   * is data, never markup: a `<|end|><|assistant|>` inside a pasted file must not end the user's turn. So every `<|`
   * in message content and tool definitions is split with a marker before rendering, and the pieces are tokenized
   * separately: no added token can match across the split, while the template's own markup stays special.
   * `assistantPrefix`: the start of the answer, written for the model (inline completions pre-fill the code before
   * the cursor so the model continues it); it is data too.
   */
  private marked(messages: readonly ChatMessage[], tools: readonly ToolDefinition[] | undefined, assistantPrefix: string): string[] {
    return (this.template.render(messages.map(escapeMessage), { tools: tools?.map(escapeTool), addGenerationPrompt: true }) + escapeText(assistantPrefix)).split(SPLIT);
  }
}

/** A noncharacter (never in interchanged text) placed between `<` and `|` in content. */
const SPLIT = '\uFDD0';
const escapeText = (text: string) => text.replaceAll('<|', `<${SPLIT}|`);

function escapeMessage(m: ChatMessage): ChatMessage {
  const content = escapeText(m.content);
  const toolCalls = m.toolCalls?.map((c) => escapeJson(c));
  return content === m.content && !m.toolCalls ? m : { ...m, content, ...(toolCalls ? { toolCalls } : {}) };
}

const escapeTool = (tool: ToolDefinition): ToolDefinition => escapeJson(tool);

/** Every string (keys included) of plain JSON data, escaped. */
function escapeJson<T>(value: T): T {
  if (typeof value === 'string') return escapeText(value) as T;
  if (Array.isArray(value)) return value.map(escapeJson) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [escapeText(k), escapeJson(v)])) as T;
  }
  return value;
}
