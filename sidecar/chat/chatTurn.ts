// One chat turn with tools: generate; when the model calls tools (the constrained `<|tool_call|>[…]<|/tool_call|>`),
// read and check the calls, have the client run them (phi/runTool), append the call and its results to the turn,
// and generate again, until the model answers without a call. Calls per turn are limited: past the limit, the model
// may no longer call and must answer. A call that cannot be used (possible only when its text was not constrained,
// e.g. cut off by the token limit) is reported to the client (phi/toolStepRefused) and to the model, as an error
// result; it never fails the turn. With toolExecution 'return', the turn ends at the call instead, with the calls in
// the result, for callers that run tools themselves.
//
// The turn's messages (ChatResult.messages) are the assistant's calls, the tool results and the final answer, in the
// form template.ts renders back to the very tokens that were generated and fed, so the next turn reuses the cache.
import { randomUUID } from 'node:crypto';
import type { GenerationRequest, GenerationResult } from '../inferenceEngine';
import type { ChatMessage, ChatParams, ChatResult, ToolCallInfo, ToolResult, ToolStepNotice } from '../protocol';
import { parseToolCalls } from '../toolCalls/toolCallParser';
import { ToolCallValidator } from '../toolCalls/toolCallValidator';

export const DEFAULT_MAX_TOOL_CALLS = 5;

/** What the flow needs from the sidecar: the engine, the client, and where the text goes. */
export interface TurnIO {
  /** One generation step of the turn (the engine, under the turn's cancel signal). */
  generate(request: GenerationRequest, onText: (text: string, tokens: number) => void): Promise<GenerationResult>;
  /** The client runs a call (phi/runTool). The flow stops waiting when the turn is cancelled. */
  runTool(call: ToolCallInfo): Promise<ToolResult>;
  /** A call that could not be used (phi/toolStepRefused). */
  refused(notice: ToolStepNotice): void;
  /** Text for the reader (phi/chatDelta); `tokens`: generated so far in this turn. */
  text(delta: string, tokens: number): void;
}

export async function runChatTurn(params: ChatParams, io: TurnIO, signal: AbortSignal): Promise<ChatResult> {
  const started = performance.now();
  const tools = params.tools ?? [];
  const maxCalls = params.maxToolCalls ?? DEFAULT_MAX_TOOL_CALLS;
  const validator = new ToolCallValidator(tools);
  const turn: ChatMessage[] = [];
  const steps: GenerationResult[] = [];
  let callsMade = 0;
  let generatedTokens = 0;
  let finishReason: ChatResult['finishReason'] = 'stop';
  let returned: ToolCallInfo[] | undefined;

  for (;;) {
    const callsLeft = Math.max(0, maxCalls - callsMade);
    const step = await io.generate({
      messages: [...params.messages, ...turn],
      tools,
      sampling: params.sampling,
      maxNewTokens: params.maxNewTokens,
      // 'required' makes the turn start with a call; once results are in, the model decides.
      toolChoice: callsLeft === 0 ? 'none' : callsMade > 0 && params.toolChoice === 'required' ? 'auto' : params.toolChoice,
      maxToolCalls: callsLeft || undefined,
    }, (text, tokens) => io.text(text, generatedTokens + tokens));
    steps.push(step);
    generatedTokens += step.tokenIds.length;

    if (!step.toolCall || step.finishReason === 'cancelled' || step.interrupted) {
      // An answer, or a turn stopped by the user (a call cut short by a cancel is dropped, not refused).
      turn.push({ role: 'assistant', content: step.text });
      finishReason = step.finishReason === 'tool-call' ? 'stop' : step.finishReason;
      break;
    }
    const parsed = parseToolCalls(step.toolCall.text, tools, validator);
    if (!parsed.ok) {
      io.refused({ turnId: params.turnId, raw: step.toolCall.text, error: parsed.error });
      turn.push({ role: 'assistant', content: step.text });
      if (step.finishReason !== 'tool-call') {
        finishReason = step.finishReason; // the token limit cut it: no room left to tell the model
        break;
      }
      turn.push({ role: 'tool', content: JSON.stringify({ error: `Your tool call could not be used: ${parsed.error}` }) });
      callsMade++;
      continue;
    }
    const calls: ToolCallInfo[] = parsed.calls.map((c) => ({ id: `call_${randomUUID().slice(0, 8)}`, name: c.name, arguments: c.arguments }));
    turn.push({ role: 'assistant', content: step.text, toolCalls: parsed.calls });
    if ((params.toolExecution ?? 'client') === 'return') {
      returned = calls;
      finishReason = 'tool-calls';
      break;
    }
    for (const call of calls) {
      const content = callsMade < maxCalls
        ? await runOne(io, call, signal)
        : JSON.stringify({ error: `The limit of ${maxCalls} tool calls in one answer is reached; answer with what you have.` });
      callsMade++;
      turn.push({ role: 'tool', name: call.name, content });
    }
    if (signal.aborted) {
      finishReason = 'cancelled';
      break;
    }
  }

  const last = steps[steps.length - 1];
  return {
    ...summed(steps, performance.now() - started),
    ...(last.cancelCause ? { cancelCause: last.cancelCause } : {}),
    ...(last.interrupted ? { interrupted: last.interrupted } : {}),
    finishReason,
    messages: turn,
    ...(returned ? { toolCalls: returned } : {}),
  };
}

