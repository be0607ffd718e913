// The prompt: the model folder's own chat_template rendered with @huggingface/jinja (what Hugging Face does), plus,
// in this one place, what Phi-4-mini's official template lacks. See shared/reference/phi4-format.md §3.1 and §4.
//
// The official template renders every message as `<|{role}|>{content}<|end|>` (no newlines anywhere), a system
// message with a `tools` *string* field as `<|system|>{content}<|tool|>{tools}<|/tool|><|end|>`, and ends with
// `<|assistant|>` (add_generation_prompt) or eos_token. It has no tool results and no assistant tool calls. We add:
//
// - tools: serialised into the `tools` field of the system message (inserted if there is none), as a JSON list of
//   {"name", "description", "parameters"} in the model card's "JSON dump" style, i.e. Python `json.dumps` with its
//   default separators `", "` and `": "`, keys in that order, absent keys left out, non-ASCII kept as is:
//     [{"name": "get_weather", "description": "Weather of a city.", "parameters": {"type": "object", ...}}]
// - a tool result (role 'tool'): `<|tool_response|>{content}<|end|>`, by handing it to the template as role
//   `tool_response`, which the template's generic branch renders exactly so.
// - an assistant message with tool calls: its content, then `<|tool_call|>[{"name": …, "arguments": {…}}]<|/tool_call|>`
//   (same JSON style, which is also what the model emits), inside the usual `<|assistant|>…<|end|>`.
import { Template } from '@huggingface/jinja';

import type { ChatMessage, ToolCall, ToolDefinition } from '../protocol';

export type { ChatMessage, ToolCall, ToolDefinition };

export interface RenderOptions {
  /** Tools offered to the model; none (or an empty list) renders no `<|tool|>` block. */
  tools?: readonly ToolDefinition[];
  /** End with `<|assistant|>` so the model answers (default), or with eos_token. */
  addGenerationPrompt?: boolean;
}

/**
 * System content used when tools are given but the conversation has no system message: the official template only
 * renders tools inside a system message, and this is the sentence the model card's tool-calling example uses.
 */
export const DEFAULT_TOOL_SYSTEM_PROMPT = 'You are a helpful assistant with some tools.';

/** A message as the official template reads it (HF style: tools as a JSON string on the system message). */
interface TemplateMessage { role: string; content: string; tools?: string }

export class ChatTemplate {
  private readonly template: Template;

  /** Compiles the template once. `specialTokens` are the tokenizer_config.json values the template may use. */
  constructor(chatTemplate: string, private readonly specialTokens: { bos_token?: string; eos_token?: string }) {
    this.template = new Template(chatTemplate);
  }

  render(messages: readonly ChatMessage[], options: RenderOptions = {}): string {
    const tools = options.tools && options.tools.length > 0 ? options.tools : undefined;
    const out: TemplateMessage[] = messages.map(toTemplateMessage);
    if (tools) {
      const toolsJson = toolsToJson(tools);
      if (out.length > 0 && out[0].role === 'system') out[0].tools = toolsJson;
      else out.unshift({ role: 'system', content: DEFAULT_TOOL_SYSTEM_PROMPT, tools: toolsJson });
    }
    return this.template.render({
      messages: out,
      add_generation_prompt: options.addGenerationPrompt ?? true,
      bos_token: this.specialTokens.bos_token ?? '',
      eos_token: this.specialTokens.eos_token ?? '',
    });
  }
}

function toTemplateMessage(m: ChatMessage): TemplateMessage {
  if (m.role === 'tool') return { role: 'tool_response', content: m.content };
  if (m.role === 'assistant' && m.toolCalls && m.toolCalls.length > 0) {
    return { role: 'assistant', content: m.content + toolCallsText(m.toolCalls) };
  }
  return { role: m.role, content: m.content };
}

/** `<|tool_call|>[{"name": …, "arguments": {…}}, …]<|/tool_call|>`: the model's own tool-call format. */
export function toolCallsText(calls: readonly ToolCall[]): string {
  return '<|tool_call|>' + pyJsonDumps(calls.map((c) => ({ name: c.name, arguments: c.arguments ?? {} }))) + '<|/tool_call|>';
}

/** The `tools` string of the system message: a JSON list of {name, description, parameters}. */
export function toolsToJson(tools: readonly ToolDefinition[]): string {
  return pyJsonDumps(tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters })));
}

/**
 * JSON in Python `json.dumps(value, ensure_ascii=False)` style: `", "` between items, `": "` after keys, one line.
 * Values are first normalised by JSON.stringify semantics (toJSON, undefined keys dropped, NaN → null).
 */
export function pyJsonDumps(value: unknown): string {
  const normalised = JSON.stringify(value);
  if (normalised === undefined) return 'null';
  return dump(JSON.parse(normalised));
}

function dump(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(dump).join(', ') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.entries(v).map(([k, x]) => JSON.stringify(k) + ': ' + dump(x)).join(', ') + '}';
  }
  return JSON.stringify(v);
}
