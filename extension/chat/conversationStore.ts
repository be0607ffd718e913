// Conversations kept across window reloads, crashes and several windows, in the extension's global storage folder:
// one journal per conversation, `<id>.jsonl`. Each line is one save: the conversation's title and times, and the
// messages that changed since the last save, each whole (mergeSaved). A save appends its line and fsyncs it before it
// counts, so a crash costs at most the line being written (the reader skips it) and never rewrites what was saved.
// A journal grown past twice its size after the last rewrite (plus COMPACT_SLACK_BYTES) is rewritten as one line
// (temporary file, fsync, rename); temporary files a crash left behind are removed on load. Windows share the files:
// appends and rewrites take the conversation's lock file (fileLock.ts), and a rewrite reads the journal under it, so
// no window's lines are dropped. Conversations saved whole by older versions (`<id>.json`) are read as a first line.
// The store keeps every conversation in memory, saves a turn's user message as soon as it is sent and the answer
// while it streams (at most once a second) and when it ends, so nothing the user typed is lost to an error, a crash
// or a reload.
// No vscode import: the extension passes the folder; the unit tests use a temporary one or the memory persistence.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { ChatMessage } from '../../sidecar/protocol';
import {
  titleFor, type AssistantMessage, type Conversation, type ContextChip, type MessageState, type StoredMessage, type ToolStep, type TurnStats,
  type UserMessage,
} from './conversation';
import { lockHeld, withFileLock } from './fileLock';

export interface ConversationPersistence {
  loadAll(): Promise<Conversation[]>;
  /**
   * Saves the conversation's title and times and the messages given, which replace their saved copies (or are added
   * at the end); the messages not given stay as saved. Resolves once it is on disk.
   */
  save(changes: Conversation): Promise<void>;
  delete(id: string): Promise<void>;
}

/**
 * `saved` (built from earlier saves; changed in place) with one more save applied: each message replaces its saved
 * copy unless that copy has a higher revision (another window's newer one), new messages go at the end.
 */
