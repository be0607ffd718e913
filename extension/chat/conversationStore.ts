// Conversations kept across window reloads: one JSON file per conversation in the extension's global storage
// folder, written whole (to a temporary file, then renamed) so a crash never leaves half a file. The store keeps
// every conversation in memory, saves a turn's user message as soon as it is sent and the answer while it streams
// (at most once a second) and when it ends, so nothing the user typed is lost to an error, a crash or a reload.
// No vscode import: the extension passes the folder; the unit tests use a temporary one or the memory persistence.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { ChatMessage } from '../../sidecar/protocol';
import {
  titleFor, type AssistantMessage, type Conversation, type ContextChip, type MessageState, type ToolStep, type TurnStats, type UserMessage,
} from './conversation';

export interface ConversationPersistence {
  loadAll(): Promise<Conversation[]>;
  save(conversation: Conversation): Promise<void>;
  delete(id: string): Promise<void>;
}

/** Shape check for what comes back from disk: a broken or foreign file is skipped, not trusted. */
export function isConversation(value: unknown): value is Conversation {
  const c = value as Conversation;
  return typeof c === 'object' && c !== null && typeof c.id === 'string' && typeof c.title === 'string' &&
    typeof c.createdAt === 'number' && typeof c.updatedAt === 'number' && Array.isArray(c.messages) &&
    c.messages.every((m) => typeof m === 'object' && m !== null && typeof m.id === 'string' && typeof m.content === 'string' &&
      (m.role === 'user' ? Array.isArray(m.context) : m.role === 'assistant' && typeof m.state === 'string'));
}

const SAFE_ID = /^[A-Za-z0-9_-]+$/;

const STEP_STATES: readonly ToolStep['state'][] = ['running', 'awaiting-consent', 'done', 'error', 'denied', 'cancelled'];

function isToolStep(value: unknown): value is ToolStep {
  const s = value as ToolStep;
  return typeof s === 'object' && s !== null && typeof s.id === 'string' && typeof s.name === 'string' &&
    typeof s.arguments === 'string' && STEP_STATES.includes(s.state) && typeof s.offset === 'number' &&
    (s.result === undefined || typeof s.result === 'string');
}

function isChatMessage(value: unknown): value is ChatMessage {
  const m = value as ChatMessage;
  return typeof m === 'object' && m !== null && ['system', 'user', 'assistant', 'tool'].includes(m.role) && typeof m.content === 'string' &&
    (m.toolCalls === undefined || (Array.isArray(m.toolCalls) && m.toolCalls.every((c) => typeof c?.name === 'string' && typeof c.arguments === 'object' && c.arguments !== null)));
}

/**
 * The tool parts of answers saved by this or an older version: conversations saved before tools existed have none
 * and load as they are; a malformed step list or turn is dropped (the answer's text stays). Steps a reload
 * interrupted end as cancelled. Returns whether anything changed.
 */
function repairToolParts(conversation: Conversation): boolean {
  let changed = false;
  for (const m of conversation.messages) {
    if (m.role !== 'assistant') continue;
    if (m.steps !== undefined && !(Array.isArray(m.steps) && m.steps.every(isToolStep))) {
      delete m.steps;
      changed = true;
    }
    if (m.turn !== undefined && !(Array.isArray(m.turn) && m.turn.every(isChatMessage))) {
      delete m.turn;
      changed = true;
    }
    for (const s of m.steps ?? []) {
      if (s.state === 'running' || s.state === 'awaiting-consent') {
        s.state = 'cancelled';
        changed = true;
      }
    }
  }
  return changed;
}

export class FileConversationPersistence implements ConversationPersistence {
  constructor(
    private readonly dir: string,
    private readonly log: (message: string) => void = () => {},
  ) {}

  private file(id: string): string {
    if (!SAFE_ID.test(id)) throw new Error(`Not a conversation id: ${id}`);
    return path.join(this.dir, `${id}.json`);
  }

