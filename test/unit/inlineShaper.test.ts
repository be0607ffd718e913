// Shaping the model's raw continuation into ghost text (sidecar/completions/completionShaper.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCompletionPrompt } from '../../sidecar/completions/completionPrompt';
import { shapeCompletion } from '../../sidecar/completions/completionShaper';

const ctx = (prefix: string, suffix = '', languageId = 'typescript') => buildCompletionPrompt({ languageId, prefix, suffix });

describe('inline completion shaping', () => {
  it('single line: stops at the end of the line, and says it is not done before', () => {
    const c = ctx('const answer = ');
    assert.deepEqual(shapeCompletion(' compute(4', c, false), { text: 'compute(4', done: false });
    assert.deepEqual(shapeCompletion(' compute(42);\nconsole.log(answer);', c, false), { text: 'compute(42);', done: true });
  });

  it('removes the space held back from the prompt, and keeps text that does not start with it', () => {
    assert.equal(shapeCompletion(' 42;\n', ctx('let x = '), true).text, '42;');
    assert.equal(shapeCompletion('42;\n', ctx('let x = '), true).text, '42;');
  });

  it('a closing code fence ends the completion', () => {
    assert.deepEqual(shapeCompletion('42;```\nThis sets x.', ctx('let x ='), false), { text: '42;', done: true });
    const block = ctx('function f() {');
    assert.deepEqual(shapeCompletion('\n  return 1;\n}\n```', block, false), { text: '\n  return 1;\n}', done: true });
  });

  it('block: ends at the line that closes the block (kept) or at a dedented line (dropped)', () => {
    const c = ctx('function total(xs) {');
    assert.equal(shapeCompletion('\n  let t = 0;\n  for (const x of xs) t += x;\n', c, false).done, false, 'the block is still open');
    const done = shapeCompletion('\n  let t = 0;\n  return t;\n}\nfunction other() {', c, false);
    assert.deepEqual(done, { text: '\n  let t = 0;\n  return t;\n}', done: true });
    const py = ctx('def f(x):\n    ', '', 'python');
    assert.deepEqual(shapeCompletion(' y = x * 2\n    return y\nprint(f(2))\n', py, false), { text: 'y = x * 2\n    return y', done: true });
  });

  it('block: caps the number of lines', () => {
    const c = ctx('int main() {', '', 'c');
    const raw = `\n${Array.from({ length: 40 }, (_, i) => `  step(${i});`).join('\n')}\n`;
    const r = shapeCompletion(raw, c, false, { maxLines: 5 });
    assert.equal(r.done, true);
    assert.equal(r.text.split('\n').length, 5);
  });

  it('strips what repeats the code after the cursor', () => {
    assert.equal(shapeCompletion('a, b)\n', ctx('sum(', ')'), true).text, 'a, b', 'auto-closed paren on the same line');
    assert.equal(shapeCompletion('a, b);\n', ctx('sum(', ');'), true).text, 'a, b');
    const braces = ctx('function f() {', '\n}\n');
    assert.equal(shapeCompletion('\n  return 1;\n}\n', braces, true).text, '\n  return 1;', 'the brace the editor already closed');
    assert.equal(shapeCompletion('return 1;\n', ctx('  ', 'return 1;\n}'), true).text, '', 'a copy of the next line is no suggestion');
  });

  it('converts indentation to the document style', () => {
    const c = ctx('if (x) {', '', 'javascript');
    assert.equal(shapeCompletion('\n    y();\n}', c, true, { indent: { insertSpaces: false, tabSize: 4 } }).text, '\n\ty();\n}');
    assert.equal(shapeCompletion('\n\ty();\n}', c, true, { indent: { insertSpaces: true, tabSize: 2 } }).text, '\n  y();\n}');
  });
});
