// The chat panel in a real VS Code (code-server 4.100.3 = VS Code 1.100.3) with the packaged .vsix, driven by
// Playwright in Debian's Chromium, on the generated tiny model (random weights: the text is gibberish, which is
// fine — the test is about streaming, stopping, surviving reloads and crashes, and rendering safely).
// Screenshots of each step go to test-results/e2e/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../fixtures/models';
import { Workbench } from './workbench';

const EXTENSION_ID = 'phi-local.phi-local';

/** A stored conversation whose "model output" is hostile HTML and a code block (seeded into global storage). */
const seeded = {
  id: 'seeded-hostile',
  title: 'Hostile output',
  createdAt: Date.now() - 60_000,
  updatedAt: Date.now() - 60_000,
  messages: [
    { id: 'u1', role: 'user', content: 'Show me some HTML.', context: [], createdAt: Date.now() - 60_000 },
    {
      id: 'a1', role: 'assistant', state: 'done', createdAt: Date.now() - 59_000,
      content: [
        'Here you go: <script>window.__pwned = "script"</script>',
        '<img src="x" onerror="window.__pwned = \'img\'">',
        '[click me](javascript:window.__pwned=\'link\')',
        '<div onclick="window.__pwned=\'div\'" id="raw-html">raw html</div>',
        '<iframe src="javascript:window.top.__pwned=\'iframe\'"></iframe>',
        '',
        '```python',
        'def inserted_by_phi():',
        '    return 42',
        '```',
      ].join('\n'),
    },
  ],
};

function sidecarPids(root: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(root) && l.includes('sidecar.js')).map((l) => Number(l.trim().split(/\s+/)[0]));
}

