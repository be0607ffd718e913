// Conversation → the exact text and token ids the model is fed: the folder's own chat template and tokenizer.
import type { ModelFolder } from './modelFolder';
import { ChatTemplate, type ChatMessage, type ToolDefinition } from './template';
import { PhiTokenizer } from './tokenizer';

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

  static fromFolder(folder: ModelFolder): PromptBuilder {
    const tokenizer = new PhiTokenizer(folder.tokenizerJson, folder.tokenizerConfig);
    const template = new ChatTemplate(folder.chatTemplate, {
      bos_token: tokenText(folder.tokenizerConfig.bos_token),
      eos_token: tokenText(folder.tokenizerConfig.eos_token),
    });
    return new PromptBuilder(tokenizer, template);
  }

  /** The prompt for the assistant's next turn. */
  render(messages: readonly ChatMessage[], tools?: readonly ToolDefinition[]): RenderedPrompt {
    const text = this.template.render(messages, { tools, addGenerationPrompt: true });
    return { text, ids: this.tokenizer.encode(text) };
  }
}
