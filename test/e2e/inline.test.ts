// Phi in the editor, in a real VS Code (code-server + the packaged .vsix, driven by Playwright in Chromium):
// Explain streams into a comment thread at the code (a follow-up in place, Continue in Chat), a refactor from the palette opens a diff preview whose Accept
// changes the file (one undo restores it; closing the diff instead discards it), and typing shows ghost text that Tab accepts.
// TEST DOUBLE: the model's answers are replayed (PHI_LOCAL_REPLAY, sidecar/engine/replay.ts): the tiny model's
// random weights never write a code block to apply or a completion to recognise. Everything else is real: the
// sidecar, the engine loop on the generated tiny model, the prompts, the edit extraction, VS Code's UI.
// Screenshots of each step go to test-results/e2e/.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../fixtures/models';
import { Workbench } from './workbench';

const SHAPES = 'def area(radius):\n    result = 3.14159 * radius * radius\n    return result\n';
const CALC = 'function sum(xs) {\n  return xs.reduce((a, b) => a + b, 0);\n}\n\n';
/** One canned answer per generation, in the order the test asks for them. */
const REPLIES = [
  // Explain
  '**area** computes the area of a circle from its radius: it multiplies pi by the radius squared.',
  // A follow-up question in the thread
  'It returns a float: the area.',
  // Simplify, whose diff the user closes (discarded)
  '```python\ndef area(radius):\n    return 3.14159 * radius ** 2\n```',
  // Simplify: prose around a fenced block, as small models answer (edit extraction takes the block)
  'Here is a simpler version:\n\n```python\ndef area(radius):\n    return 3.14159 * radius ** 2\n```\n\nIt returns the value directly.',
  // Completions (a few spare: VS Code may ask more than once)
  ...Array.from({ length: 8 }, () => 'sum([1, 2, 3]);'),
];

