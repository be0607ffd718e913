// The extension's pure pieces around the chat: context chips → the message the model reads, the check of what the
// webview sends, and which model folder is used.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { chipLabel, chipTitle, fenceFor, formatChip, formatUserMessage, truncate, type ContextChip } from '../../extension/chat/contextChips';
import { parseFromWebview } from '../../extension/chat/webviewProtocol';
import { isDemo, resolveModelLocation } from '../../extension/modelPath';

const selection: ContextChip = { id: 's', kind: 'selection', path: 'src/util/math.ts', languageId: 'typescript', text: 'export const add = (a: number, b: number) => a + b;', startLine: 10, endLine: 12 };
const file: ContextChip = { id: 'f', kind: 'file', path: 'README.md', languageId: 'markdown', text: '# Title\n\n```sh\nnpm ci\n```\n' };

describe('context chips', () => {
  it('labels name the file, and the lines of a selection', () => {
    assert.equal(chipLabel(selection), 'math.ts:10-12');
    assert.equal(chipLabel({ ...selection, endLine: 10 }), 'math.ts:10');
    assert.equal(chipLabel(file), 'README.md');
    assert.equal(chipLabel({ kind: 'file', path: 'C:\\work\\app.py' }), 'app.py');
    assert.equal(chipTitle(selection), 'Selection in src/util/math.ts (lines 10–12)');
    assert.match(chipTitle({ ...file, truncated: true }), /cut to 12,000 characters/);
  });

  it('a selection becomes a fenced block named after its file, ahead of the question', () => {
    assert.equal(formatUserMessage('What does this do?', [selection]),
      'Selected code from `src/util/math.ts` (lines 10-12):\n```typescript\nexport const add = (a: number, b: number) => a + b;\n```\n\nWhat does this do?');
  });

  it('a file whose text has fences gets a longer fence', () => {
    assert.equal(fenceFor('no ticks'), '```');
    assert.equal(fenceFor('```js\n```'), '````');
    assert.equal(fenceFor('a ````` b'), '``````');
    assert.equal(formatChip(file), 'The file `README.md`:\n````markdown\n# Title\n\n```sh\nnpm ci\n```\n````');
  });

  it('plain text gets no language tag; cut-short context says so', () => {
    assert.equal(formatChip({ ...file, languageId: 'plaintext', text: 'x', truncated: true }), 'The file `README.md` (cut short):\n```\nx\n```');
  });

  it('no chips: the message is what the user typed', () => {
    assert.equal(formatUserMessage('hi', []), 'hi');
    assert.equal(formatUserMessage('both', [selection, file]).split('\n\n').length >= 3, true);
  });

  it('truncate cuts at a line break and says so', () => {
    assert.deepEqual(truncate('short', 10), { text: 'short', truncated: false });
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n');
    const cut = truncate(lines, 100);
    assert.equal(cut.truncated, true);
    assert.ok(cut.text.length <= 100);
    assert.ok(cut.text.endsWith('\n'));
  });
});

describe('messages from the webview', () => {
  it('accepts the known shapes', () => {
    assert.deepEqual(parseFromWebview({ type: 'send', text: 'hello' }), { type: 'send', text: 'hello' });
    assert.deepEqual(parseFromWebview({ type: 'stop' }), { type: 'stop' });
    assert.deepEqual(parseFromWebview({ type: 'apply', code: 'x', language: 'ts', extra: 1 }), { type: 'apply', code: 'x', language: 'ts' });
    assert.deepEqual(parseFromWebview({ type: 'insert', code: 'x' }), { type: 'insert', code: 'x', language: undefined });
    assert.deepEqual(parseFromWebview({ type: 'action', action: 'showLogs' }), { type: 'action', action: 'showLogs' });
    assert.deepEqual(parseFromWebview({ type: 'focusChanged', focused: true }), { type: 'focusChanged', focused: true });
  });

  it('rejects anything else', () => {
    for (const bad of [null, 'send', 42, {}, { type: 'send' }, { type: 'send', text: 3 }, { type: 'apply', code: 'x', language: 5 },
      { type: 'action', action: 'runCommand' }, { type: 'eval', code: '1' }, { type: 'retry' }, { type: 'focusChanged', focused: 'yes' },
      { type: 'send', text: 'x'.repeat(1_000_001) }]) {
      assert.equal(parseFromWebview(bad), undefined, JSON.stringify(bad)?.slice(0, 80));
    }
  });
});

describe('the model folder', () => {
  const home = path.resolve('/home/user');
  it('the setting wins over PHI_LOCAL_MODEL', () => {
    assert.deepEqual(resolveModelLocation('/models/phi', { PHI_LOCAL_MODEL: '/env/phi' }, undefined, home), { dir: path.resolve('/models/phi'), source: 'setting' });
    assert.deepEqual(resolveModelLocation('  ', { PHI_LOCAL_MODEL: '/env/phi' }, undefined, home), { dir: path.resolve('/env/phi'), source: 'environment' });
    assert.equal(resolveModelLocation('', {}, undefined, home), undefined);
    assert.equal(resolveModelLocation(undefined, { PHI_LOCAL_MODEL: '' }, undefined, home), undefined);
  });

  it('~ is the home folder; relative paths start at the workspace', () => {
    assert.equal(resolveModelLocation('~/models/phi', {}, undefined, home)?.dir, path.join(home, 'models', 'phi'));
    assert.equal(resolveModelLocation('models/phi', {}, path.resolve('/ws'), home)?.dir, path.resolve('/ws/models/phi'));
    assert.equal(resolveModelLocation('models/phi', {}, undefined, home)?.dir, path.join(home, 'models', 'phi'));
  });

  it('the demo label follows PHI_LOCAL_DEMO', () => {
    assert.equal(isDemo({ PHI_LOCAL_DEMO: '1' }), true);
    assert.equal(isDemo({ PHI_LOCAL_DEMO: 'false' }), false);
    assert.equal(isDemo({}), false);
  });
});
