// Saved conversations survive crashes and several windows: the store (extension/chat/conversationStore.ts) on real
// files in a temporary folder, written by real child processes (test/hardening/conversationWriter.ts) that are killed with
// SIGKILL at random points, or that write the same conversation at the same time. No test doubles.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import type { AssistantMessage, Conversation, StoredMessage } from '../../extension/chat/conversation';
import { ConversationStore, FileConversationPersistence, INTERRUPTED } from '../../extension/chat/conversationStore';
import { answer, question } from './conversationWriter';
import { reportFigure } from './figures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-durability-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const WRITER = path.join(__dirname, 'conversationWriter.ts');
const ID = 'conv1';

/** A conversation as an older version saved it: one whole JSON file, `<id>.json`. */
function legacyConversation(messages: number, bytesEach: number): Conversation {
  const list: StoredMessage[] = [];
  for (let i = 0; i < messages; i++) {
    list.push({ id: `old-u${i}`, role: 'user', content: question('old', i, bytesEach), context: [], createdAt: i });
    list.push({ id: `old-a${i}`, role: 'assistant', content: answer('old', i), state: 'done', createdAt: i });
  }
  return { id: ID, title: 'old', createdAt: 0, updatedAt: 1, messages: list };
}

interface Writer {
  /** Lines the writer printed so far. */
  lines: string[];
  ready: Promise<void>;
  exited: Promise<number | null>;
  kill(): void;
}

function startWriter(dir: string, tag: string, turns: number, bytes: number, slack: number): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, ID, tag, String(turns), String(bytes), String(slack)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let pending = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve) => child.stdout.setEncoding('utf8').on('data', (d: string) => {
    pending += d;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    lines.push(...parts);
    if (lines.includes('ready')) resolve();
  }));
  return { lines, ready: Promise.race([ready, exited.then(() => undefined)]), exited, kill: () => child.kill('SIGKILL') };
}

async function reopen(dir: string): Promise<{ store: ConversationStore; logged: string[]; errors: string[] }> {
  const logged: string[] = [];
  const errors: string[] = [];
  const store = await ConversationStore.open(new FileConversationPersistence(dir, (m) => logged.push(m)), { onError: (m) => errors.push(m) });
  await store.flush();
  return { store, logged, errors };
}

describe('a window killed while saving (SIGKILL at a random point, real child processes)', () => {
  const ROUNDS = 12;
  const QUESTION_BYTES = 100_000;

  it(`${ROUNDS} kills: what was saved stays, the question in flight is all there or not at all, no temporary file stays`, { timeout: 300_000 }, async (t) => {
    const dir = path.join(tmp, 'kill');
    fs.mkdirSync(dir, { recursive: true });
    const old = legacyConversation(35, 100_000); // about 3.5 MB, in the older whole-file format
    fs.writeFileSync(path.join(dir, `${ID}.json`), JSON.stringify(old));
    const expected = new Map(old.messages.map((m) => [m.id, m.content]));
    const figures = { kills: 0, questionsSaved: 0, inFlightLanded: 0, inFlightLost: 0, lostSaved: 0, tornLines: 0, tmpLeftByKill: 0, tmpAfterOpen: 0 };

    for (let round = 0; round < ROUNDS; round++) {
      // Odd rounds rewrite the whole journal at every save (slack -Infinity), so that kills land in rewrites too.
      const slack = round % 2 ? -Infinity : 1024 * 1024;
      const tag = `r${round}`;
      const writer = startWriter(dir, tag, 1000, QUESTION_BYTES, slack);
      await writer.ready;
      await new Promise((r) => setTimeout(r, Math.random() * 400));
      writer.kill();
      await writer.exited;
      figures.kills++;
      const acknowledged = writer.lines.filter((l) => l.startsWith('saved ')).length;
      figures.questionsSaved += acknowledged;
      figures.tmpLeftByKill += fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')).length;

      const { store, logged, errors } = await reopen(dir);
      figures.tornLines += logged.filter((m) => /unreadable line/.test(m)).length;
      const left = fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));
      figures.tmpAfterOpen += left.length;
      assert.deepEqual(errors, [], 'the next window saves (a dead window\'s lock is taken over)');
      const c = store.get(ID);
      assert.ok(c, `round ${round}: the conversation loads`);
      const byContent = new Map(c.messages.map((m) => [m.content, m]));
      for (const [id, content] of expected) {
        const m = c.messages.find((x) => x.id === id);
        if (!m || m.content !== content) figures.lostSaved++;
      }
      for (let n = 1; n <= acknowledged; n++) assert.ok(byContent.has(question(tag, n, QUESTION_BYTES)), `round ${round}: saved question ${n} is there`);
      const inFlight = question(tag, acknowledged + 1, QUESTION_BYTES);
      if (byContent.has(inFlight)) figures.inFlightLanded++;
      else figures.inFlightLost++;
      // Nothing half there: every question of this round is whole, and none after the one in flight.
      const ours = c.messages.filter((m) => m.role === 'user' && m.content.startsWith(`${tag}-`));
      for (const m of ours) {
        const n = Number(m.content.slice(tag.length + 1, m.content.indexOf(':')));
        assert.equal(m.content, question(tag, n, QUESTION_BYTES), `round ${round}: question ${n} whole`);
        assert.ok(n <= acknowledged + 1, `round ${round}: nothing after the question in flight`);
      }
      for (const m of c.messages) expected.set(m.id, m.content);
      await store.dispose();
    }
    t.diagnostic(JSON.stringify(figures));
    reportFigure('kill -9 mid-write (conversations)', {
      tried: figures.kills, refused: figures.inFlightLost, lost: figures.lostSaved + figures.tmpAfterOpen,
      note: `${figures.questionsSaved} saved questions kept; the one in flight landed whole ${figures.inFlightLanded}×, absent ${figures.inFlightLost}×, never partial`,
    });
    assert.equal(figures.lostSaved, 0, 'no saved message lost or changed');
    assert.equal(figures.tmpAfterOpen, 0, 'no temporary file left after the next open');
    assert.equal(fs.existsSync(path.join(dir, `${ID}.json`)), false, 'the older whole file is gone once a rewrite holds it');
  });
});

