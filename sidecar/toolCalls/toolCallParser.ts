// Reads the tool calls out of what the model wrote, tolerating the ways small models get the format wrong
// (shared/reference/phi4-format.md §4): a missing `<|/tool_call|>`, a missing `[` … `]` around the list, objects
// separated by commas or newlines, `parameters` (or `args`) for `arguments`, arguments as a JSON string, items as
// JSON strings, trailing commas, Python literals, code fences, prose or garbage after the JSON, vLLM's `functools[…]`
// and OpenAI's `{"function": {...}}` shapes. What cannot be repaired safely is an error that says why: a call cut
// off in the middle (its arguments would be incomplete), an echoed tool definition, an unknown tool, or arguments
// that do not fit the tool's schema (toolCallValidator.ts).
//
// JSON syntax is repaired by `jsonrepair` (well kept, no dependencies, handles quotes, Python constants, trailing
// commas, comments, concatenated values); this file only finds the JSON, refuses cut-off calls (which jsonrepair
// would silently close), and maps the shapes onto {name, arguments}.
import { jsonrepair } from 'jsonrepair';
import type { ToolCall, ToolDefinition } from '../protocol';
import { ToolCallValidator } from './toolCallValidator';

export type ToolCallParse =
  | { ok: true; calls: ToolCall[] }
  | { ok: false; error: string };

const START = '<|tool_call|>';
const END = '<|/tool_call|>';
/** Where a call without its end tag ends: the model's end of turn, or the next call. */
const STOP_MARKERS = [END, '<|end|>', '<|endoftext|>', START];

/**
 * `text`: the model's output (the call's text between the markers, or a whole reply that contains
 * `<|tool_call|>…` blocks, or a bare JSON call). `tools`: the declared tools; calls are checked against them.
 */
export function parseToolCalls(text: string, tools: readonly ToolDefinition[], validator = new ToolCallValidator(tools)): ToolCallParse {
  try {
    const items = callPayloads(text).flatMap(parsePayload);
    if (items.length === 0) return fail('The tool call holds no call.');
    const calls = items.map(toCall);
    for (const call of calls) {
      const problem = validator.check(call);
      if (problem) return fail(problem);
    }
    return { ok: true, calls };
  } catch (e) {
    if (e instanceof CallError) return fail(e.message);
    // Anything else is the parser's own limit (a stack overflow in a library on some input): still the model's bad call.
    if (e instanceof RangeError) return fail(`The tool call could not be read (${e.message}).`);
    throw e;
  }
}

/** Deeper than any real tool's arguments; JSON.parse, jsonrepair and ajv all recurse, and a stack has an end. */
export const MAX_CALL_NESTING = 64;

class CallError extends Error {}
const fail = (error: string): ToolCallParse => ({ ok: false, error });

/** The text of each call block; a text without markers is taken as one block. */
function callPayloads(text: string): string[] {
  if (!text.includes(START)) {
    const functools = /functools\s*(\[[\s\S]*)/.exec(text);
    return [functools ? functools[1] : text];
  }
  return text.split(START).slice(1).map((block) => {
    let end = block.length;
    for (const marker of STOP_MARKERS) {
      const i = block.indexOf(marker);
      if (i >= 0 && i < end) end = i;
    }
    return block.slice(0, end);
  });
}

/** One block → the JSON values of its calls (the items of a list, or a run of objects). */
function parsePayload(payload: string): unknown[] {
  const body = stripCodeFence(payload).trim();
  if (body === '') throw new CallError('The tool call is empty.');
  const first = body.search(/[[{]/);
  if (first < 0) throw new CallError(`The tool call is not JSON: ${excerpt(body)}.`);
  if (body[first] === '[') {
    const end = valueEnd(body, first);
    if (end >= 0) return asList(parseJson(body.slice(first, end)));
    // `[{…}, {…}` without its `]`: fine if every item is whole.
    return objectRun(body, first + 1).map(parseJson);
  }
  return objectRun(body, first).map(parseJson).flatMap(asList);
}

function stripCodeFence(text: string): string {
  const fence = /```[a-zA-Z]*\s*\n?([\s\S]*?)(?:```|$)/.exec(text);
  return fence ? fence[1] : text;
}

/** Consecutive `{…}` values from `start`, separated by commas or whitespace; a cut-off one is an error. */
function objectRun(text: string, start: number): string[] {
  const values: string[] = [];
  let i = start;
  for (;;) {
    while (i < text.length && /[\s,]/.test(text[i])) i++;
    if (text[i] !== '{') break;
    const end = valueEnd(text, i);
    if (end < 0) throw new CallError(`The tool call was cut off before it ended: ${excerpt(text.slice(i))}.`);
    values.push(text.slice(i, end));
    i = end;
  }
  if (values.length === 0) throw new CallError(`The tool call was cut off before it ended: ${excerpt(text)}.`);
  return values;
}

/** Index just past the bracketed value that starts at `start`, or -1 if it never closes (strings respected). */
function valueEnd(text: string, start: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') {
      if (++depth > MAX_CALL_NESTING) throw new CallError(`The tool call nests deeper than ${MAX_CALL_NESTING} levels.`);
    } else if (c === ']' || c === '}') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    try {
      return JSON.parse(jsonrepair(text));
    } catch (e) {
      throw new CallError(`The tool call is not valid JSON (${(e as Error).message}): ${excerpt(text)}.`);
    }
  }
}

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/** One item of the list → {name, arguments}. */
function toCall(item: unknown): ToolCall {
  if (typeof item === 'string') item = parseJson(item); // items written as JSON strings
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    throw new CallError(`A tool call must be an object {"name": …, "arguments": {…}}, not ${excerpt(JSON.stringify(item))}.`);
  }
  let call = item as Record<string, unknown>;
  if (call.function && typeof call.function === 'object' && !call.name) call = call.function as Record<string, unknown>;
  if (typeof call.name !== 'string' || call.name === '') {
    throw new CallError(`A tool call has no "name": ${excerpt(JSON.stringify(item))}.`);
  }
  const args = call.arguments ?? call.parameters ?? call.args;
  if ('description' in call || (call.arguments === undefined && looksLikeSchema(call.parameters))) {
    throw new CallError(`The tool call repeats the definition of "${call.name}" instead of calling it; write {"name": "${call.name}", "arguments": {…}} with the values.`);
  }
  return { name: call.name, arguments: toArguments(call.name, args) };
}

function looksLikeSchema(value: unknown): boolean {
  const v = value as { type?: unknown; properties?: unknown } | undefined;
  return !!v && typeof v === 'object' && v.type === 'object' && typeof v.properties === 'object';
}

function toArguments(name: string, args: unknown): Record<string, unknown> {
  if (args === undefined || args === null || args === '') return {};
  if (typeof args === 'string') args = parseJson(args); // arguments as a JSON string (OpenAI's style)
  if (typeof args !== 'object' || Array.isArray(args) || args === null) {
    throw new CallError(`The arguments of "${name}" must be an object, not ${excerpt(JSON.stringify(args))}.`);
  }
  return args as Record<string, unknown>;
}

function excerpt(text: string | undefined): string {
  const t = (text ?? '').trim();
  return t.length > 120 ? `${t.slice(0, 120)}…` : t;
}
