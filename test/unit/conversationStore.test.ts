// Conversations survive reloads and errors: the store's logic (extension/chat/conversationStore.ts) with the
// in-memory persistence (a test double: nothing touches a disk) and with real files in a temporary folder; each
// describe and test says which.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  SYSTEM_PROMPT, titleFor, toModelMessages, type AssistantMessage, type Conversation, type StoredMessage, type UserMessage,
} from '../../extension/chat/conversation';
import {
  ConversationStore, FileConversationPersistence, INTERRUPTED, isConversation, MemoryConversationPersistence,
} from '../../extension/chat/conversationStore';
import type { ContextChip } from '../../extension/chat/contextChips';

function ids(prefix = 'id'): () => string {
  let n = 0;
  return () => `${prefix}${++n}`;
}

function clock(start = 1_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

const chip: ContextChip = { id: 'c1', kind: 'selection', path: 'src/a.ts', languageId: 'typescript', text: 'let x = 1;\n', startLine: 3, endLine: 3 };

describe('conversation store (TEST DOUBLE: in-memory persistence, MemoryConversationPersistence)', () => {
  it('saves the user message as soon as a turn starts', async () => {
    const persistence = new MemoryConversationPersistence();
    const store = await ConversationStore.open(persistence, { newId: ids() });
    const { conversation, user, assistant } = store.startTurn(undefined, 'How do I read a file in Node?', [chip]);
    await store.flush();
    const saved = JSON.parse(persistence.saved.get(conversation.id)!) as Conversation;
    assert.equal(saved.title, 'How do I read a file in Node?');
    assert.deepEqual(saved.messages.map((m) => m.role), ['user', 'assistant']);
    assert.equal(saved.messages[0].content, user.content);
    assert.deepEqual((saved.messages[0] as { context: ContextChip[] }).context, [chip]);
    assert.equal((saved.messages[1] as AssistantMessage).state, 'streaming');
    assert.equal(assistant.content, '');
  });

  it('saves streamed text within the save delay (not on every delta), and the end of the turn at once', async (t) => {
    // TEST DOUBLE: node:test's mock timers stand in for setTimeout, so the delay passes only when the test ticks it;
    // no flush() before a check, since flush() writes pending text itself and would hide a timer that never fired.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const SAVE_DELAY_MS = 20;
    const persistence = new MemoryConversationPersistence();
    const store = await ConversationStore.open(persistence, { newId: ids(), saveDelayMs: SAVE_DELAY_MS });
    const { conversation, assistant } = store.startTurn(undefined, 'q');
    await store.flush();
    const saved = () => (JSON.parse(persistence.saved.get(conversation.id)!) as Conversation).messages[1] as AssistantMessage;
    // Writes go through a promise chain: setImmediate (not mocked) runs once every queued microtask has.
    const writesSettle = () => new Promise((r) => setImmediate(r));

    store.appendText(conversation.id, assistant.id, 'Hel');
    store.appendText(conversation.id, assistant.id, 'lo');
    await writesSettle();
    assert.equal(saved().content, '', 'not written on every delta');
    t.mock.timers.tick(SAVE_DELAY_MS - 1);
    await writesSettle();
    assert.equal(saved().content, '', 'not written before the delay is over');
    t.mock.timers.tick(1);
    await writesSettle();
    assert.equal(saved().content, 'Hello', 'written when the delay is over');

    store.finishTurn(conversation.id, assistant.id, { state: 'done', content: 'Hello!', stats: { promptTokens: 5, reusedTokens: 0, completionTokens: 2, tokensPerSecond: 10, timeToFirstTokenMs: 50, totalMs: 200, finishReason: 'stop' } });
    await writesSettle();
    assert.equal(saved().content, 'Hello!', 'the end is written at once: no tick, no flush');
    assert.equal(saved().state, 'done');
    assert.equal(saved().stats?.completionTokens, 2);
  });

  it('keeps a failed turn: the question stays, the answer carries the error, Retry starts it over in place', async () => {
    const store = await ConversationStore.open(new MemoryConversationPersistence(), { newId: ids() });
    const { conversation, assistant } = store.startTurn(undefined, 'first');
    store.appendText(conversation.id, assistant.id, 'partial');
    store.finishTurn(conversation.id, assistant.id, { state: 'error', error: 'The sidecar stopped while answering.' });
    const failed = store.get(conversation.id)!.messages[1] as AssistantMessage;
    assert.equal(failed.state, 'error');
    assert.equal(failed.content, 'partial', 'what was streamed is kept');
    assert.equal(failed.error, 'The sidecar stopped while answering.');
    assert.equal(store.get(conversation.id)!.messages[0].content, 'first');

    const { assistant: again, index } = store.restartAnswer(conversation.id, assistant.id);
    assert.equal(index, 1);
    assert.equal(again.id, assistant.id);
    assert.equal(again.state, 'streaming');
    assert.equal(again.content, '');
    assert.equal(again.error, undefined);
    store.finishTurn(conversation.id, assistant.id, { state: 'done', content: 'ok' });
    assert.equal((store.get(conversation.id)!.messages[1] as AssistantMessage).error, undefined);
  });

  it('continues a conversation by id and lists conversations newest first', async () => {
    const c = clock();
    const store = await ConversationStore.open(new MemoryConversationPersistence(), { newId: ids(), now: c.now });
    const a = store.startTurn(undefined, 'alpha').conversation;
    c.advance(10);
    const b = store.startTurn(undefined, 'beta').conversation;
    c.advance(10);
    store.startTurn(a.id, 'alpha again');
    assert.deepEqual(store.list().map((s) => s.title), ['alpha', 'beta']);
    assert.equal(store.list()[0].messageCount, 4);
    assert.equal(store.mostRecent()?.id, a.id);
    assert.notEqual(a.id, b.id);
  });
});

describe('conversation store on real files (FileConversationPersistence in a temporary folder)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-store-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('survives a reload: files on disk, answers cut off by the reload end stopped or failed', async () => {
    const dir = path.join(tmp, 'reload');
    const first = await ConversationStore.open(new FileConversationPersistence(dir));
    const one = first.startTurn(undefined, 'question one');
    first.appendText(one.conversation.id, one.assistant.id, 'half an answer');
    const two = first.startTurn(undefined, 'question two');
    await first.flush();
    // The window goes away here, both answers still streaming.

    const second = await ConversationStore.open(new FileConversationPersistence(dir));
    assert.equal(second.list().length, 2);
    const a = second.get(one.conversation.id)!.messages[1] as AssistantMessage;
    assert.equal(a.state, 'cancelled');
    assert.equal(a.content, 'half an answer');
    const b = second.get(two.conversation.id)!.messages[1] as AssistantMessage;
    assert.equal(b.state, 'error');
    assert.equal(b.error, INTERRUPTED);
    await second.flush();
    const onDisk = (await new FileConversationPersistence(dir).loadAll()).find((c) => c.id === one.conversation.id)!;
    assert.equal((onDisk.messages[1] as AssistantMessage).state, 'cancelled', 'the repair is saved');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary files left');
  });

  it('skips broken and foreign files instead of failing', async () => {
    const dir = path.join(tmp, 'broken');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'abc.json'), '{ not json');
    fs.writeFileSync(path.join(dir, 'def.json'), JSON.stringify({ hello: 'world' }));
    fs.writeFileSync(path.join(dir, 'xyz.json'), JSON.stringify({ id: 'other', title: 't', createdAt: 1, updatedAt: 1, messages: [] }));
    const logged: string[] = [];
    const store = await ConversationStore.open(new FileConversationPersistence(dir, (m) => logged.push(m)));
    assert.equal(store.list().length, 0);
    assert.equal(logged.length, 3);
  });

  it('deletes a conversation from disk, and restores it on undo', async () => {
    const dir = path.join(tmp, 'delete');
    const store = await ConversationStore.open(new FileConversationPersistence(dir));
    const { conversation } = store.startTurn(undefined, 'to delete');
    await store.flush();
    const file = path.join(dir, `${conversation.id}.jsonl`);
    assert.ok(fs.existsSync(file));
    let changes = 0;
    store.onDidChange(() => changes++);
    const removed = store.delete(conversation.id)!;
    await store.flush();
    assert.equal(fs.existsSync(file), false);
    assert.equal(store.get(conversation.id), undefined);
    store.restore(removed);
    await store.flush();
    assert.ok(fs.existsSync(file));
    assert.equal(changes, 2);
  });

  it('refuses ids that are not file-name safe', async () => {
    const persistence = new FileConversationPersistence(path.join(tmp, 'ids'));
    await assert.rejects(persistence.save({ id: '../escape', title: 't', createdAt: 1, updatedAt: 1, messages: [] }), /Not a conversation id/);
  });

  it('two windows: a save that waited for the lock is not lost to the other window\'s rewrite (fs calls paused by mocks)', { timeout: 10_000 }, async (t) => {
    // TEST DOUBLE: node:test mocks wrap fs.promises' readFile, rm and rename (the files stay real) to pause them, so
    // that two windows' steps interleave as they did when the two-windows test in test/hardening/conversationKill.test.ts
    // lost an answer: A's final save waits for the lock; B releases it just as A looks at it; B's next save takes it
    // and starts a rewrite; A must not append before that rewrite is in place.
    const dir = path.join(tmp, 'two-windows');
    fs.mkdirSync(dir, { recursive: true });
    const lock = path.join(dir, 'c.lock');
    const journal = path.join(dir, 'c.jsonl');
    const a = new FileConversationPersistence(dir);
    const b = new FileConversationPersistence(dir, () => {}, -Infinity); // rewrites the journal at every save
    const conversation = (messages: StoredMessage[]): Conversation => ({ id: 'c', title: 't', createdAt: 1, updatedAt: 1, messages });
    const question: UserMessage = { id: 'q', role: 'user', content: 'question', context: [], createdAt: 1, revision: 1 };
    const streaming: AssistantMessage = { id: 'a', role: 'assistant', content: '', state: 'streaming', createdAt: 1, revision: 1 };
    const final: AssistantMessage = { ...streaming, content: 'the final answer', state: 'done', revision: 3 };
    const other: UserMessage = { id: 'q2', role: 'user', content: 'B\'s question', context: [], createdAt: 2, revision: 1 };
    await a.save(conversation([question, streaming])); // A's turn starts: the answer saved empty

    type Call = (...args: unknown[]) => Promise<unknown>;
    const real = { readFile: fs.promises.readFile as Call, rm: fs.promises.rm as Call, rename: fs.promises.rename as Call };
    let lookedAtLock = false;
    let bSave: Promise<void> | undefined;
    let bRenaming!: () => void;
    const bAtRename = new Promise<void>((resolve) => (bRenaming = resolve));
    let aDone!: () => void;
    const aSaved = new Promise<void>((resolve) => (aDone = resolve));
    // 1. B's previous save holds the lock (a live holder: this process); A's save finds it taken and reads it, and
    //    B releases it just then.
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, host: os.hostname() }));
    t.mock.method(fs.promises, 'readFile', async (file: unknown, ...rest: unknown[]) => {
      if (file === lock && !lookedAtLock) {
        lookedAtLock = true;
        await real.rm(lock, { force: true });
      }
      return real.readFile(file, ...rest);
    });
    // 2. Should A then remove the lock file before it appended, B's next save takes the lock first: it appends,
    //    reads the journal and has written its rewrite when A's removal goes ahead.
    t.mock.method(fs.promises, 'rm', async (file: unknown, ...rest: unknown[]) => {
      if (file === lock && lookedAtLock && !bSave && !fs.readFileSync(journal, 'utf8').includes(final.content)) {
        bSave = b.save(conversation([other]));
        await bAtRename;
      }
      return real.rm(file, ...rest);
    });
    // 3. B's rewrite replaces the journal only once A's save is done.
    t.mock.method(fs.promises, 'rename', async (...args: unknown[]) => {
      bRenaming();
      await aSaved;
      return real.rename(...args);
    });

    await a.save(conversation([final]));
    aDone();
    await (bSave ?? b.save(conversation([other])));
    t.mock.restoreAll();

    const [saved] = await new FileConversationPersistence(dir).loadAll();
    assert.deepEqual(saved.messages.map((m) => m.content), ['question', 'the final answer', 'B\'s question']);
    assert.equal((saved.messages[1] as AssistantMessage).state, 'done');
    assert.equal(fs.existsSync(lock), false, 'the lock is released');
  });
});

