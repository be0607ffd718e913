// Slash commands in the chat panel, in a real VS Code (code-server, the packaged .vsix, the generated tiny model):
// typing `/` in the input box opens the completion list (the built-in commands and a prompt file from
// .github/prompts/), Escape closes it; /explain without an editor leaves a note; with a selection in an editor, the
// keyboard picks /explain and the message goes out with the selected code (read back from the saved conversation,
// which is what the model is sent); /new empties the panel; a prompt file written later joins the list (watcher); a
// click picks the prompt file, whose body goes out with its variables filled in; /clear deletes the conversation.
// TEST DOUBLE: the model's answer is replayed (PHI_LOCAL_REPLAY, sidecar/engine/replay.ts): random weights write
// gibberish. Everything else is real. Screenshots go to test-results/e2e/ (slash-NN-*.png).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../fixtures/models';
import { Workbench } from './workbench';

const ANSWER = 'The function doubles its argument.';
const REVIEW = 'No bugs found in double.';
const MATH = [
  'function addOne(x) {',
  '  return x + 1;',
  '}',
  'function double(x) {',
  '  return x * 2;',
  '}',
  'function negate(x) {',
  '  return -x;',
  '}',
  '',
].join('\n');
/** Lines 4-6 of MATH: what the test selects. */
const SELECTED = 'function double(x) {\n  return x * 2;\n}\n';

interface SavedUser { role: 'user'; content: string; context: { kind: string; path: string; text: string; startLine?: number; endLine?: number }[] }