/** Runs one call on the client; what the model is told, as the tool's result. Never throws. */
async function runOne(io: TurnIO, call: ToolCallInfo, signal: AbortSignal): Promise<string> {
  if (signal.aborted) return JSON.stringify({ error: 'The user stopped the answer before this tool ran.' });
  let result: ToolResult;
  try {
    result = await untilAborted(io.runTool(call), signal);
  } catch (e) {
    if (signal.aborted) return JSON.stringify({ error: 'The user stopped the answer before this tool finished.' });
    return JSON.stringify({ error: `The tool failed: ${(e as Error)?.message ?? String(e)}` });
  }
  if (result.denied) return JSON.stringify({ error: `The user denied this call.${result.content ? ` ${result.content}` : ''}` });
  if (result.isError) return JSON.stringify({ error: result.content });
  return result.content;
}

/** `promise`, or a rejection as soon as `signal` aborts (the client may never answer a cancelled request). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('cancelled'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * The turn's figures from its steps: text and tokens joined, completion tokens and step times summed; the prompt
 * and reuse are the first step's (what the conversation cost), totalMs the whole turn's, tool runs included.
 */
function summed(steps: GenerationResult[], totalMs: number): Omit<ChatResult, 'finishReason' | 'messages'> {
  const first = steps[0];
  const completionTokens = steps.reduce((n, s) => n + s.usage.completionTokens, 0);
  const prefillMs = steps.reduce((n, s) => n + s.timings.prefillMs, 0);
  const decodeMs = steps.reduce((n, s) => n + s.timings.decodeMs, 0);
  const decoded = steps.reduce((n, s) => n + Math.max(0, s.usage.completionTokens - 1), 0);
  const prefilled = steps.reduce((n, s) => n + s.usage.promptTokens - s.usage.reusedTokens, 0);
  return {
    text: steps.map((s) => s.text).join(''),
    tokenIds: steps.flatMap((s) => s.tokenIds),
    seed: first.seed,
    usage: { promptTokens: first.usage.promptTokens, reusedTokens: first.usage.reusedTokens, completionTokens },
    timings: {
      timeToFirstTokenMs: first.timings.timeToFirstTokenMs,
      prefillMs,
      prefillTokensPerSecond: prefillMs > 0 ? (prefilled * 1000) / prefillMs : 0,
      decodeMs,
      decodeTokensPerSecond: decodeMs > 0 ? (decoded * 1000) / decodeMs : 0,
      totalMs,
    },
  };
}
