// OpenAI's chat-completions and completions shapes ↔ the engine's generation step: requests in (messages, tools,
// tool_choice, or a prompt; sampling; structured output), answers and stream chunks out. Only what the server needs; anything else in a request is ignored, as
// OpenAI-compatible servers do, and anything wrong in what it needs is a 400 with the field named.
import { randomUUID } from 'node:crypto';
import type { GenerationRequest, GenerationResult } from '../inferenceEngine';
import type { ChatMessage, ToolCall, ToolDefinition } from '../protocol';
import { parseToolCalls } from '../toolCalls/toolCallParser';

export class BadRequest extends Error {
  constructor(message: string, readonly param?: string) {
    super(message);
  }
}

interface OpenAiToolCall { id?: string; type?: string; function?: { name?: unknown; arguments?: unknown } }
interface OpenAiMessage { role?: unknown; content?: unknown; tool_calls?: OpenAiToolCall[]; name?: unknown; tool_call_id?: unknown }

/** What the server takes from a chat-completions body. */
export interface ChatCompletionRequest {
  generation: GenerationRequest;
  stream: boolean;
  includeUsage: boolean;
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

function text(content: unknown, where: string): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((part, i) => {
      if (part && typeof part === 'object' && (part as { type?: unknown }).type === 'text' && typeof (part as { text?: unknown }).text === 'string') {
        return (part as { text: string }).text;
      }
      throw new BadRequest(`${where}.content[${i}]: only text parts are supported (Phi-4-mini reads text).`, `${where}.content`);
    }).join('');
  }
  throw new BadRequest(`${where}.content must be a string or a list of text parts.`, `${where}.content`);
}

function toolCalls(calls: OpenAiToolCall[], where: string): ToolCall[] {
  return calls.map((c, i) => {
    const name = c.function?.name;
    if (typeof name !== 'string') throw new BadRequest(`${where}.tool_calls[${i}].function.name must be a string.`);
    let args: unknown = c.function?.arguments ?? '{}';
    if (typeof args === 'string') {
      try {
        args = JSON.parse(args || '{}');
      } catch {
        throw new BadRequest(`${where}.tool_calls[${i}].function.arguments is not JSON.`);
      }
    }
    if (!args || typeof args !== 'object' || Array.isArray(args)) throw new BadRequest(`${where}.tool_calls[${i}].function.arguments must be a JSON object.`);
    return { name, arguments: args as Record<string, unknown> };
  });
}

function messages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw new BadRequest('messages must be a non-empty list.', 'messages');
  return value.map((m: OpenAiMessage, i) => {
    const where = `messages[${i}]`;
    if (!m || typeof m !== 'object' || !ROLES.has(m.role as string)) {
      throw new BadRequest(`${where}.role must be one of system, developer, user, assistant, tool.`, `${where}.role`);
    }
    const role = m.role === 'developer' ? 'system' : (m.role as ChatMessage['role']);
    const message: ChatMessage = { role, content: text(m.content, where) };
    if (role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length) message.toolCalls = toolCalls(m.tool_calls, where);
    if (role === 'tool' && typeof m.name === 'string') message.name = m.name;
    return message;
  });
}

function tools(value: unknown): ToolDefinition[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new BadRequest('tools must be a list.', 'tools');
  return value.map((t, i) => {
    const f = (t as { type?: unknown; function?: { name?: unknown; description?: unknown; parameters?: unknown } })?.function;
    if ((t as { type?: unknown })?.type !== 'function' || !f || typeof f.name !== 'string') {
      throw new BadRequest(`tools[${i}] must be {"type": "function", "function": {"name", …}}.`, `tools[${i}]`);
    }
    return {
      name: f.name,
      ...(typeof f.description === 'string' ? { description: f.description } : {}),
      ...(f.parameters && typeof f.parameters === 'object' ? { parameters: f.parameters as Record<string, unknown> } : {}),
    };
  });
}

function number(body: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new BadRequest(`${key} must be a number from ${min} to ${max}.`, key);
  return v;
}

/** A chat-completions body → the generation step it asks for. */
export function chatCompletionRequest(body: unknown, maxNewTokensLimit: number): ChatCompletionRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('The body must be a JSON object.');
  const b = body as Record<string, unknown>;
  let offered = tools(b.tools);
  let toolChoice: GenerationRequest['toolChoice'] = offered.length ? 'auto' : 'none';
  const choice = b.tool_choice;
  if (choice === 'none' || choice === 'auto' || choice === 'required') toolChoice = choice;
  else if (choice && typeof choice === 'object') {
    const name = (choice as { function?: { name?: unknown } }).function?.name;
    const named = offered.find((t) => t.name === name);
    if (!named) throw new BadRequest(`tool_choice names a tool that is not in tools: ${JSON.stringify(name)}.`, 'tool_choice');
    offered = [named];
    toolChoice = 'required';
  } else if (choice !== undefined && choice !== null) throw new BadRequest('tool_choice must be none, auto, required or a named function.', 'tool_choice');
  if (toolChoice === 'required' && offered.length === 0) throw new BadRequest('tool_choice requires tools.', 'tool_choice');
  const maxTokens = number(b, 'max_completion_tokens', 1, maxNewTokensLimit) ?? number(b, 'max_tokens', 1, maxNewTokensLimit);
  const temperature = number(b, 'temperature', 0, 2);
  const topP = number(b, 'top_p', 0, 1);
  const seed = number(b, 'seed', -(2 ** 31), 2 ** 32);
  const parallel = b.parallel_tool_calls === false ? 1 : undefined;
  return {
    generation: {
      messages: messages(b.messages),
      tools: offered,
      toolChoice,
      ...(parallel ? { maxToolCalls: parallel } : {}),
      ...(maxTokens ? { maxNewTokens: maxTokens } : {}),
      sampling: { temperature: temperature ?? 0, ...(topP !== undefined ? { topP } : {}), ...(seed !== undefined ? { seed } : {}) },
    },
    stream: b.stream === true,
    includeUsage: (b.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true,
  };
}

