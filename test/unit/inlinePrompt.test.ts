// The inline completion prompt (sidecar/completions/completionPrompt.ts): prefix and suffix budgets, language,
// indentation, line or block, and an order that lets the KV cache be reused while the user types.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCompletionPrompt, completionMode, estimateTokens, languageOf } from '../../sidecar/completions/completionPrompt';

const lines = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join('\n');

describe('inline completion prompt', () => {
  it('keeps the end of a long prefix and the start of a long suffix within their token budgets, in whole lines', () => {
    const prefix = `${lines(3000, (i) => `const value${i} = compute(${i});`)}\nconst last = `;
    const suffix = `;\n${lines(3000, (i) => `use(value${i});`)}`;
    const p = buildCompletionPrompt({ languageId: 'typescript', prefix, suffix, maxPrefixTokens: 200, maxSuffixTokens: 50 });
    assert.ok(estimateTokens(p.prefix) <= 200, `prefix ~${estimateTokens(p.prefix)} tokens`);
    assert.ok(estimateTokens(p.suffix) <= 50, `suffix ~${estimateTokens(p.suffix)} tokens`);
    assert.ok(prefix.endsWith(p.prefix) && p.prefix.endsWith('const last = '));
    assert.match(p.prefix, /^const value\d+ = /, 'the prefix starts at a whole line');
    assert.ok(suffix.startsWith(p.suffix) && p.suffix.endsWith(');'), 'the suffix ends at a whole line');
    assert.ok(p.prefix.length > 300, 'the budget is used, not wasted');
  });

  it('cuts a single huge line rather than sending it whole', () => {
    const p = buildCompletionPrompt({ languageId: 'javascript', prefix: 'x'.repeat(10_000), suffix: '', maxPrefixTokens: 100 });
    assert.ok(p.prefix.length <= 300 && p.prefix.length > 0);
  });

  it('names the language and tags the code fence from the document language', () => {
    const p = buildCompletionPrompt({ languageId: 'typescriptreact', fileName: 'App.tsx', prefix: 'const a = ', suffix: ';\nexport default a;' });
    assert.match(p.messages[0].content, /TypeScript React code in App\.tsx/);
    assert.match(p.messages[0].content, /```tsx\n;\nexport default a;\n```/);
    assert.ok(p.assistantPrefix.startsWith('```tsx\n'));
    assert.deepEqual(languageOf('python'), { name: 'Python', fence: 'python' });
    assert.deepEqual(languageOf('my-dsl'), { name: 'my-dsl', fence: 'my-dsl' });
  });

  it('puts the suffix first and the prefix last, so typing only grows the prompt at its end', () => {
    const suffix = '\n  return total;\n}\n';
    const a = buildCompletionPrompt({ languageId: 'javascript', prefix: 'function sum(xs) {\n  let total = 0;\n  for (const x of xs', suffix });
    const b = buildCompletionPrompt({ languageId: 'javascript', prefix: 'function sum(xs) {\n  let total = 0;\n  for (const x of xs) total', suffix });
    assert.deepEqual(a.messages, b.messages);
    assert.ok(b.assistantPrefix.startsWith(a.assistantPrefix));
    assert.equal(a.messages.length, 1, 'one user turn; the answer is pre-filled with the code before the cursor');
    assert.ok(a.assistantPrefix.endsWith('for (const x of xs'));
  });

  it('leaves out no suffix block when nothing follows the cursor', () => {
    const p = buildCompletionPrompt({ languageId: 'python', prefix: 'import os\n', suffix: '\n\n' });
    assert.doesNotMatch(p.messages[0].content, /after the cursor is/);
  });

  it('keeps indentation: the line is pre-filled with it, and only one trailing space is held back', () => {
    const p = buildCompletionPrompt({ languageId: 'python', prefix: 'def f(x):\n    ', suffix: '' });
    assert.equal(p.heldBack, ' ');
    assert.ok(p.assistantPrefix.endsWith('def f(x):\n   '));
    assert.equal(p.linePrefix, '    ');
    const tabs = buildCompletionPrompt({ languageId: 'go', prefix: 'func f() {\n\t\t', suffix: '\n}' });
    assert.equal(tabs.heldBack, '', 'tabs are not glued to words: nothing held back');
    assert.ok(tabs.assistantPrefix.endsWith('\t\t'));
  });

  it('completes one line by default, and a block after a line that opens one', () => {
    assert.equal(completionMode('const x = ', 'typescript').mode, 'line');
    assert.deepEqual(completionMode('  function f() {', 'typescript'), { mode: 'block', baseIndent: '  ' });
    assert.deepEqual(completionMode('if x:\n    def g(y):\n        ', 'python'), { mode: 'block', baseIndent: '    ' });
    assert.equal(completionMode('items.map((x) =>', 'javascript').mode, 'block');
    assert.equal(completionMode('x: int', 'python').mode, 'line');
    assert.equal(completionMode('label:', 'typescript').mode, 'line', 'a colon opens a block only in Python');
    assert.equal(completionMode('f() {', 'typescript', 'line').mode, 'line', 'the caller can ask for one line');
  });
});