  async loadAll(): Promise<Conversation[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: Conversation[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const file = path.join(this.dir, name);
      try {
        const value: unknown = JSON.parse(await fs.readFile(file, 'utf8'));
        if (isConversation(value) && `${value.id}.json` === name) out.push(value);
        else this.log(`Skipped ${file}: not a conversation.`);
      } catch (e) {
        this.log(`Skipped ${file}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  async save(conversation: Conversation): Promise<void> {
    const file = this.file(conversation.id);
    await fs.mkdir(this.dir, { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    await fs.writeFile(temporary, JSON.stringify(conversation), 'utf8');
    await fs.rename(temporary, file);
  }

  async delete(id: string): Promise<void> {
    await fs.rm(this.file(id), { force: true });
  }
}

/** Keeps nothing on disk: for tests, and as a fallback when the storage folder cannot be used. */
export class MemoryConversationPersistence implements ConversationPersistence {
  readonly saved = new Map<string, string>();
  async loadAll(): Promise<Conversation[]> {
    return [...this.saved.values()].map((s) => JSON.parse(s) as Conversation);
  }
  async save(conversation: Conversation): Promise<void> {
    this.saved.set(conversation.id, JSON.stringify(conversation));
  }
  async delete(id: string): Promise<void> {
    this.saved.delete(id);
  }
}

export interface ConversationSummary {
  id: string;
  title: string;
  updatedAt: number;
  messageCount: number;
}

export interface StoreOptions {
  /** Longest a streaming answer stays unsaved (ms). */
  saveDelayMs?: number;
  now?: () => number;
  newId?: () => string;
  /** Persistence failures: the conversation stays in memory and the error is reported here. */
  onError?: (message: string) => void;
}

export interface TurnEnd {
  state: Exclude<MessageState, 'streaming'>;
  /** The final text; the streamed text is kept when not given. */
  content?: string;
  stats?: TurnStats;
  error?: string;
  /** The turn's messages for later prompts (ChatResult.messages). */
  turn?: ChatMessage[];
}

/** What a reload found half done: an answer that was streaming when the window went away. */
export const INTERRUPTED = 'The answer was interrupted: the window was closed or reloaded while it was being written.';

export class ConversationStore {
  private readonly conversations = new Map<string, Conversation>();
  private readonly listeners = new Set<() => void>();
  private readonly writes = new Map<string, Promise<void>>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly saveDelayMs: number;
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly onError: (message: string) => void;

  private constructor(private readonly persistence: ConversationPersistence, options: StoreOptions) {
    this.saveDelayMs = options.saveDelayMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? (() => randomUUID());
    this.onError = options.onError ?? (() => {});
  }

  /** Loads every saved conversation. Answers left streaming by a reload end as stopped (or failed, when empty). */
  static async open(persistence: ConversationPersistence, options: StoreOptions = {}): Promise<ConversationStore> {
    const store = new ConversationStore(persistence, options);
    let loaded: Conversation[] = [];
    try {
      loaded = await persistence.loadAll();
    } catch (e) {
      store.onError(`Could not read the saved conversations: ${(e as Error).message}`);
    }
    for (const c of loaded) {
      let repaired = repairToolParts(c);
      for (const m of c.messages) {
        if (m.role === 'assistant' && m.state === 'streaming') {
          repaired = true;
          if (m.content.trim().length > 0) m.state = 'cancelled';
          else Object.assign(m, { state: 'error', error: INTERRUPTED });
        }
      }
      store.conversations.set(c.id, c);
      if (repaired) store.saveNow(c.id);
    }
    return store;
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Newest first. */
  list(): ConversationSummary[] {
    return [...this.conversations.values()]
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .map((c) => ({ id: c.id, title: c.title, updatedAt: c.updatedAt, messageCount: c.messages.length }));
  }

  get(id: string): Conversation | undefined {
    return this.conversations.get(id);
  }

  mostRecent(): Conversation | undefined {
    const first = this.list()[0];
    return first && this.conversations.get(first.id);
  }

  /**
   * A user message and the (streaming) answer to it, added to conversation `conversationId`, or to a new
   * conversation when it is undefined or unknown. Saved at once: the message survives whatever happens next.
   */
  startTurn(conversationId: string | undefined, text: string, context: ContextChip[] = []): { conversation: Conversation; user: UserMessage; assistant: AssistantMessage } {
    const now = this.now();
    let conversation = conversationId ? this.conversations.get(conversationId) : undefined;
    if (!conversation) {
      conversation = { id: conversationId && SAFE_ID.test(conversationId) ? conversationId : this.newId(), title: titleFor(text), createdAt: now, updatedAt: now, messages: [] };
      this.conversations.set(conversation.id, conversation);
    }
    const user: UserMessage = { id: this.newId(), role: 'user', content: text, context, createdAt: now };
    const assistant: AssistantMessage = { id: this.newId(), role: 'assistant', content: '', state: 'streaming', createdAt: now };
    conversation.messages.push(user, assistant);
    conversation.updatedAt = now;
    this.saveNow(conversation.id);
    this.changed();
    return { conversation, user, assistant };
  }

  private assistant(conversationId: string, messageId: string): AssistantMessage {
    const m = this.conversations.get(conversationId)?.messages.find((x) => x.id === messageId);
    if (!m || m.role !== 'assistant') throw new Error(`No answer ${messageId} in conversation ${conversationId}.`);
    return m;
  }

  /** Streamed text of an answer; saved within `saveDelayMs`. */
  appendText(conversationId: string, messageId: string, text: string): void {
    const m = this.assistant(conversationId, messageId);
    m.content += text;
    this.saveSoon(conversationId);
  }

  /** A tool call of a streaming answer began (or, with a known id, changed); saved within `saveDelayMs`. */
  putStep(conversationId: string, messageId: string, step: ToolStep): ToolStep {
    const m = this.assistant(conversationId, messageId);
    const steps = (m.steps ??= []);
    const at = steps.findIndex((s) => s.id === step.id);
    const copy = { ...step };
    if (at >= 0) steps[at] = copy;
    else steps.push(copy);
    this.saveSoon(conversationId);
    return copy;
  }

  finishTurn(conversationId: string, messageId: string, end: TurnEnd): AssistantMessage {
    const m = this.assistant(conversationId, messageId);
    m.state = end.state;
    if (end.content !== undefined) m.content = end.content;
    if (end.stats) m.stats = end.stats;
    if (end.turn) m.turn = end.turn;
    // A step still open when the turn ends did not finish.
    for (const s of m.steps ?? []) if (s.state === 'running' || s.state === 'awaiting-consent') s.state = 'cancelled';
    if (end.error !== undefined) m.error = end.error;
    else delete m.error;
    const conversation = this.conversations.get(conversationId)!;
    conversation.updatedAt = this.now();
    this.saveNow(conversationId);
    this.changed();
    return m;
  }

  /**
   * Starts an answer over (Retry): its text, error and stats are cleared and it streams again in place.
   * Returns the answer and its index: the model gets the history before it.
   */
  restartAnswer(conversationId: string, messageId: string): { assistant: AssistantMessage; index: number } {
    const m = this.assistant(conversationId, messageId);
    Object.assign(m, { content: '', state: 'streaming' satisfies MessageState });
    delete m.error;
    delete m.stats;
    delete m.steps;
    delete m.turn;
    const conversation = this.conversations.get(conversationId)!;
    conversation.updatedAt = this.now();
    this.saveNow(conversationId);
    this.changed();
    return { assistant: m, index: conversation.messages.indexOf(m) };
  }

  /** Removes a conversation; returns it, for an undo. */
  delete(id: string): Conversation | undefined {
    const c = this.conversations.get(id);
    if (!c) return undefined;
    this.conversations.delete(id);
    this.cancelTimer(id);
    this.enqueue(id, () => this.persistence.delete(id));
    this.changed();
    return c;
  }

  /** Puts a deleted conversation back. */
  restore(conversation: Conversation): void {
    this.conversations.set(conversation.id, conversation);
    this.saveNow(conversation.id);
    this.changed();
  }

  /** Resolves when every pending write is on disk. */
  async flush(): Promise<void> {
    for (const id of [...this.timers.keys()]) this.saveNow(id);
    await Promise.all([...this.writes.values()]);
  }

  dispose(): Promise<void> {
    return this.flush();
  }

  private cancelTimer(id: string): void {
    const t = this.timers.get(id);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(id);
  }

  private saveSoon(id: string): void {
    if (this.timers.has(id)) return;
    const timer = setTimeout(() => this.saveNow(id), this.saveDelayMs);
    (timer as { unref?(): void }).unref?.();
    this.timers.set(id, timer);
  }

  private saveNow(id: string): void {
    this.cancelTimer(id);
    const c = this.conversations.get(id);
    if (!c) return;
    const snapshot = JSON.parse(JSON.stringify(c)) as Conversation;
    this.enqueue(id, () => this.persistence.save(snapshot));
  }

  /** Writes of one conversation happen in order; a failure is reported and does not block the next. */
  private enqueue(id: string, write: () => Promise<void>): void {
    const previous = this.writes.get(id) ?? Promise.resolve();
    const next = previous.then(write).catch((e: Error) => this.onError(`Could not save conversation ${id}: ${e.message}`));
    this.writes.set(id, next);
    void next.then(() => {
      if (this.writes.get(id) === next) this.writes.delete(id);
    });
  }
}