describe('inline explanation, refactors and completions in code-server (tiny model, replayed answers)', () => {
  let wb: Workbench;
  let replies: string;

  before(async () => {
    replies = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'phi-replies-')), 'replies.json');
    fs.writeFileSync(replies, JSON.stringify(REPLIES));
    wb = new Workbench('inline', {
      env: { PHI_LOCAL_MODEL: ensureModel('tiny'), PHI_LOCAL_REPLAY: replies },
      settings: {
        'phiLocal.executionProvider': 'cpu', 'phiLocal.threads': 2, 'phiLocal.maxNewTokens': 300,
        // Completions only where the test types them: nothing else may use up a replayed answer.
        'phiLocal.completions.enable': { '*': false, javascript: true },
        'phiLocal.completions.debounceMs': 200,
        'editor.codeLens': true,
      },
      files: { 'src/shapes.py': SHAPES, 'src/calc.js': CALC },
    });
    await wb.start();
  });
  after(async () => {
    await wb?.stop();
    if (replies) fs.rmSync(path.dirname(replies), { recursive: true, force: true });
  });

  async function openFile(name: string, text: string): Promise<void> {
    await wb.page.keyboard.press('Control+P');
    await wb.page.locator('.quick-input-widget input.input').fill(name);
    await wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first().waitFor();
    await wb.page.keyboard.press('Enter');
    await editorLines().filter({ hasText: text }).waitFor();
    await editorLines().click();
  }
  /** The "Phi Local" output channel, as the extension host wrote it to its log folder. */
  function phiLog(): string {
    const files = (fs.readdirSync(wb.root, { recursive: true }) as string[]).filter((f) => f.endsWith('Phi Local.log'));
    return files.map((f) => fs.readFileSync(path.join(wb.root, f), 'utf8').slice(-4000)).join('\n') || '(no log file found)';
  }
  const editorLines = () => wb.page.locator('.editor-group-container.active .monaco-editor .view-lines').first();

  it('Explain on a selection streams the explanation into a thread at the code', async () => {
    await openFile('shapes.py', 'def area(radius):');
    await wb.page.keyboard.press('Control+A');
    await wb.command('Phi: Explain');
    const thread = wb.page.locator('.review-widget').first();
    await thread.waitFor({ timeout: 90_000 });
    await thread.getByText('computes the area of a circle').waitFor({ timeout: 90_000 });
    // The thread sits in the editor, right below the explained lines.
    const threadBox = (await thread.boundingBox())!;
    const codeBox = (await editorLines().boundingBox())!;
    assert.ok(threadBox.y > codeBox.y && threadBox.x >= codeBox.x - 100, 'the thread is inside the editor, at the code');
    assert.match(await thread.innerText(), /Phi: Explain \(lines 1–3\)/);
    await wb.screenshot('explain-thread');
    // A follow-up question in place: the reply box, then the answer below it in the same thread.
    await thread.getByText('Ask a follow-up question…').click();
    await wb.page.keyboard.type('What does it return?');
    await thread.getByRole('button', { name: 'Ask' }).click();
    await thread.getByText('It returns a float').waitFor({ timeout: 60_000 });
    assert.match(await thread.innerText(), /What does it return\?/);
    await wb.screenshot('explain-follow-up');
    // Continue in Chat: the thread becomes a chat conversation, with its code as context.
    await thread.locator('.action-label[aria-label="Continue in Chat"]').click();
    const chat = wb.chat();
    await chat.locator('.message.assistant', { hasText: 'It returns a float' }).waitFor({ timeout: 30_000 });
    await chat.locator('.message.assistant', { hasText: 'computes the area of a circle' }).waitFor();
    await chat.locator('.message.user', { hasText: 'shapes.py' }).first().waitFor();
    await wb.screenshot('explain-continued-in-chat');
    // Dismiss from the thread's title bar.
    await thread.locator('.action-label[aria-label="Dismiss"]').click();
    await thread.waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('closing a refactor\'s diff tab discards it: the file is unchanged and the palette offers no Accept', async () => {
    await editorLines().click();
    await wb.page.keyboard.press('Control+A');
    await wb.command('Phi: Simplify');
    const diffTab = wb.page.locator('.tab', { hasText: 'Phi: Simplify' });
    await diffTab.waitFor({ timeout: 90_000 });
    const toast = wb.page.locator('.notifications-toasts .notification-toast', { hasText: 'apply the change' });
    await toast.waitFor({ timeout: 30_000 });
    await diffTab.locator('.tab-actions .action-label').click();
    await diffTab.waitFor({ state: 'detached', timeout: 10_000 });
    await toast.locator('.codicon-notifications-clear').click();
    await toast.waitFor({ state: 'detached', timeout: 10_000 });
    // The palette lists its commands (Simplify shows), but Accept Change only while a proposal is pending.
    const input = wb.page.locator('.quick-input-widget input.input');
    await wb.page.keyboard.press('F1');
    await input.fill('>Phi: Simplify');
    await wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Phi: Simplify' }).first().waitFor({ timeout: 30_000 });
    await input.fill('>Phi: Accept Change');
    await wb.page.waitForTimeout(1000);
    assert.equal(await wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Phi: Accept Change' }).count(), 0);
    await wb.screenshot('refactor-closed-no-accept');
    await wb.page.keyboard.press('Escape');
    await openFile('shapes.py', 'result = 3.14159');
    assert.doesNotMatch(await editorLines().innerText(), /radius \*\* 2/);
  });

  it('a refactor from the palette opens a diff preview; Accept changes the file; one undo restores it', async () => {
    await editorLines().click();
    await wb.page.keyboard.press('Control+A');
    await wb.command('Phi: Simplify');
    const diffTab = wb.page.locator('.tab', { hasText: 'Phi: Simplify' });
    await diffTab.waitFor({ timeout: 90_000 });
    await wb.page.locator('.monaco-diff-editor').first().waitFor();
    const toast = wb.page.locator('.notifications-toasts .notification-toast', { hasText: 'apply the change' });
    await toast.waitFor({ timeout: 30_000 });
    // The progress notification is closed when the answer is done, but VS Code removes its toast a moment later and
    // the toasts then move: a click while they move can land on the wrong one (seen on a loaded CI machine).
    await wb.page.locator('.notifications-toasts .notification-toast', { hasText: 'Cancel stops it' }).waitFor({ state: 'detached', timeout: 30_000 });
    await wb.screenshot('refactor-diff-preview');
    await toast.getByRole('button', { name: 'Accept' }).click();
    await diffTab.waitFor({ state: 'detached', timeout: 10_000 });
    await editorLines().filter({ hasText: 'radius ** 2' }).waitFor({ timeout: 10_000 });
    assert.doesNotMatch(await editorLines().innerText(), /result = 3\.14159/);
    await wb.screenshot('refactor-accepted');
    await editorLines().click();
    await wb.page.keyboard.press('Control+Z');
    await editorLines().filter({ hasText: 'result = 3.14159' }).waitFor({ timeout: 10_000 });
    assert.doesNotMatch(await editorLines().innerText(), /radius \*\* 2/);
    await wb.screenshot('refactor-undone');
  });

  it('typing shows ghost text from the sidecar, and Tab accepts it', async () => {
    await openFile('calc.js', 'function sum(xs)');
    await wb.page.keyboard.press('Control+End');
    await wb.page.keyboard.type('const total = ', { delay: 60 });
    // Ghost text is rendered in pieces (one span per token colour), inside the cursor's line.
    const ghost = wb.page.locator('.editor-group-container.active .monaco-editor .ghost-text-decoration');
    try {
      await ghost.first().waitFor({ timeout: 60_000 });
      await editorLines().filter({ hasText: 'const total = sum([1, 2, 3]);' }).waitFor({ timeout: 5000 });
    } catch (e) {
      await wb.screenshot('completion-missing');
      throw new Error(`${(e as Error).message}\nThe extension's log:\n${phiLog()}`);
    }
    await wb.screenshot('completion-ghost-text');
    await wb.page.keyboard.press('Tab');
    await ghost.first().waitFor({ state: 'detached', timeout: 10_000 });
    await editorLines().filter({ hasText: 'const total = sum([1, 2, 3]);' }).waitFor({ timeout: 10_000 });
    assert.match(await wb.page.locator('.statusbar-item', { hasText: 'Ln 5, Col 30' }).first().innerText(), /Col 30/, 'the cursor is after the accepted text');
    await wb.screenshot('completion-accepted');
  });
});
