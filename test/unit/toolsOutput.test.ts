// Tool results fit the model's context: fitToBudget (extension/tools/toolOutput.ts) cuts them to a byte budget,
// never inside a character, preferably at a line end, and says so with a marker that fits the budget too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { byteLength, clipLine, fitToBudget, RESULT_BUDGET_BYTES } from '../../extension/tools/toolOutput';

describe('tool result budget', () => {
  it('leaves a result that fits untouched', () => {
    const text = 'a\nb\nc';
    assert.deepEqual(fitToBudget(text, 100), { text, truncated: false });
    const exact = 'x'.repeat(64);
    assert.equal(fitToBudget(exact, 64).truncated, false);
  });

  it('cuts a long result to the budget, marker included, and says how much was shown', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i + 1}: ${'word '.repeat(5)}`);
    const text = lines.join('\n');
    const fitted = fitToBudget(text, RESULT_BUDGET_BYTES, 'Read further with start_line.');
    assert.equal(fitted.truncated, true);
    assert.ok(byteLength(fitted.text) <= RESULT_BUDGET_BYTES, `${byteLength(fitted.text)} bytes`);
    const marker = /\n\[truncated: showing (\d+) of (\d+) bytes\. Read further with start_line\.\]$/.exec(fitted.text);
    assert.ok(marker, fitted.text.slice(-200));
    assert.equal(Number(marker[2]), byteLength(text));
    const kept = fitted.text.slice(0, marker.index);
    assert.equal(Number(marker[1]), byteLength(kept));
    // Cut at a line end: what is kept is whole lines of the original.
    assert.ok(text.startsWith(`${kept}\n`), 'kept whole lines');
    assert.ok(kept.length > RESULT_BUDGET_BYTES * 0.75, 'most of the budget is used');
  });

  it('never splits a multi-byte character', () => {
    const text = '日本語のテキスト😀'.repeat(500); // no line breaks: the cut falls anywhere
    for (const budget of [100, 101, 102, 103, 1000, 4097]) {
      const fitted = fitToBudget(text, budget);
      assert.ok(byteLength(fitted.text) <= budget, `budget ${budget}`);
      assert.ok(!fitted.text.includes('\uFFFD'), 'no replacement character');
      const kept = fitted.text.slice(0, fitted.text.indexOf('\n[truncated'));
      assert.ok(text.startsWith(kept), 'a prefix of the original');
      // String slicing must not have cut a surrogate pair either.
      assert.ok(!/[\uD800-\uDBFF]$/.test(kept));
    }
  });

  it('clips long lines with an ellipsis', () => {
    assert.equal(clipLine('short'), 'short');
    assert.equal(clipLine('x'.repeat(300), 10), `${'x'.repeat(10)}…`);
  });
});