/** What the server takes from a completions body: a prompt the client rendered, and where to stop. */
export interface CompletionRequest {
  generation: GenerationRequest;
  stream: boolean;
  includeUsage: boolean;
  stop: string[];
  /** vLLM's include_stop_str_in_output: the stop string that ended the answer is part of it. */
  includeStop: boolean;
}

/** A JSON schema given as an object or as its JSON text. */
function schema(value: unknown, param: string): object | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new BadRequest(`${param} is not a JSON schema (not JSON).`, param);
    }
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw new BadRequest(`${param} must be a JSON schema object.`, param);
  return value as object;
}

/**
 * The structured output a body asks for, under each server's name for it: vLLM's `structured_outputs.json` (and its
 * older `guided_json`), llama-server's `json_schema`, OpenAI's `response_format` json_schema.
 */
function responseSchema(b: Record<string, unknown>): object | undefined {
  const format = b.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | undefined;
  return schema((b.structured_outputs as { json?: unknown } | undefined)?.json, 'structured_outputs.json')
    ?? schema(b.guided_json, 'guided_json')
    ?? schema(b.json_schema, 'json_schema')
    ?? (format?.type === 'json_schema' ? schema(format.json_schema?.schema, 'response_format.json_schema.schema') : undefined);
}

/**
 * A completions body → the generation step: `prompt` is the text (special-token text matched as special tokens, as
 * vLLM does) or the token ids the client rendered. One prompt per request (no lists of prompts, no `n`, no `echo`).
 */
export function completionRequest(body: unknown, maxNewTokensLimit: number): CompletionRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('The body must be a JSON object.');
  const b = body as Record<string, unknown>;
  let prompt: string | number[];
  if (typeof b.prompt === 'string' && b.prompt.length > 0) prompt = b.prompt;
  else if (Array.isArray(b.prompt) && b.prompt.length > 0 && b.prompt.every((id) => Number.isInteger(id))) prompt = b.prompt as number[];
  else if (Array.isArray(b.prompt) && b.prompt.length === 1 && typeof b.prompt[0] === 'string' && b.prompt[0]) prompt = b.prompt[0];
  else throw new BadRequest('prompt must be a non-empty string or a list of token ids (one prompt per request).', 'prompt');
  if (b.echo === true) throw new BadRequest('echo is not supported.', 'echo');
  if (b.n !== undefined && b.n !== 1) throw new BadRequest('n must be 1.', 'n');
  const stop = b.stop === undefined || b.stop === null ? [] : typeof b.stop === 'string' ? [b.stop] : b.stop;
  if (!Array.isArray(stop) || stop.length > 8 || !stop.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 256)) {
    throw new BadRequest('stop must be a string or a list of at most 8 non-empty strings.', 'stop');
  }
  const maxTokens = number(b, 'max_tokens', 1, maxNewTokensLimit) ?? 16; // OpenAI's default for completions
  const temperature = number(b, 'temperature', 0, 2);
  const topP = number(b, 'top_p', 0, 1);
  const seed = number(b, 'seed', -(2 ** 31), 2 ** 32);
  const wanted = responseSchema(b);
  return {
    generation: {
      messages: [], prompt, maxNewTokens: maxTokens,
      ...(wanted ? { responseSchema: wanted } : {}),
      sampling: { temperature: temperature ?? 0, ...(topP !== undefined ? { topP } : {}), ...(seed !== undefined ? { seed } : {}) },
    },
    stream: b.stream === true,
    includeUsage: (b.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true,
    stop: stop as string[],
    includeStop: b.include_stop_str_in_output === true,
  };
}

export interface ChoiceOutcome {
  content: string | null;
  toolCalls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
  finishReason: 'stop' | 'length' | 'tool_calls';
}

/** The step's result as an OpenAI choice: its text, and its call list parsed (a call that cannot be used is text). */
export function choiceOutcome(result: GenerationResult, tools: ToolDefinition[]): ChoiceOutcome {
  if (result.toolCall) {
    const parsed = parseToolCalls(result.toolCall.text, tools);
    if (parsed.ok) {
      return {
        content: result.text || null,
        toolCalls: parsed.calls.map((c) => ({
          id: `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) },
        })),
        finishReason: 'tool_calls',
      };
    }
  }
  return { content: result.text, finishReason: result.finishReason === 'length' ? 'length' : 'stop' };
}

export function usage(result: GenerationResult): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const { promptTokens, completionTokens } = result.usage;
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}
