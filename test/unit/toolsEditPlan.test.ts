// apply_edit's plan (extension/tools/editPlan.ts): which range of a file changes, or why the edit cannot be made,
// in words the model can act on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EditError, planEdit } from '../../extension/tools/editPlan';

const file = 'def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n';

describe('apply_edit plan', () => {
  it('replaces an exact text that occurs once', () => {
    const plan = planEdit(file, { oldText: 'return a - b', newText: 'return a - b  # difference' });
    assert.equal(plan.result, file.replace('return a - b', 'return a - b  # difference'));
    assert.equal(plan.where, 'line 6');
    assert.equal(file.slice(plan.start, plan.end), 'return a - b');
  });

  it('refuses a text that occurs more than once, or not at all, saying what to do', () => {
    assert.throws(() => planEdit(file, { oldText: 'def ', newText: 'async def ' }, 'math.py'), (e: unknown) =>
      e instanceof EditError && /occurs 2 times in math\.py \(at line 1, line 5\)\. Include more of the surrounding lines/.test((e as Error).message));
    assert.throws(() => planEdit(file, { oldText: 'return a * b', newText: 'x' }, 'math.py'), /not found in math\.py\. Read the file again with read_file/);
    assert.throws(() => planEdit(file, { oldText: '', newText: 'x' }), /old_text is empty/);
    assert.throws(() => planEdit(file, { newText: 'x' }), /Say what to replace/);
    assert.throws(() => planEdit(file, { oldText: 'a', startLine: 1, newText: 'x' }), /not both/);
  });

  it('forgives the line numbers read_file shows, and \\n for a file with \\r\\n', () => {
    const numbered = planEdit(file, { oldText: '5| def sub(a, b):\n6|     return a - b', newText: '5| def minus(a, b):\n6|     return a - b' });
    assert.equal(numbered.result, file.replace('def sub', 'def minus'));
    const crlf = file.replace(/\n/g, '\r\n');
    const plan = planEdit(crlf, { oldText: 'def sub(a, b):\n    return a - b', newText: 'def sub(a, b):\n    return b - a' });
    assert.equal(plan.result, crlf.replace('return a - b', 'return b - a'));
    assert.ok(!/[^\r]\n/.test(plan.result), 'line breaks stay \\r\\n');
  });

  it('replaces a range of lines, keeping the line break after them', () => {
    const plan = planEdit(file, { startLine: 5, endLine: 6, newText: 'def mul(a, b):\n    return a * b\n' });
    assert.equal(plan.result, 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n');
    assert.equal(plan.where, 'lines 5–6');
    const one = planEdit(file, { startLine: 1, endLine: 1, newText: 'def plus(a, b):' });
    assert.equal(one.result, file.replace('def add', 'def plus'));
    const noFinalBreak = planEdit('a\nb', { startLine: 2, endLine: 2, newText: 'c' });
    assert.equal(noFinalBreak.result, 'a\nc');
    const crlf = planEdit('a\r\nb\r\nc\r\n', { startLine: 2, endLine: 2, newText: 'B' });
    assert.equal(crlf.result, 'a\r\nB\r\nc\r\n');
  });

  it('refuses lines outside the file', () => {
    assert.throws(() => planEdit(file, { startLine: 7, endLine: 9, newText: 'x' }, 'math.py'), /math\.py has 6 lines; end_line 9 is past its end/);
    assert.throws(() => planEdit(file, { startLine: 3, endLine: 2, newText: 'x' }), /start_line ≤ end_line/);
    assert.throws(() => planEdit(file, { startLine: 0, endLine: 1, newText: 'x' }), /1 or more/);
  });
});