describe('chat panel in code-server (tiny model)', () => {
  let wb: Workbench;
  /** The answer Stop stopped, as the panel showed it then: the reload test finds the same again. */
  let stoppedAnswer: { id: string; text: string; stats: string } | undefined;

  before(async () => {
    const model = ensureModel('tiny');
    wb = new Workbench('chat', {
      env: { PHI_LOCAL_MODEL: model },
      settings: { 'phiLocal.executionProvider': 'cpu', 'phiLocal.threads': 2, 'phiLocal.maxNewTokens': 6000, 'phiLocal.temperature': 0 },
      files: { 'src/app.py': 'print("hello")\n' },
    });
    const storage = path.join(wb.root, 'user-data', 'User', 'globalStorage', EXTENSION_ID, 'conversations');
    fs.mkdirSync(storage, { recursive: true });
    fs.writeFileSync(path.join(storage, `${seeded.id}.json`), JSON.stringify(seeded));
    await wb.start();
  });
  after(async () => {
    await wb?.stop();
  });

  it('opens the chat from the command palette', async () => {
    await wb.command('Phi: Open Chat');
    await wb.chat().locator('textarea#prompt').waitFor({ timeout: 30_000 });
    assert.match(await wb.status().innerText(), /Phi:/);
    await wb.screenshot('chat-open');
  });

  it('streams an answer, and Stop stops the model mid-stream', async () => {
    const chat = wb.chat();
    await chat.locator('textarea#prompt').fill('Tell me a long story.');
    await chat.locator('textarea#prompt').press('Enter');
    await chat.locator('.message.user', { hasText: 'Tell me a long story.' }).waitFor();
    const answer = chat.locator('.message.assistant').last();
    await answer.and(chat.locator('[data-state="streaming"]')).waitFor({ timeout: 90_000 });
    // Text arrives in pieces while the turn is still streaming (first the model loads and the prompt prefills:
    // the answer shows a "Thinking…" placeholder until the first token).
    const text = () => answer.locator('.content').evaluate((e) => (e.querySelector('.thinking') ? '' : e.textContent ?? ''));
    const lengths = new Set<number>();
    const deadline = Date.now() + 90_000;
    while (lengths.size < 3 && Date.now() < deadline) {
      const n = (await text()).length;
      if (n > 0) lengths.add(n);
      await wb.page.waitForTimeout(100);
    }
    assert.ok(lengths.size >= 3, `the answer grew while streaming: ${[...lengths].join(', ')}`);
    assert.equal(await answer.getAttribute('data-state'), 'streaming');
    await wb.screenshot('streaming');
    await chat.locator('button#stop').click();
    await answer.and(chat.locator('[data-state="cancelled"]')).waitFor({ timeout: 10_000 });
    const stopped = (await text()).length;
    assert.ok(stopped > 0);
    await wb.page.waitForTimeout(1000);
    assert.equal((await text()).length, stopped, 'no text after Stop');
    assert.match(await wb.status().innerText(), /Phi: (cpu|ready)/i);
    stoppedAnswer = {
      id: await answer.getAttribute('data-id') ?? '', text: await text(), stats: await answer.locator('.stats').innerText(),
    };
    await wb.screenshot('stopped');
  });

  it('keeps the conversation across a window reload', async () => {
    assert.ok(stoppedAnswer?.id, 'the stopped answer of the test before, to compare with');
    await wb.reload();
    await wb.command('Phi: Open Chat');
    const chat = wb.chat();
    await chat.locator('.message.user', { hasText: 'Tell me a long story.' }).waitFor({ timeout: 30_000 });
    // The answer comes back as it was when stopped: the same message, still marked stopped, with the same text
    // (what had streamed until Stop) and the same footer (its token count and speed, from the stored stats).
    const answer = chat.locator(`.message.assistant[data-id="${stoppedAnswer.id}"]`);
    await answer.waitFor({ timeout: 10_000 });
    assert.equal(await answer.getAttribute('data-state'), 'cancelled', 'the answer is still the stopped one');
    assert.equal(await answer.locator('.content').evaluate((e) => e.textContent ?? ''), stoppedAnswer.text, 'the same text');
    assert.equal(await answer.locator('.stats').innerText(), stoppedAnswer.stats, 'the same footer');
    // And in its place: right after the question it answers.
    const order = await chat.locator('#messages > .message').evaluateAll((ms) => ms.map((m) => m.getAttribute('data-id')));
    const question = await chat.locator('.message.user', { hasText: 'Tell me a long story.' }).getAttribute('data-id');
    assert.equal(order[order.indexOf(question) + 1], stoppedAnswer.id, 'the answer follows its question');
    await wb.screenshot('after-reload');
  });

  it('says so when the sidecar dies, and recovers', async () => {
    const before = sidecarPids(wb.root);
    assert.ok(before.length > 0, 'the sidecar process is running');
    for (const pid of before) process.kill(pid, 'SIGKILL');
    await wb.page.locator('.notifications-toasts .notification-toast', { hasText: /sidecar/i }).first().waitFor({ timeout: 30_000 });
    // The chat says so too: first that it is restarting, then, once the model is back, that it recovered.
    await wb.chat().locator('#banner', { hasText: /sidecar/i }).waitFor({ timeout: 30_000 });
    await wb.screenshot('sidecar-died');
    // It is restarted, the model reloaded, and the next turn answers.
    await wb.page.locator('.part.statusbar .statusbar-item', { hasText: /Phi: cpu/ }).first().waitFor({ timeout: 90_000 });
    const chat = wb.chat();
    await chat.locator('#banner', { hasText: /restarted; the model is loaded again/ }).waitFor({ timeout: 30_000 });
    await chat.locator('textarea#prompt').fill('Are you back?');
    await chat.locator('textarea#prompt').press('Enter');
    const answer = chat.locator('.message.assistant').last();
    await answer.locator('.content').filter({ hasNotText: 'Thinking…' }).filter({ hasText: /\S/ }).waitFor({ timeout: 90_000 });
    await chat.locator('button#stop').click({ timeout: 5000 }).catch(() => { /* already done */ });
    const after = sidecarPids(wb.root);
    assert.ok(after.length > 0 && after.every((p) => !before.includes(p)), 'a new sidecar process runs');
    await wb.screenshot('recovered');
  });

  it('renders hostile model output inert, and inserts a code block into the editor', async () => {
    // The seeded conversation was the most recent one, so the chat opened on it and the turns above joined it.
    const chat = wb.chat();
    const answer = chat.locator('.message.assistant', { hasText: 'Here you go' });
    await answer.waitFor({ timeout: 30_000 });
    assert.equal(await answer.locator('script').count(), 0, 'no <script> element');
    assert.equal(await answer.locator('iframe').count(), 0, 'no <iframe> element');
    assert.equal(await answer.locator('[onerror], [onclick]').count(), 0, 'no event handler attributes');
    const hrefs = await answer.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
    assert.ok(hrefs.every((h) => !/^\s*javascript:/i.test(h)), `links: ${hrefs.join(' ')}`);
    const pwned = await answer.evaluate(() => (window as unknown as { __pwned?: string }).__pwned ?? (window.top as unknown as { __pwned?: string }).__pwned);
    assert.equal(pwned, undefined, 'nothing ran');
    await wb.screenshot('hostile-output-inert');

    // Open a file, then Insert the code block at its cursor.
    await wb.page.keyboard.press('Control+P');
    await wb.page.locator('.quick-input-widget input.input').fill('app.py');
    await wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'app.py' }).first().waitFor();
    await wb.page.keyboard.press('Enter');
    await wb.page.locator('.monaco-editor .view-lines', { hasText: 'print("hello")' }).waitFor();
    await answer.locator('.code-block button.insert').first().click();
    await wb.page.locator('.monaco-editor .view-lines', { hasText: 'def inserted_by_phi' }).waitFor({ timeout: 10_000 });
    await wb.screenshot('code-inserted');
  });
});
