// Prompt-lookup drafting: what it proposes from a sequence, and how the draft length adapts.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DraftLength, lookupDraft } from '../../sidecar/engine/promptLookup';

test('drafts the continuation of the latest earlier occurrence of the last n-gram', () => {
  //           0  1  2  3  4  5  6  7  8  9 10
  const seq = [1, 2, 3, 4, 5, 9, 2, 3, 7, 8, 2, 3];
  // "2 3" occurs at 1 and 6 before the tail: the latest one (6) continues with 7 8 2 3.
  assert.deepEqual(lookupDraft(seq, 3), [7, 8, 2]);
  assert.deepEqual(lookupDraft(seq, 10), [7, 8, 2, 3]);
});

test('prefers the longest matching n-gram', () => {
  //           0  1  2  3  4  5  6  7  8  9
  const seq = [5, 2, 3, 4, 6, 1, 2, 3, 9, 5, 2, 3];
  // 3-gram "5 2 3" matches at 0 (→ 4 6 …); the 2-gram "2 3" would match later at 6 (→ 9 …).
  assert.deepEqual(lookupDraft(seq, 2), [4, 6]);
});

test('nothing to draft without a match, below the minimum n-gram, or with no room', () => {
  assert.deepEqual(lookupDraft([1, 2, 3, 4, 5], 4), []);
  assert.deepEqual(lookupDraft([7, 1, 2, 7], 4), [], 'a 1-gram is not enough by default');
  assert.deepEqual(lookupDraft([7, 1, 2, 7], 4, { minNgram: 1 }), [1, 2, 7]);
  assert.deepEqual(lookupDraft([1, 2, 1, 2], 0), []);
  assert.deepEqual(lookupDraft([], 4), []);
});

test('a draft may run into the tail itself (a repeating pattern continues)', () => {
  assert.deepEqual(lookupDraft([4, 4, 4, 4], 5), [4]);
  assert.deepEqual(lookupDraft([1, 2, 1, 2, 1, 2], 5), [1, 2]);
});

test('the draft length grows on full acceptance, halves on rejection, stays within bounds', () => {
  const d = new DraftLength(8, 1);
  assert.equal(d.value, 2);
  d.update(2, 2);
  assert.equal(d.value, 4);
  d.update(4, 4);
  d.update(6, 6);
  d.update(8, 8);
  assert.equal(d.value, 8);
  d.update(8, 3);
  assert.equal(d.value, 8, 'a partial acceptance keeps the length');
  d.update(8, 0);
  assert.equal(d.value, 4);
  for (let i = 0; i < 5; i++) d.update(4, 0);
  assert.equal(d.value, 1);
  d.update(0, 0);
  assert.equal(d.value, 1);
});
