// Every phi/* request's params checked against one JSON schema per method before a handler sees them, so that a
// client's mistake (or a hostile frame) gets a clear InvalidParams error instead of odd behaviour deeper down:
// `maxNewTokens: "x"` generating until the context is full, `threads: 256` making a 2-core machine crawl, a role
// that is not one adds special tokens. The schemas mirror the types in protocol.ts; test/unit/paramsCheck.test.ts
// holds them to each other.
import * as os from 'node:os';
import Ajv, { type ValidateFunction } from 'ajv';
import { ResponseError, ErrorCodes, type Connection } from 'vscode-languageserver/node';
import {
  ChatRequest, CheckModelFolderRequest, CountTokensRequest, InlineCompletionRequest, LoadModelRequest, RenderPromptRequest,
  ServeRequest, WarmPromptsRequest,
  EXECUTION_PROVIDER_CHOICES, REQUEST_LIMITS,
} from './protocol';

/** The most threads a load may ask for: this machine's. More only makes the threads wait on each other. */
export const MAX_THREADS = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
/** The protocol's bounds on what one request may carry (protocol.ts says why). */
export const LIMITS = REQUEST_LIMITS;

const integer = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum });
const text = (maxLength: number = LIMITS.messageChars) => ({ type: 'string', maxLength });
const toolCall = { type: 'object', required: ['name', 'arguments'], properties: { name: text(256), arguments: { type: 'object' } } };
const message = {
  type: 'object', required: ['role', 'content'],
  properties: { role: { enum: ['system', 'user', 'assistant', 'tool'] }, content: text(), toolCalls: { type: 'array', items: toolCall, maxItems: 64 }, name: text(256) },
};
const messages = { type: 'array', items: message, maxItems: LIMITS.messages };
const tools = {
  type: 'array', maxItems: LIMITS.tools,
  items: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 256 }, description: text(100_000), parameters: { type: 'object' } } },
};
const sampling = {
  type: 'object',
  properties: {
    temperature: { type: 'number', minimum: 0, maximum: 10 }, topK: integer(0, 1_000_000), topP: { type: 'number', minimum: 0, maximum: 1 },
    repetitionPenalty: { type: 'number', minimum: 0, maximum: 10 }, seed: integer(-(2 ** 31), 2 ** 32),
  },
};

export const PARAM_SCHEMAS: Record<string, object> = {
  [LoadModelRequest.method]: {
    type: 'object', required: ['dir'],
    properties: {
      dir: text(4096), executionProvider: { enum: [...EXECUTION_PROVIDER_CHOICES] }, threads: integer(0, MAX_THREADS),
      contextLength: integer(0, 1 << 20), kvCacheMemory: integer(0, 1 << 24), workDoneToken: { type: ['string', 'integer'] },
    },
  },
  [ChatRequest.method]: {
    type: 'object', required: ['turnId', 'messages'],
    properties: {
      turnId: text(256), conversationId: text(256), messages, tools, sampling, maxNewTokens: integer(1, LIMITS.maxNewTokens),
      toolChoice: { enum: ['auto', 'required', 'none'] }, toolExecution: { enum: ['client', 'return'] }, maxToolCalls: integer(0, LIMITS.maxToolCalls),
      feature: text(64),
    },
  },
  [WarmPromptsRequest.method]: {
    type: 'object', required: ['heads'],
    properties: {
      heads: { type: 'array', maxItems: 8, items: { type: 'object', required: ['feature', 'messages'], properties: { feature: text(64), messages, tools } } },
    },
  },
  [RenderPromptRequest.method]: { type: 'object', required: ['messages'], properties: { messages, tools } },
  [ServeRequest.method]: {
    type: 'object', required: ['action'],
    properties: { action: { enum: ['start', 'stop', 'status'] }, port: integer(0, 65_535), apiKey: { type: 'string', minLength: 1, maxLength: 1024 } },
  },
  [CountTokensRequest.method]: { type: 'object', properties: { text: text(), messages, tools } },
  [InlineCompletionRequest.method]: {
    type: 'object', required: ['languageId', 'prefix', 'suffix'],
    properties: {
      languageId: text(128), fileName: text(4096), prefix: text(), suffix: text(), multiline: { enum: ['auto', 'line', 'block'] },
      indent: { type: 'object', required: ['insertSpaces', 'tabSize'], properties: { insertSpaces: { type: 'boolean' }, tabSize: integer(1, 32) } },
      maxTokens: integer(1, 4096), timeoutMs: integer(1, 600_000), maxPrefixTokens: integer(1, 1 << 20), maxSuffixTokens: integer(1, 1 << 20),
    },
  },
  [CheckModelFolderRequest.method]: { type: 'object', required: ['dir'], properties: { dir: text(4096) } },
};

const ajv = new Ajv({ allErrors: false, allowUnionTypes: true });
const validators = new Map<string, ValidateFunction>(Object.entries(PARAM_SCHEMAS).map(([method, schema]) => [method, ajv.compile(schema)]));

/** Why `params` do not fit `method`'s schema, or undefined when they do (or the method takes none). */
export function paramsProblem(method: string, params: unknown): string | undefined {
  const validate = validators.get(method);
  if (!validate) return undefined;
  if (validate(params)) {
    const chars = textChars(params);
    return chars > LIMITS.requestChars
      ? `${method}: params hold ${chars} characters of text, more than the ${LIMITS.requestChars} (8 MiB) one request may hold ` +
        '(the largest context, 131,072 tokens, is about half a MiB of text). Send less, or start a new chat.'
      : undefined;
  }
  const e = validate.errors?.[0];
  const where = `params${e?.instancePath.replace(/\//g, '.') ?? ''}`;
  const detail = e?.keyword === 'enum' ? `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
    : e?.keyword === 'maximum' && where.endsWith('.threads') ? `must be at most ${MAX_THREADS}, the CPU threads of this machine (0: ONNX Runtime's choice)`
      : e?.keyword === 'maxLength' && (e.params as { limit: number }).limit === LIMITS.messageChars
        ? `${e.message} (1 MiB: more text than the largest context, 131,072 tokens, holds)`
        : e?.message ?? 'is not valid';
  return `${method}: ${where} ${detail}.`;
}

/** Characters in all the strings of `value` (keys too), walked without recursion (params may nest deeply). */
function textChars(value: unknown): number {
  let chars = 0;
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') chars += v.length;
    else if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) { chars += k.length; stack.push(x); }
  }
  return chars;
}

/**
 * `connection`, with every request handler registered through it behind the check: a request whose params do not
 * fit is answered with InvalidParams and never reaches the handler.
 */
export function withCheckedParams(connection: Connection): Connection {
  const onRequest = connection.onRequest.bind(connection) as (type: unknown, handler: (...args: unknown[]) => unknown) => unknown;
  return new Proxy(connection, {
    get(target, key, receiver) {
      if (key !== 'onRequest') return Reflect.get(target, key, receiver);
      return (type: { method?: string } | string, handler: (params: unknown, ...rest: unknown[]) => unknown) => {
        const method = typeof type === 'string' ? type : type?.method;
        if (typeof handler !== 'function' || !method) return onRequest(type, handler as never);
        return onRequest(type, (params: unknown, ...rest: unknown[]) => {
          const problem = paramsProblem(method, params);
          if (problem) throw new ResponseError(ErrorCodes.InvalidParams, problem);
          return handler(params, ...rest);
        });
      };
    },
  });
}
