// VS Code's language-model request messages → the sidecar's ChatMessage list (the Phi-4 template's roles).
// - User text → 'user'; assistant text and its tool-call parts → 'assistant' with `toolCalls`; each tool-result
//   part → its own 'tool' message (the Phi-4 format pairs results with calls by order, it has no call ids);
//   VS Code Chat's system message (role 3) → 'system'.
// - Parts are recognised by shape, not by class: the request's parts come from the extension host, and this file
//   stays free of `vscode` so the unit tests run it in plain Node.
// - Data parts: text-like ones (text/*, JSON) are read as text; others (cache markers, images: we declare no
//   image input) carry nothing the model can use and are left out.
import { withoutTrimNotice, type ChatMessage } from '../../sidecar/protocol';

export interface RequestMessageLike {
  readonly role: number;
  readonly content: ReadonlyArray<unknown>;
  readonly name?: string | undefined;
}

const ROLE_ASSISTANT = 2;
const ROLE_SYSTEM = 3;

interface TextPartLike { value: string }
interface ToolCallPartLike { callId: string; name: string; input: unknown }
interface ToolResultPartLike { callId: string; content: ReadonlyArray<unknown> }
interface DataPartLike { mimeType: string; data: Uint8Array }

const isObject = (p: unknown): p is Record<string, unknown> => typeof p === 'object' && p !== null;
const isToolCall = (p: unknown): p is ToolCallPartLike =>
  isObject(p) && typeof p.callId === 'string' && typeof p.name === 'string' && 'input' in p;
const isToolResult = (p: unknown): p is ToolResultPartLike => isObject(p) && typeof p.callId === 'string' && Array.isArray(p.content);
const isText = (p: unknown): p is TextPartLike => isObject(p) && typeof p.value === 'string' && !('callId' in p);
const isData = (p: unknown): p is DataPartLike => isObject(p) && typeof p.mimeType === 'string' && p.data instanceof Uint8Array;

/** The text of a data part, when it is text at all. */
function dataText(part: DataPartLike): string | undefined {
  const mime = part.mimeType.toLowerCase();
  if (!mime.startsWith('text/') && !/^application\/(.+\+)?json$/.test(mime)) return undefined;
  return new TextDecoder().decode(part.data);
}

/**
 * The text of a tool result's content: text parts, text-like data parts, and prompt-tsx parts (JSON trees whose
 * text sits in `text` fields), in order.
 */
export function toolResultText(content: ReadonlyArray<unknown>): string {
  const out: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') out.push(part);
    else if (isData(part)) out.push(dataText(part) ?? '');
    else if (isText(part)) out.push(part.value);
    else if (isObject(part) && 'value' in part) out.push(treeText(part.value));
  }
  return out.join('');
}

/** Strings under `text` keys of a prompt-tsx JSON tree. */
function treeText(node: unknown): string {
  if (Array.isArray(node)) return node.map(treeText).join('');
  if (!isObject(node)) return '';
  if (typeof node.text === 'string') return node.text;
  return Object.values(node).map(treeText).join('');
}

/** The request's messages as the sidecar's ChatMessage list, in order. Empty messages are left out. */
export function toChatMessages(messages: readonly RequestMessageLike[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  const toolNames = new Map<string, string>();
  for (const message of messages) {
    const role: ChatMessage['role'] = message.role === ROLE_ASSISTANT ? 'assistant' : message.role === ROLE_SYSTEM ? 'system' : 'user';
    let text = '';
    const calls: NonNullable<ChatMessage['toolCalls']> = [];
    // Our own trim notice at the start of an earlier answer was never the model's: it stays out of the prompt.
    const ownText = () => (role === 'assistant' ? withoutTrimNotice(text) : text);
    const flushText = () => {
      const content = ownText();
      if (content.trim()) out.push({ role, content });
      text = '';
    };
    for (const part of message.content) {
      if (isToolCall(part)) {
        const args = isObject(part.input) ? part.input : {};
        calls.push({ name: part.name, arguments: args });
        toolNames.set(part.callId, part.name);
      } else if (isToolResult(part)) {
        flushText();
        out.push({ role: 'tool', content: toolResultText(part.content), name: toolNames.get(part.callId) });
      } else if (isText(part)) {
        text += part.value;
      } else if (isData(part)) {
        text += dataText(part) ?? '';
      }
    }
    if (role === 'assistant' && calls.length > 0) {
      out.push({ role, content: ownText(), toolCalls: calls });
      text = '';
    }
    flushText();
  }
  return out;
}