export function mergeSaved(saved: Conversation | undefined, changes: Conversation): Conversation {
  if (!saved) return { ...changes, messages: [...changes.messages] };
  const at = new Map(saved.messages.map((m, i) => [m.id, i]));
  for (const m of changes.messages) {
    const i = at.get(m.id);
    if (i === undefined) {
      at.set(m.id, saved.messages.length);
      saved.messages.push(m);
    } else if ((m.revision ?? 0) >= (saved.messages[i].revision ?? 0)) {
      saved.messages[i] = m;
    }
  }
  saved.updatedAt = Math.max(saved.updatedAt, changes.updatedAt);
  return saved;
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
 * An answer saved by this or an older version, made whole: conversations saved before tools existed have no tool
 * parts and load as they are; a malformed step list or turn is dropped (the answer's text stays); steps and answers
 * a reload interrupted end as cancelled (or failed, an answer with no text). Returns whether anything changed.
 */
function repairMessage(m: StoredMessage): boolean {
  if (m.role !== 'assistant') return false;
  let changed = false;
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
  if (m.state === 'streaming') {
    if (m.content.trim().length > 0) m.state = 'cancelled';
    else Object.assign(m, { state: 'error', error: INTERRUPTED });
    changed = true;
  }
  return changed;
}

/** A journal is rewritten once it is larger than twice its size after the last rewrite plus this. */
export const COMPACT_SLACK_BYTES = 1024 * 1024;

/** Makes a new or renamed file's name durable (POSIX); Windows cannot open a folder for this, and needs it less. */
async function syncFolder(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // not supported here
  } finally {
    await handle.close();
  }
}

export class FileConversationPersistence implements ConversationPersistence {
  /** Journal size right after this window's last load or rewrite of it, per conversation. */
  private readonly compactedBytes = new Map<string, number>();

  constructor(
    private readonly dir: string,
    private readonly log: (message: string) => void = () => {},
    private readonly compactSlackBytes = COMPACT_SLACK_BYTES,
  ) {}

  private files(id: string): { journal: string; legacy: string; lock: string } {
    if (!SAFE_ID.test(id)) throw new Error(`Not a conversation id: ${id}`);
    const base = path.join(this.dir, id);
    return { journal: `${base}.jsonl`, legacy: `${base}.json`, lock: `${base}.lock` };
  }

  /** What a conversation's files hold: the older version's whole file, then the journal's lines in order. */
  private async read(id: string): Promise<{ conversation?: Conversation; bytes: number; skipped: string[] }> {
    const { journal, legacy } = this.files(id);
    const text = (file: string) => fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw e;
    });
    // The older file first: a rewrite that removes it meanwhile has put everything in the journal read after it.
    const whole = await text(legacy);
    const lines = await text(journal);
    let conversation: Conversation | undefined;
    const skipped: string[] = [];
    // Unreadable lines are skipped: the last one may be a save cut off by a crash.
    for (const line of [whole, ...lines.split('\n')]) {
      if (!line.trim()) continue;
      try {
        const value: unknown = JSON.parse(line);
        if (isConversation(value) && value.id === id) conversation = mergeSaved(conversation, value);
        else skipped.push('not a conversation');
      } catch (e) {
        skipped.push((e as Error).message);
      }
    }
    return { conversation, bytes: Buffer.byteLength(lines), skipped };
  }

  async loadAll(): Promise<Conversation[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    // A rewrite's temporary file is only there while its window holds the lock: without one, a crash left it.
    for (const name of names.filter((n) => n.endsWith('.tmp'))) {
      const id = name.slice(0, name.indexOf('.'));
      if (SAFE_ID.test(id) && await lockHeld(this.files(id).lock)) continue;
      await fs.rm(path.join(this.dir, name), { force: true });
      this.log(`Removed ${name}, left by a crash.`);
    }
    const ids = new Set(names.map((n) => /^(.*)\.jsonl?$/.exec(n)?.[1]).filter((id) => id !== undefined));
    const out: Conversation[] = [];
    for (const id of ids) {
      const file = path.join(this.dir, `${id}.json(l)`);
      if (!SAFE_ID.test(id)) {
        this.log(`Skipped ${file}: not a conversation's name.`);
        continue;
      }
      try {
        const { conversation, bytes, skipped } = await this.read(id);
        if (!conversation) {
          this.log(`Skipped ${file}: ${skipped[0] ?? 'empty'}.`);
          continue;
        }
        if (skipped.length) this.log(`${file}: skipped ${skipped.length} unreadable line(s) (a save cut off by a crash): ${skipped[0]}`);
        this.compactedBytes.set(id, bytes);
        out.push(conversation);
      } catch (e) {
        this.log(`Skipped ${file}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  async save(changes: Conversation): Promise<void> {
    const { journal, lock } = this.files(changes.id);
    await fs.mkdir(this.dir, { recursive: true });
    await withFileLock(lock, async () => {
      const size = await this.append(journal, JSON.stringify(changes));
      if (size <= 2 * (this.compactedBytes.get(changes.id) ?? 0) + this.compactSlackBytes) return;
      try {
        await this.compact(changes.id);
      } catch (e) {
        // The save itself is on disk; the rewrite is tried again at a later save.
        this.log(`Could not rewrite ${journal}: ${(e as Error).message}`);
      }
    });
  }

  /** Appends one line and syncs it to disk; returns the journal's size after. */
  private async append(journal: string, line: string): Promise<number> {
    const handle = await fs.open(journal, 'a+');
    try {
      const { size } = await handle.stat();
      // A line cut off by a crash has no newline: start on a fresh line, so that this one stays readable.
      const last = Buffer.alloc(1);
      if (size > 0) await handle.read(last, 0, 1, size - 1);
      const data = Buffer.from(`${size > 0 && last[0] !== 0x0a ? '\n' : ''}${line}\n`);
      await handle.appendFile(data);
      await handle.sync();
      if (size === 0) await syncFolder(this.dir);
      return size + data.length;
    } finally {
      await handle.close();
    }
  }

  /** Rewrites the journal as one line (called holding its lock): every window's saves, merged. */
  private async compact(id: string): Promise<void> {
    const { journal, legacy } = this.files(id);
    const { conversation } = await this.read(id);
    if (!conversation) return;
    const data = `${JSON.stringify(conversation)}\n`;
    const temporary = `${journal}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
    try {
      const handle = await fs.open(temporary, 'wx');
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temporary, journal);
    } catch (e) {
      await fs.rm(temporary, { force: true });
      throw e;
    }
    await syncFolder(this.dir);
    await fs.rm(legacy, { force: true }); // the rewrite holds it now
    this.compactedBytes.set(id, Buffer.byteLength(data));
  }

  async delete(id: string): Promise<void> {
    const { journal, legacy, lock } = this.files(id);
    await fs.mkdir(this.dir, { recursive: true });
    await withFileLock(lock, async () => {
      await fs.rm(journal, { force: true });
      await fs.rm(legacy, { force: true });
    });
    this.compactedBytes.delete(id);
  }
}

/** Keeps nothing on disk: for tests, and as a fallback when the storage folder cannot be used. */
export class MemoryConversationPersistence implements ConversationPersistence {
  readonly saved = new Map<string, string>();
  async loadAll(): Promise<Conversation[]> {
    return [...this.saved.values()].map((s) => JSON.parse(s) as Conversation);
  }
  async save(changes: Conversation): Promise<void> {
    const saved = this.saved.get(changes.id);
    this.saved.set(changes.id, JSON.stringify(mergeSaved(saved === undefined ? undefined : JSON.parse(saved) as Conversation, changes)));
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
  /** Per conversation, the messages changed since its last save: a save writes only these. */
  private readonly unsaved = new Map<string, Set<string>>();
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
      store.conversations.set(c.id, c);
      // Not a new revision: should another window still be writing the answer, its next save wins over this repair.
      for (const m of c.messages) if (repairMessage(m)) store.changedMessage(c.id, m, false);
      if (store.unsaved.has(c.id)) store.saveNow(c.id);
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
    this.changedMessage(conversation.id, user);
    this.changedMessage(conversation.id, assistant);
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
    this.changedMessage(conversationId, m);
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
    this.changedMessage(conversationId, m);
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
    this.changedMessage(conversationId, m);
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
    this.changedMessage(conversationId, m);
    this.saveNow(conversationId);
    this.changed();
    return { assistant: m, index: conversation.messages.indexOf(m) };
  }

  /** Removes a conversation; returns it, for an undo. */
  delete(id: string): Conversation | undefined {
    const c = this.conversations.get(id);
    if (!c) return undefined;
    this.conversations.delete(id);
    this.unsaved.delete(id);
    this.cancelTimer(id);
    this.enqueue(id, () => this.persistence.delete(id));
    this.changed();
    return c;
  }

  /** Puts a deleted conversation back. */
  restore(conversation: Conversation): void {
    this.conversations.set(conversation.id, conversation);
    for (const m of conversation.messages) this.changedMessage(conversation.id, m, false);
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

  /** Marks a message for the next save; `revise` raises its revision (what merging saves of several windows goes by). */
  private changedMessage(conversationId: string, m: StoredMessage, revise = true): void {
    if (revise) m.revision = (m.revision ?? 0) + 1;
    let ids = this.unsaved.get(conversationId);
    if (!ids) this.unsaved.set(conversationId, (ids = new Set()));
    ids.add(m.id);
  }

  private saveNow(id: string): void {
    this.cancelTimer(id);
    const c = this.conversations.get(id);
    const ids = this.unsaved.get(id);
    if (!c || !ids) return;
    this.unsaved.delete(id);
    // A copy of what changed only (not the whole conversation): the write happens later, the messages change meanwhile.
    const changes = JSON.parse(JSON.stringify({ ...c, messages: c.messages.filter((m) => ids.has(m.id)) })) as Conversation;
    this.enqueue(id, () => this.persistence.save(changes).catch((e: Error) => {
      // Not saved: these go with the next save again (unless the conversation was deleted meanwhile).
      if (this.conversations.get(id) === c) for (const m of changes.messages) this.changedMessage(id, m, false);
      throw e;
    }));
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
