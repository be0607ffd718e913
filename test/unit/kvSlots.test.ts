// The KV slot bookkeeping (sidecar/engine/kvSlots.ts), pure: no backend, the slots' token lists set by hand as the
// generator would leave them. Which slot a request gets, what it copies in from another slot, and what the memory
// budget empties.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KvSlots, commonPrefixLength, type KvSlot } from '../../sidecar/engine/kvSlots';

const BYTES = 1024;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** A request of `label` that ran `prompt` and left its slot holding it. */
function ran(slots: KvSlots, label: string, prompt: number[]): KvSlot {
  const choice = slots.acquire(label, prompt);
  assert.ok(choice, `a free slot for ${label}`);
  choice.slot.tokens = [...prompt];
  slots.release(choice.slot);
  return choice.slot;
}

describe('KvSlots (pure bookkeeping)', () => {
  it('commonPrefixLength counts the equal leading tokens', () => {
    assert.equal(commonPrefixLength([1, 2, 3], [1, 2, 4]), 2);
    assert.equal(commonPrefixLength([1, 2], [1, 2, 3]), 2);
    assert.equal(commonPrefixLength([], [1]), 0);
    assert.equal(commonPrefixLength([5], [6]), 0);
  });

  it('a request takes a free slot of its own label, even when an empty one is there', () => {
    const slots = new KvSlots(4, BYTES, Infinity);
    const chat = ran(slots, 'chat', [1, 2, 3]);
    const explain = ran(slots, 'explain', [7, 8, 9]);
    assert.notEqual(chat.index, explain.index);
    const again = slots.acquire('chat', [1, 2, 3, 4])!;
    assert.equal(again.slot, chat);
    assert.equal(again.reuse, 3);
    assert.equal(again.copyFrom, undefined);
    assert.equal(again.slot.busy, true);
  });

  it('of several slots of its label, the one holding most of the prompt; a new label takes an empty slot first', () => {
    const slots = new KvSlots(4, BYTES, Infinity);
    const a = slots.acquire('chat', [1, 2])!.slot;
    const b = slots.acquire('chat', [1, 2, 3, 4])!.slot; // a is busy: a second chat slot
    a.tokens = [1, 2];
    b.tokens = [1, 2, 3, 4];
    slots.release(b);
    slots.release(a); // a used last
    const choice = slots.acquire('chat', [1, 2, 3, 4, 5])!;
    assert.equal(choice.slot, b, 'the longest prefix wins over the most recent use');
    assert.equal(choice.reuse, 4);
    slots.release(choice.slot);
    const other = slots.acquire('completion', [9])!;
    assert.equal(other.slot.tokens.length, 0, 'an empty slot, not one holding a chat');
    assert.ok(other.slot !== a && other.slot !== b);
  });

  it('another slot holding a longer prefix is copied from, with exactly the common-prefix length', () => {
    const slots = new KvSlots(4, BYTES, Infinity);
    const head = range(100, 140); // a system prompt's 40 tokens
    const chat = ran(slots, 'chat', [...head, 1, 2, 3, 4, 5]);
    const explain = ran(slots, 'explain', [...head.slice(0, 10), 50, 51]);
    // A new explain request with the same head: its own slot holds 10 of it, the chat slot 40 (then differs).
    const prompt = [...head, 9, 9];
    const choice = slots.acquire('explain', prompt)!;
    assert.equal(choice.slot, explain);
    assert.ok(choice.copyFrom);
    assert.equal(choice.copyFrom.slot, chat);
    assert.equal(choice.copyFrom.length, head.length);
    assert.equal(choice.copyFrom.length, commonPrefixLength(chat.tokens, prompt));
    assert.equal(choice.reuse, head.length);
    slots.release(choice.slot);
    // No copy when the own slot holds as much as any other.
    const same = slots.acquire('chat', [...head, 1, 2, 3, 4, 5, 6])!;
    assert.equal(same.slot, chat);
    assert.equal(same.copyFrom, undefined);
    assert.equal(same.reuse, head.length + 5);
  });

  it('busy slots are never chosen; with every slot busy there is none', () => {
    const slots = new KvSlots(2, BYTES, Infinity);
    const first = slots.acquire('chat', [1, 2, 3])!;
    first.slot.tokens = [1, 2, 3];
    const second = slots.acquire('chat', [1, 2, 3])!;
    assert.notEqual(second.slot, first.slot, 'a busy slot of the same label is not handed out again');
    assert.equal(slots.acquire('chat', [1, 2, 3]), undefined);
    assert.equal(slots.acquire('explain', [4]), undefined);
    slots.release(first.slot);
    assert.equal(slots.acquire('explain', [4])!.slot, first.slot);
  });

  it('a busy slot may be copied from (its prefix is settled) but stays busy and untouched', () => {
    const slots = new KvSlots(3, BYTES, Infinity);
    const running = slots.acquire('chat', [1, 2, 3, 4])!.slot;
    running.tokens = [1, 2, 3, 4];
    const choice = slots.acquire('explain', [1, 2, 3, 9])!;
    assert.notEqual(choice.slot, running);
    assert.equal(choice.copyFrom?.slot, running);
    assert.equal(choice.copyFrom?.length, 3);
    assert.equal(running.busy, true);
    assert.deepEqual(running.tokens, [1, 2, 3, 4]);
  });

  it('with no free empty slot, a new label takes the least recently used free one', () => {
    const slots = new KvSlots(3, BYTES, Infinity);
    const a = ran(slots, 'a', [1]);
    const b = ran(slots, 'b', [2]);
    const c = ran(slots, 'c', [3]);
    assert.deepEqual([a.index, b.index, c.index].sort(), [0, 1, 2]);
    ran(slots, 'a', [1, 1]); // a is now the most recent
    const d = slots.acquire('d', [4])!;
    assert.equal(d.slot, b);
    assert.equal(d.slot.label, 'd');
    assert.equal(d.reuse, 0);
  });

  it('evictionsFor empties idle slots least recently used first, only until the budget holds, never the growing or a busy one', () => {
    const slots = new KvSlots(5, BYTES, 140 * BYTES);
    const oldest = ran(slots, 'a', range(0, 30));
    const middle = ran(slots, 'b', range(1000, 1030));
    const busy = slots.acquire('c', range(2000, 2030))!.slot;
    busy.tokens = range(2000, 2030);
    const recent = ran(slots, 'd', range(3000, 3030));
    const growing = slots.acquire('e', range(4000, 4010))!.slot;
    growing.tokens = range(4000, 4010);
    // The others hold 4 × 30 = 120 positions; the growing slot counts with the length it will reach, not what it holds.
    assert.deepEqual(slots.evictionsFor(growing, 20), [], '120 + 20 = 140 fits the budget');
    assert.deepEqual(slots.evictionsFor(growing, 21), [oldest], '141 − 30 = 111 fits');
    assert.deepEqual(slots.evictionsFor(growing, 60), [oldest, middle], '180 − 30 = 150 does not, − 30 = 120 does');
    // Past what the idle ones hold, the budget is exceeded rather than a busy slot or the growing one emptied.
    const all = slots.evictionsFor(growing, 1000);
    assert.deepEqual(all, [oldest, middle, recent]);
    assert.ok(!all.includes(busy) && !all.includes(growing));
    // evictionsFor only decides: nothing was emptied.
    assert.equal(oldest.tokens.length, 30);
    // A slot used again moves to the end of the line.
    ran(slots, 'a', range(0, 30));
    assert.deepEqual(slots.evictionsFor(growing, 21), [middle]);
  });

  it('usedBytes and summary: every slot that holds tokens or is busy, with its bytes', () => {
    const slots = new KvSlots(4, BYTES, Infinity);
    ran(slots, 'chat', range(0, 12));
    const busy = slots.acquire('explain', [5])!.slot; // busy, nothing held yet
    assert.equal(slots.usedBytes, 12 * BYTES);
    assert.deepEqual(slots.summary(), [
      { label: 'chat', tokens: 12, bytes: 12 * BYTES, busy: false },
      { label: 'explain', tokens: 0, bytes: 0, busy: true },
    ]);
    busy.tokens = [5, 6];
    slots.release(busy);
    assert.equal(slots.usedBytes, 14 * BYTES);
    assert.equal(slots.summary().length, 2);
    assert.ok(slots.summary().every((s) => !s.busy));
  });
});
