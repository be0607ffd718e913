// Taking the code to apply out of the model's answer (extension/refactor/editExtraction.ts): fenced, unfenced,
// with prose, several blocks, cut short; re-indented to the range it replaces. And the prompts that ask for it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractEdit, fencedBlocks, reindent } from '../../extension/refactor/editExtraction';
import { refactorAction, refactorMessages } from '../../extension/refactor/refactorActions';

const original = '  function add(a, b) {\n    return a + b;\n  }\n';

describe('edit extraction', () => {
  it('takes the code of a fenced block and drops the prose around it', () => {
    const answer = 'Here is the simplified version:\n\n```js\nfunction add(a, b) {\n  return a + b; // sum\n}\n```\n\nThis keeps the behaviour the same.';
    const e = extractEdit(answer, { original, languageId: 'javascript' });
    assert.deepEqual(e, { code: '  function add(a, b) {\n    return a + b; // sum\n  }\n', source: 'fenced', partial: false });
  });

  it('takes an answer without fences, without its leading and trailing prose', () => {
    const answer = 'Sure! Here is the code with documentation:\nfunction add(a, b) {\n  return a + b;\n}\n\nThe function now has a comment.';
    const e = extractEdit(answer, { original: 'function add(a, b) {\n  return a + b;\n}', languageId: 'javascript' });
    assert.equal(e?.source, 'unfenced');
    assert.equal(e?.code, 'function add(a, b) {\n  return a + b;\n}');
  });

  it('keeps comment lines of an unfenced answer: they are code', () => {
    const e = extractEdit('/** Adds two numbers. */\nfunction add(a, b) {\n  return a + b;\n}', { original: 'function add(a, b) {}' });
    assert.match(e!.code, /^\/\*\* Adds two numbers/);
  });

  it('marks a block cut short (no closing fence) as partial', () => {
    const e = extractEdit('```python\ndef f(x):\n    return', { original: 'def f(x):\n    pass\n', languageId: 'python' });
    assert.deepEqual(e, { code: 'def f(x):\n    return\n', source: 'fenced', partial: true });
  });

  it('prefers the block in the document language, and the longest of them', () => {
    const answer = [
      'Run it with:', '```sh', 'node add.js', '```', 'The code:', '```ts',
      'export function add(a: number, b: number): number {', '  return a + b;', '}', '```',
      'Usage:', '```ts', 'add(1, 2);', '```',
    ].join('\n');
    const e = extractEdit(answer, { original: 'function add(a, b) { return a + b; }', languageId: 'typescript' });
    assert.equal(e?.code, 'export function add(a: number, b: number): number {\n  return a + b;\n}');
  });

  it('handles tilde fences, longer fences holding backticks, and a language tag with extras', () => {
    assert.equal(fencedBlocks('~~~js\nx();\n~~~')[0].code, 'x();');
    const nested = fencedBlocks('````md\n```js\ny();\n```\n````');
    assert.equal(nested.length, 1);
    assert.equal(nested[0].code, '```js\ny();\n```');
    assert.equal(fencedBlocks('```typescript title="a.ts"\nz();\n```')[0].language, 'typescript');
  });

  it('gives back the indentation the model dropped, and the final newline of the original', () => {
    const e = extractEdit('```js\nfunction add(a, b) {\n  return a + b;\n}\n```', { original });
    assert.equal(e?.code, original);
    assert.equal(reindent('x = 1\ny = 2', '\t\tx = 0'), '\t\tx = 1\n\t\ty = 2');
    assert.equal(reindent('    deeper()', '  shallow()'), '    deeper()', 'never removes indentation');
  });

  it('finds nothing in an answer that is only prose, or an empty block', () => {
    assert.equal(extractEdit('I cannot simplify this code any further. It is already minimal.', { original }), undefined);
    assert.equal(extractEdit('```js\n\n```', { original }), undefined);
    assert.equal(extractEdit('', { original }), undefined);
  });
});

describe('refactor prompts', () => {
  const context = { path: 'src/a.ts', languageId: 'typescript', code: 'let x = f( ;', before: 'import { f } from "./f";\n', after: '' };

  it('asks for one code block that replaces exactly the code, with the problems for Fix', () => {
    const [system, user] = refactorMessages(refactorAction('fix')!, { ...context, problems: ['line 1: \')\' expected.'] });
    assert.match(system.content, /one fenced code block/);
    assert.match(user.content, /File: src\/a\.ts \(typescript\)/);
    assert.match(user.content, /Problems:\n- line 1: '\)' expected\./);
    assert.match(user.content, /The code to change:\n```typescript\nlet x = f\( ;\n```/);
    assert.match(user.content, /Code before it \(for reference, do not repeat it\)/);
    assert.doesNotMatch(user.content, /Code after it/, 'no empty context block');
  });

  it('carries the user\'s instruction for Edit with Instructions, and asks Generate Tests for a whole file', () => {
    assert.match(refactorMessages(refactorAction('custom')!, { ...context, instruction: ' use const ' })[1].content, /\nuse const\n/);
    const tests = refactorAction('generateTests')!;
    assert.equal(tests.output, 'newFile');
    assert.match(refactorMessages(tests, context)[1].content, /whole test file/);
  });
});