describe('two windows writing one conversation at once (two child processes)', () => {
  it('both keep all their questions and answers, through each other\'s rewrites', { timeout: 120_000 }, async (t) => {
    const dir = path.join(tmp, 'two');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${ID}.json`), JSON.stringify(legacyConversation(2, 100)));
    const TURNS = 25;
    // A 64 KB slack with 20 KB questions: each window rewrites the journal every few saves, between the other's appends.
    const windows = ['A', 'B'].map((tag) => startWriter(dir, tag, TURNS, 20_000, 64 * 1024));
    assert.deepEqual(await Promise.all(windows.map((w) => w.exited)), [0, 0]);
    const { store, logged } = await reopen(dir);
    const c = store.get(ID)!;
    let kept = 0;
    for (const tag of ['A', 'B']) {
      for (let n = 1; n <= TURNS; n++) {
        const at = c.messages.findIndex((m) => m.content === question(tag, n, 20_000));
        assert.ok(at >= 0, `${tag}'s question ${n} is there`);
        const a = c.messages[at + 1] as AssistantMessage;
        assert.equal(a.content, answer(tag, n), `${tag}'s answer ${n} is there, right after its question`);
        assert.equal(a.state, 'done');
        kept++;
      }
    }
    t.diagnostic(`${kept} of ${2 * TURNS} turns kept; ${c.messages.length} messages; log: ${JSON.stringify(logged)}`);
    reportFigure('two windows writing one conversation', { tried: 2 * TURNS, refused: 0, lost: 2 * TURNS - kept, note: 'turns saved by two processes at once' });
    assert.equal(c.messages.length, 4 + 4 * TURNS);
  });
});

describe('one process, real files: the format, old files, and a stale copy from another window', () => {
  it('a new turn on a big conversation appends a line: the saved file is not rewritten', async () => {
    const dir = path.join(tmp, 'append');
    fs.mkdirSync(dir, { recursive: true });
    const legacy = path.join(dir, `${ID}.json`);
    fs.writeFileSync(legacy, JSON.stringify(legacyConversation(70, 100_000))); // about 7 MB
    const before = fs.statSync(legacy);
    const { store } = await reopen(dir);
    assert.equal(store.get(ID)!.messages.length, 140, 'the older format is read');
    store.startTurn(ID, 'one more question');
    await store.flush();
    const after = fs.statSync(legacy);
    assert.equal(after.mtimeMs, before.mtimeMs, 'the older file is left as it was');
    assert.ok(fs.statSync(path.join(dir, `${ID}.jsonl`)).size < 2048, 'only the new messages were written');
    const again = await reopen(dir);
    assert.equal(again.store.get(ID)!.messages.length, 142);
    assert.equal(again.store.get(ID)!.messages[140].content, 'one more question');
  });

  it('a line cut off by a crash is skipped, and the next save starts on a fresh line', async () => {
    const dir = path.join(tmp, 'torn');
    const first = await reopen(dir);
    first.store.startTurn(ID, 'kept');
    await first.store.flush();
    fs.appendFileSync(path.join(dir, `${ID}.jsonl`), '{"id":"conv1","title":"t","createdAt":1,"updatedAt":2,"messages":[{"id":"x","ro');
    const second = await reopen(dir);
    assert.match(second.logged.join('\n'), /skipped 1 unreadable line/);
    second.store.startTurn(ID, 'after the crash');
    await second.store.flush();
    const third = await reopen(dir);
    assert.deepEqual(third.store.get(ID)!.messages.filter((m) => m.role === 'user').map((m) => m.content), ['kept', 'after the crash']);
  });

  it('an answer another window marked stopped at load does not undo the answer this window finished', async () => {
    const dir = path.join(tmp, 'stale');
    const a = await reopen(dir);
    const { assistant } = a.store.startTurn(ID, 'question');
    a.store.appendText(ID, assistant.id, 'partial');
    await a.store.flush();
    // Window B opens while A streams: it finds the answer streaming and saves it as stopped.
    const b = await reopen(dir);
    assert.equal((b.store.get(ID)!.messages[1] as AssistantMessage).state, 'cancelled');
    a.store.appendText(ID, assistant.id, ' and the rest');
    a.store.finishTurn(ID, assistant.id, { state: 'done' });
    await a.store.flush();
    // B's stopped copy lands once more, after A's end (it was written from what B loaded).
    const stale = b.store.get(ID)!;
    await new FileConversationPersistence(dir).save({ ...stale, messages: [stale.messages[1]] });
    const c = await reopen(dir);
    const final = c.store.get(ID)!.messages[1] as AssistantMessage;
    assert.equal(final.state, 'done');
    assert.equal(final.content, 'partial and the rest');
    assert.notEqual(final.error, INTERRUPTED);
  });
});
