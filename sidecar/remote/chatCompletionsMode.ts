// The remote engine's general mode: /v1/chat/completions, streamed, with `tools`. The server applies its own chat
// template and tool parser; the calls arrive as `tool_calls` deltas (joined by index, `content: null` beside them,
// finish_reason "tool_calls") and are handed to the turn as Phi-4's call-list text, so the same parser and schema
// check judge them as a local call. Used for models other than Phi-4, and for Phi-4 when its tokenizer files are not
// at hand (phiCompletionsMode.ts is the exact one).
//
// Two things vLLM does with Phi-4-mini are met here: with its Phi-4 template but no tool parser, a call arrives as
// text, `functools[{…}]` — held back while the answer could still be one, and taken as the call list; with its
// phi4_mini_json parser, a streamed tool turn yields neither text nor calls — said, with the fix.
import { EngineError } from '../engineError';
import type { GenerationOptions, GenerationRequest, GenerationResult } from '../inferenceEngine';
import type { ChatMessage, ToolDefinition } from '../protocol';
import type { ServerConnection } from './serverConnection';
import { emptyResult, readStream } from './streamResult';

/** How vLLM's Phi-4-mini template has the model write a call list when no parser takes it out of the text. */
const FUNCTOOLS = 'functools[';

interface ChatChunk {
  choices?: { delta?: { content?: string | null; tool_calls?: { index: number; function?: { name?: string; arguments?: string } }[] }; finish_reason?: string | null }[];
}

/** Our messages in OpenAI's shape; tool results get the ids of the calls they answer, in order. */
export function openAiMessages(messages: ChatMessage[]): unknown[] {
  const pending: string[] = [];
  return messages.map((m, i) => {
    if (m.role === 'assistant' && m.toolCalls?.length) {
      const calls = m.toolCalls.map((c, j) => ({ id: `call_${i}_${j}`, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } }));
      pending.push(...calls.map((c) => c.id));
      return { role: 'assistant', content: m.content || null, tool_calls: calls };
    }
    if (m.role === 'tool') return { role: 'tool', content: m.content, tool_call_id: pending.shift() ?? `call_${i}`, ...(m.name ? { name: m.name } : {}) };
    return { role: m.role, content: m.content };
  });
}

function openAiTools(tools: ToolDefinition[] | undefined): unknown[] | undefined {
  if (!tools?.length) return undefined;
  return tools.map((t) => ({ type: 'function', function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.parameters ?? { type: 'object', properties: {} } } }));
}

export async function generateByChat(
  server: ServerConnection, model: string, request: GenerationRequest, options: GenerationOptions,
): Promise<GenerationResult> {
  if (request.prompt !== undefined || request.responseSchema) {
    throw new EngineError('bad-request', 'A raw prompt or a response schema needs the completions mode (Phi-4\'s tokenizer files at hand).');
  }
  const started = performance.now();
  const tools = openAiTools(request.tools);
  const body = {
    model, stream: true, stream_options: { include_usage: true },
    messages: openAiMessages(request.assistantPrefix
      ? [...request.messages, { role: 'assistant', content: request.assistantPrefix }] : request.messages),
    ...(tools && request.toolChoice !== 'none' ? { tools, tool_choice: request.toolChoice ?? 'auto', ...(request.maxToolCalls === 1 ? { parallel_tool_calls: false } : {}) } : {}),
    ...(request.maxNewTokens ? { max_tokens: request.maxNewTokens } : {}),
    temperature: request.sampling?.temperature ?? 0,
    ...(request.sampling?.topP !== undefined ? { top_p: request.sampling.topP } : {}),
    ...(request.sampling?.seed !== undefined ? { seed: request.sampling.seed } : {}),
  };
  const result = emptyResult(request);
  const calls: { name: string; arguments: string }[] = [];
  // Text held back while it could be the start of `functools[` (a call written as text), and whether it is one.
  let held = '';
  let functools = false;
  const offered = body.tools !== undefined;
  const read = await readStream<ChatChunk>(server, '/chat/completions', body, result, started, options, (chunk) => {
    const choice = chunk.choices?.[0];
    for (const d of choice?.delta?.tool_calls ?? []) {
      calls[d.index] ??= { name: '', arguments: '' };
      if (d.function?.name) calls[d.index].name = d.function.name;
      calls[d.index].arguments += d.function?.arguments ?? '';
    }
    let text = choice?.delta?.content ?? undefined;
    if (text && offered && !functools && result.text === '') {
      held += text;
      const start = held.trimStart();
      if (start.startsWith(FUNCTOOLS)) {
        functools = true;
        text = undefined;
      } else if (FUNCTOOLS.startsWith(start)) text = undefined;
      else {
        text = held;
        held = '';
      }
    } else if (text && functools) {
      held += text;
      text = undefined;
    }
    return { text, finish: choice?.finish_reason };
  });
  if (read.cancelled) return read.result;
  if (functools) {
    result.toolCall = { text: held.trimStart().slice(FUNCTOOLS.length - 1).trim(), closed: read.finish !== 'length' };
    result.finishReason = 'tool-call';
    return result;
  }
  if (held) {
    result.text += held;
    options.onText?.(held, 0);
  }
  if (offered && !calls.length && !result.text && !result.interrupted && read.finish === 'stop') {
    result.interrupted = `${server.base} sent an empty answer to a turn with tools: its tool parser may not stream ` +
      '(vLLM\'s phi4_mini_json does not). For Phi-4, set phiLocal.remote.api to "completions".';
  }
  if (calls.length) {
    // Phi-4's call-list text, which the turn parses and checks against the schemas like a local call.
    const list = calls.filter(Boolean).map((c) => `{"name": ${JSON.stringify(c.name)}, "arguments": ${c.arguments || '{}'}}`);
    result.toolCall = { text: `[${list.join(', ')}]`, closed: true };
    result.finishReason = 'tool-call';
  } else {
    result.finishReason = read.finish === 'length' ? 'length' : 'stop';
  }
  return result;
}