describe('conversation store on a failing disk (TEST DOUBLE: persistence whose save always throws)', () => {
  it('reports a failing disk and keeps the conversation in memory', async () => {
    const errors: string[] = [];
    const failing = { loadAll: async () => [], save: async () => { throw new Error('disk full'); }, delete: async () => {} };
    const store = await ConversationStore.open(failing, { onError: (m) => errors.push(m) });
    const { conversation } = store.startTurn(undefined, 'still here');
    await store.flush();
    assert.match(errors[0], /disk full/);
    assert.equal(store.get(conversation.id)?.messages[0].content, 'still here');
  });
});

describe('conversation shape check', () => {
  it('isConversation checks the shape', () => {
    assert.equal(isConversation({ id: 'a', title: 't', createdAt: 1, updatedAt: 1, messages: [{ id: 'm', role: 'user', content: 'x', context: [] }] }), true);
    assert.equal(isConversation({ id: 'a', title: 't', createdAt: 1, updatedAt: 1, messages: [{ id: 'm', role: 'user', content: 'x' }] }), false);
    assert.equal(isConversation(null), false);
  });
});

describe('what the model sees (TEST DOUBLE: in-memory persistence)', () => {
  it('system prompt, questions with their context, answers that got text; failed answers left out', async () => {
    const store = await ConversationStore.open(new MemoryConversationPersistence(), { newId: ids() });
    const t1 = store.startTurn(undefined, 'Explain this', [chip]);
    store.finishTurn(t1.conversation.id, t1.assistant.id, { state: 'done', content: 'It sets x.' });
    const t2 = store.startTurn(t1.conversation.id, 'And then?');
    store.finishTurn(t1.conversation.id, t2.assistant.id, { state: 'error', error: 'boom' });
    const t3 = store.startTurn(t1.conversation.id, 'Shorter please');
    store.appendText(t1.conversation.id, t3.assistant.id, 'x is');
    store.finishTurn(t1.conversation.id, t3.assistant.id, { state: 'cancelled' });
    const t4 = store.startTurn(t1.conversation.id, 'Last');
    const messages = store.get(t1.conversation.id)!.messages;

    const sent = toModelMessages(messages, messages.indexOf(t4.assistant));
    assert.deepEqual(sent.map((m) => m.role), ['system', 'user', 'assistant', 'user', 'user', 'assistant', 'user']);
    assert.equal(sent[0].content, SYSTEM_PROMPT);
    assert.equal(sent[1].content, 'Selected code from `src/a.ts` (lines 3-3):\n```typescript\nlet x = 1;\n```\n\nExplain this');
    assert.equal(sent[5].content, 'x is', 'a stopped answer is part of the history');
    assert.equal(sent[6].content, 'Last');

    // Retrying the failed second answer: the model sees only what came before it.
    const retry = toModelMessages(messages, messages.indexOf(t2.assistant));
    assert.deepEqual(retry.map((m) => m.content.slice(0, 10)), [SYSTEM_PROMPT.slice(0, 10), 'Selected c', 'It sets x.', 'And then?']);
  });

  it('titles come from the first line of the first question', () => {
    assert.equal(titleFor('\n  How do I   sort\nthings?'), 'How do I sort');
    assert.equal(titleFor(''), 'New chat');
    assert.equal(titleFor('x'.repeat(100)).length, 60);
  });
});