describe('slash commands in code-server (tiny model, replayed answer)', () => {
  let wb: Workbench;
  let replies: string;

  before(async () => {
    replies = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'phi-replies-')), 'replies.json');
    fs.writeFileSync(replies, JSON.stringify([ANSWER, REVIEW]));
    wb = new Workbench('slash', {
      env: { PHI_LOCAL_MODEL: ensureModel('tiny'), PHI_LOCAL_REPLAY: replies },
      settings: { 'phiLocal.executionProvider': 'cpu', 'phiLocal.threads': 2, 'phiLocal.completions.enable': false },
      files: {
        'src/math.js': MATH,
        '.github/prompts/review-code.prompt.md': '---\ndescription: Review the code for bugs\nmode: ask\n---\nReview ${file}:\n${selection}\n',
      },
    });
    await wb.start();
  });
  after(async () => {
    await wb?.stop();
    if (replies) fs.rmSync(path.dirname(replies), { recursive: true, force: true });
  });

  /** The user messages of the saved conversations (the extension's global storage, one .jsonl journal each). */
  function savedUserMessages(): SavedUser[] {
    const files = (fs.readdirSync(wb.root, { recursive: true }) as string[]).filter((f) => /[\\/]conversations[\\/][^\\/]+\.jsonl$/.test(f));
    const out: SavedUser[] = [];
    for (const f of files) {
      for (const line of fs.readFileSync(path.join(wb.root, f), 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const c = JSON.parse(line) as { messages?: (SavedUser | { role: 'assistant' })[] };
        for (const m of c.messages ?? []) if (m.role === 'user') out.push(m);
      }
    }
    return out;
  }

  const prompt = () => wb.chat().locator('textarea#prompt');
  const menu = () => wb.chat().locator('#slash-menu');

  it('typing / lists the commands and the workspace\'s prompt file; Escape closes the list', async () => {
    await wb.command('Phi: Open Chat');
    await prompt().waitFor({ timeout: 30_000 });
    await prompt().click();
    await prompt().pressSequentially('/');
    await menu().waitFor({ state: 'visible', timeout: 15_000 });
    const labels = await menu().locator('[role="option"]').evaluateAll((os) => os.map((o) => (o as HTMLElement).dataset.label));
    for (const name of ['/explain', '/fix', '/tests', '/doc', '/new', '/clear', '/review-code']) assert.ok(labels.includes(name), `${name} in ${labels.join(' ')}`);
    const review = menu().locator('[role="option"][data-label="/review-code"]');
    assert.match(await review.innerText(), /Review the code for bugs/);
    assert.match(await review.innerText(), /prompt file/);
    assert.equal(await prompt().getAttribute('aria-expanded'), 'true');
    await wb.screenshot('menu');
    // Typing narrows it.
    await prompt().pressSequentially('te');
    assert.deepEqual(await menu().locator('[role="option"]').evaluateAll((os) => os.map((o) => (o as HTMLElement).dataset.label)), ['/tests']);
    await prompt().press('Escape');
    await menu().waitFor({ state: 'hidden' });
    assert.equal(await prompt().getAttribute('aria-expanded'), 'false');
    assert.equal(await prompt().inputValue(), '/te', 'Escape only closes the list');
    await prompt().fill('');
  });

  it('/explain with no editor open says what it needs instead of sending', async () => {
    await prompt().pressSequentially('/explain');
    // The whole command typed: Enter sends it (the list does not take the key).
    await prompt().press('Enter');
    const notice = wb.chat().locator('.composer-notice');
    await notice.filter({ hasText: '/explain works on code: open a file' }).waitFor({ timeout: 15_000 });
    assert.equal(await wb.chat().locator('.message.user').count(), 0, 'nothing was sent');
    await wb.screenshot('no-editor');
  });

  it('the keyboard picks /explain, and the message goes out with the selected code', async () => {
    // Focus out of the webview (it takes Ctrl+P), then open the file and select lines 4-6.
    await wb.page.locator('.part.editor').click();
    await wb.page.keyboard.press('Control+P');
    await wb.page.locator('.quick-input-widget input.input').fill('math.js');
    await wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'math.js' }).first().waitFor();
    await wb.page.keyboard.press('Enter');
    await wb.page.locator('.monaco-editor .view-lines', { hasText: 'function double' }).waitFor();
    await wb.page.locator('.monaco-editor .view-lines').first().click();
    await wb.page.keyboard.press('Control+Home');
    for (let i = 0; i < 3; i++) await wb.page.keyboard.press('ArrowDown');
    for (let i = 0; i < 3; i++) await wb.page.keyboard.press('Shift+ArrowDown');
    await wb.command('Phi: Open Chat');
    await prompt().click();
    // The selection's chip is there: the extension sees the selection.
    await wb.chat().locator('#chips .chip', { hasText: 'math.js:4-6' }).waitFor({ timeout: 15_000 });

    await prompt().pressSequentially('/');
    await menu().waitFor({ state: 'visible' });
    const activeLabel = async () => {
      const id = await prompt().getAttribute('aria-activedescendant');
      return id ? menu().locator(`#${id}`).getAttribute('data-label') : undefined;
    };
    assert.equal(await activeLabel(), '/explain');
    await prompt().press('ArrowDown');
    assert.equal(await activeLabel(), '/fix');
    await prompt().press('ArrowUp');
    assert.equal(await activeLabel(), '/explain');
    await prompt().press('Tab');
    await menu().waitFor({ state: 'hidden' });
    assert.equal(await prompt().inputValue(), '/explain ');
    await prompt().pressSequentially('in one line');
    await prompt().press('Enter');

    const user = wb.chat().locator('.message.user').last();
    await user.filter({ hasText: '/explain in one line' }).waitFor({ timeout: 15_000 });
    assert.match(await user.locator('.sent-chip').first().innerText(), /math\.js:4-6/);
    const answer = wb.chat().locator('.message.assistant').last();
    try {
      await answer.and(wb.chat().locator('[data-state="done"]')).waitFor({ timeout: 120_000 });
    } catch (e) {
      await wb.screenshot('explain-missing');
      throw new Error(`${(e as Error).message}\ncode-server's log:\n${wb.serverLog().slice(-4000)}`);
    }
    assert.equal((await answer.locator('.content').innerText()).trim(), ANSWER);
    await wb.screenshot('explain');

    // What was sent, as saved (the model gets this message: the code as context ahead of the text).
    let sent: SavedUser | undefined;
    const deadline = Date.now() + 15_000;
    while (!(sent = savedUserMessages().find((m) => m.content.startsWith('/explain'))) && Date.now() < deadline) await wb.page.waitForTimeout(250);
    assert.ok(sent, 'the /explain message was saved');
    assert.match(sent.content, /^\/explain in one line\n\nExplain the code above/);
    assert.match(sent.content, /Also: in one line$/);
    assert.equal(sent.context.length, 1);
    const c = sent.context[0];
    assert.deepEqual({ kind: c.kind, path: c.path, startLine: c.startLine, endLine: c.endLine, text: c.text },
      { kind: 'selection', path: 'src/math.js', startLine: 4, endLine: 6, text: SELECTED });
  });

  it('/new empties the panel (the conversation stays in History)', async () => {
    assert.ok(await wb.chat().locator('.message').count() > 0);
    await prompt().pressSequentially('/new');
    await prompt().press('Enter');
    await wb.chat().locator('.message').first().waitFor({ state: 'detached', timeout: 15_000 });
    assert.equal(await wb.chat().locator('.message').count(), 0);
    assert.equal(await prompt().inputValue(), '');
    assert.ok(savedUserMessages().some((m) => m.content.startsWith('/explain')), 'the conversation was kept');
    await wb.screenshot('new');
  });

  it('a prompt file written later joins the list', async () => {
    fs.writeFileSync(path.join(wb.workspace, '.github', 'prompts', 'added-later.prompt.md'), '---\ndescription: Added while running\n---\nSay hi.\n');
    const added = menu().locator('[role="option"][data-label="/added-later"]');
    const deadline = Date.now() + 20_000;
    // The list is sent when the watcher fires; type again until it has the file.
    for (;;) {
      await prompt().fill('');
      await prompt().pressSequentially('/add');
      if (await added.isVisible()) break;
      if (Date.now() > deadline) assert.fail('the new prompt file never showed in the list');
      await wb.page.waitForTimeout(500);
    }
    assert.match(await added.innerText(), /Added while running/);
    await wb.screenshot('watched');
    await prompt().press('Escape');
    await prompt().fill('');
  });

  it('a click picks the prompt file; its body goes out with ${file} and ${selection} filled in', async () => {
    await prompt().pressSequentially('/');
    await menu().locator('[role="option"][data-label="/review-code"]').click();
    await menu().waitFor({ state: 'hidden' });
    assert.equal(await prompt().inputValue(), '/review-code ');
    await prompt().press('Enter');
    const user = wb.chat().locator('.message.user').last();
    await user.filter({ hasText: '/review-code' }).waitFor({ timeout: 15_000 });
    const content = await user.locator('.content').innerText();
    assert.match(content, /Review src\/math\.js:\nfunction double\(x\) \{\n {2}return x \* 2;\n\}/);
    assert.doesNotMatch(content, /\$\{(file|selection)\}/);
    // The selection is in the body: no chip goes along with it.
    assert.equal(await user.locator('.sent-chip').count(), 0);
    const answer = wb.chat().locator('.message.assistant').last();
    await answer.and(wb.chat().locator('[data-state="done"]')).waitFor({ timeout: 60_000 });
    assert.equal((await answer.locator('.content').innerText()).trim(), REVIEW);
    await wb.screenshot('prompt-file');
  });

  it('/clear deletes the open conversation (Undo offered)', async () => {
    const deadline = Date.now() + 15_000;
    while (!savedUserMessages().some((m) => m.content.startsWith('/review-code')) && Date.now() < deadline) await wb.page.waitForTimeout(250);
    assert.ok(savedUserMessages().some((m) => m.content.startsWith('/review-code')), 'saved before /clear');
    await prompt().pressSequentially('/clear');
    await prompt().press('Enter');
    await wb.chat().locator('.message').first().waitFor({ state: 'detached', timeout: 15_000 });
    await wb.page.locator('.notifications-toasts .notification-toast', { hasText: 'Deleted the conversation' }).waitFor({ timeout: 15_000 });
    await wb.screenshot('clear');
    const gone = Date.now() + 15_000;
    while (savedUserMessages().some((m) => m.content.startsWith('/review-code')) && Date.now() < gone) await wb.page.waitForTimeout(250);
    assert.ok(!savedUserMessages().some((m) => m.content.startsWith('/review-code')), 'the cleared conversation is deleted');
    assert.ok(savedUserMessages().some((m) => m.content.startsWith('/explain')), 'the other conversation stays');
  });
});
