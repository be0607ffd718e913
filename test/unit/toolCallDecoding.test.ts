// The tool choice on the logits before a call ('none' / 'required' / 'auto'), the phases of a call, and the
// bitmask that applies the grammar. The grammar itself runs on the real vocabulary in test/engine/toolCallConstraint.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyBitmask } from '../../sidecar/toolCalls/toolCallConstraint';
import { ToolCallDecoding, type ToolChoice } from '../../sidecar/toolCalls/toolCallDecoding';

const tokens = { start: 7, end: 8 };
const tools = [{ name: 'f' }];
const noGrammar = () => Promise.reject(new Error('the grammar is not needed here'));
const decoding = (choice: ToolChoice, withTools = tools) =>
  new ToolCallDecoding({ tools: withTools, choice, constrain: false }, tokens, noGrammar);
const logits = () => Float32Array.from({ length: 10 }, (_, i) => i / 10);

describe('tool-call decoding', () => {
  it("'none', and no tools at all, make the call token impossible and leave the rest", async () => {
    for (const d of [decoding('none'), decoding('auto', [])]) {
      const l = logits();
      assert.ok(d.constrains(0));
      await d.constrain(l, 0);
      assert.equal(l[7], -Infinity);
      assert.deepEqual([...l].filter((x) => x !== -Infinity).length, 9);
    }
  });

  it("'required' allows only the call token first, then nothing is forced", async () => {
    const d = decoding('required');
    const l = logits();
    await d.constrain(l, 0);
    assert.deepEqual([...l].map((x, i) => (x > -Infinity ? i : -1)).filter((i) => i >= 0), [7]);
    assert.equal(d.constrains(1), false);
  });

  it("'auto' leaves the logits alone", () => {
    assert.equal(decoding('auto').constrains(0), false);
  });

  it('phases: text, then call after the call token, done after the end token', async () => {
    const d = decoding('auto');
    assert.equal(await d.accept(3), 'text');
    assert.equal(await d.accept(7), 'call');
    assert.equal(await d.accept(3), 'call');
    assert.equal(await d.accept(8), 'done');
  });

  it('a bitmask keeps exactly the tokens whose bit is set (32 per word, low bit first)', () => {
    const l = new Float32Array(70).fill(1);
    const mask = new Int32Array(3);
    for (const id of [0, 31, 32, 69]) mask[id >> 5] |= 1 << (id & 31);
    applyBitmask(l, mask);
    assert.deepEqual([...l.keys()].filter((i) => l[i] > -Infinity), [0, 31, 32, 69]);
    const all = new Float32Array(40).fill(1);
    applyBitmask(all, new Int32Array([-1, 0xff]));
    assert.deepEqual([...all.keys()].filter((i) => all[i] > -Infinity).length, 40);
  });
});
