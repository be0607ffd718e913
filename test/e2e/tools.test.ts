// Tool calls in the chat, in a real VS Code (code-server + Playwright, the packaged .vsix, the real sidecar and
// engine on the generated tiny model). TEST DOUBLE: the model's answers are replayed (PHI_LOCAL_REPLAY, see
// sidecar/engine/replay.ts) — random weights never write a given tool call — so each turn's calls are known; the
// tokens still go through the real generation loop, tool-call detection and the sidecar's tool loop.
// What it shows: a writing call opens the diff and a consent card in the chat; Deny leaves the file untouched and
// the model is told; Allow applies the edit, and one Ctrl+Z in the editor reverts it; "Allow for this chat" stops
// the asking; a path out of the workspace is refused. Screenshots in test-results/e2e/tools-*.png.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileConversationPersistence } from '../../extension/chat/conversationStore';
import { ensureModel } from '../fixtures/models';
import { Workbench } from './workbench';

const EXTENSION_ID = 'phi-local.phi-local';
const APP = 'def greet():\n    return "hello"\n';

const call = (name: string, args: Record<string, unknown>) => `<|tool_call|>[${JSON.stringify({ name, arguments: args })}]<|/tool_call|>`;
const greetingEdit = call('apply_edit', { path: 'src/app.py', old_text: 'return "hello"', new_text: 'return "hello, world"' });

/** One entry per generation, in order: a call, then the answer after its result. */
const replies = [
  greetingEdit, 'I left src/app.py as it was.',                                          // turn 1: Deny
  greetingEdit, 'The greeting now says hello, world.',                                   // turn 2: Allow once
  call('read_file', { path: '../secret.txt' }), 'That file is outside the workspace.',   // turn 3: refused path
  greetingEdit,                                                                          // turn 4: stopped at the card
  call('create_file', { path: 'notes.md', content: '# Notes\n' }), 'Created notes.md.', // turn 4: Allow for this chat
  call('apply_edit', { path: 'notes.md', old_text: '# Notes', new_text: '# Project notes' }), 'Renamed the heading.', // turn 5: no card
];

interface StoredTurnMessage { role: string; content: string }
interface StoredMessage { role: string; content: string; turn?: StoredTurnMessage[] }

describe('tool calls in the chat (code-server, tiny model, replayed answers)', () => {
  let wb: Workbench;
  let app: string;
  const scriptDir = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-replay-'));

  before(async () => {
    const model = ensureModel('tiny');
    const script = path.join(scriptDir, 'replies.json');
    fs.writeFileSync(script, JSON.stringify(replies));
    wb = new Workbench('tools', {
      env: { PHI_LOCAL_MODEL: model, PHI_LOCAL_REPLAY: script },
      settings: { 'phiLocal.executionProvider': 'cpu', 'phiLocal.threads': 2, 'phiLocal.temperature': 0, 'phiLocal.tools.enabled': true },
      files: { 'src/app.py': APP },
    });
    // Beside the workspace folder: what `../secret.txt` would reach.
    fs.writeFileSync(path.join(wb.root, 'secret.txt'), 'not for the model\n');
    app = path.join(wb.workspace, 'src', 'app.py');
    await wb.start();
    await wb.command('Phi: Open Chat');
    await wb.chat().locator('textarea#prompt').waitFor({ timeout: 30_000 });
  });
  after(async () => {
    await wb?.stop();
    fs.rmSync(scriptDir, { recursive: true, force: true });
  });

  const ask = (text: string) => wb.ask(text);

  const lastAnswer = () => wb.lastAnswer();
  const answerDone = () => wb.answerDone();
  const editorText = () => wb.page.locator('.editor-instance .monaco-editor .view-lines').first().innerText();

  /** The stored conversations' answers (the extension's global storage). */
  async function storedAnswers(): Promise<StoredMessage[]> {
    const dir = path.join(wb.root, 'user-data', 'User', 'globalStorage', EXTENSION_ID, 'conversations');
    // Read through the store's own reader (journals, merged as the extension reads them).
    return (await new FileConversationPersistence(dir).loadAll()).flatMap((c) => c.messages as StoredMessage[]).filter((m) => m.role === 'assistant');
  }

  it('shows the diff and a consent card; Deny leaves the file untouched and the model is told', async () => {
    await ask('Make the greeting say hello, world.');
    const step = lastAnswer().locator('.tool-step[data-tool="apply_edit"]');
    const card = step.locator('.consent-card');
    await card.waitFor({ timeout: 120_000 });
    assert.match(await card.locator('.consent-title').innerText(), /Edit src\/app\.py \(line 2\)/);
    for (const b of ['Allow once', 'Allow for this chat', 'Deny']) assert.equal(await card.getByRole('button', { name: b }).count(), 1, b);
    // The diff: the file against the proposed text, in the editor area.
    const diff = wb.page.locator('.monaco-diff-editor');
    await diff.locator('.editor.modified .view-lines', { hasText: 'hello, world' }).waitFor({ timeout: 15_000 });
    await wb.page.locator('.tabs-container .tab', { hasText: "Phi's proposed change" }).waitFor();
    assert.equal(await step.getAttribute('data-state'), 'awaiting-consent');
    await wb.screenshot('consent-card-and-diff');

    // Answered from the keyboard: the buttons are real buttons (focus, Enter).
    await card.locator('button.consent-deny').focus();
    await wb.page.keyboard.press('Enter');
    await step.and(wb.chat().locator('[data-state="denied"]')).waitFor({ timeout: 15_000 });
    await answerDone();
    assert.equal(await card.count(), 0, 'the card is gone');
    assert.equal(fs.readFileSync(app, 'utf8'), APP, 'the file on disk is untouched');
    await diff.waitFor({ state: 'detached', timeout: 10_000 });
    assert.match(await lastAnswer().innerText(), /I left src\/app\.py as it was/);
    // The step says what the model was told: expand it.
    await step.locator('summary').click();
    assert.match(await step.locator('.tool-result').innerText(), /denied this change to src\/app\.py; nothing was written/);
    // And the turn as stored for the next prompt carries the denial as the tool's result.
    const turn = (await storedAnswers()).find((m) => m.content.includes('I left src/app.py'))?.turn ?? [];
    assert.ok(turn.some((m) => m.role === 'tool' && /denied/.test(m.content)), `stored turn: ${JSON.stringify(turn)}`);
    await wb.screenshot('denied');
  });

  it('Allow once applies the edit in the editor, and one undo reverts it', async () => {
    await ask('Please do make the change.');
    const step = lastAnswer().locator('.tool-step[data-tool="apply_edit"]');
    await step.locator('.consent-card').waitFor({ timeout: 120_000 });
    await wb.page.locator('.monaco-diff-editor .editor.modified .view-lines', { hasText: 'hello, world' }).waitFor({ timeout: 15_000 });
    await wb.screenshot('consent-allow');
    await step.locator('button.consent-once').click();
    await step.and(wb.chat().locator('[data-state="done"]')).waitFor({ timeout: 15_000 });
    await answerDone();
    // Applied in the editor (not saved: the user decides), the diff closed.
    const lines = wb.page.locator('.editor-instance .monaco-editor .view-lines', { hasText: 'hello, world' }).first();
    await lines.waitFor({ timeout: 15_000 });
    assert.equal(await wb.page.locator('.monaco-diff-editor').count(), 0);
    assert.equal(fs.readFileSync(app, 'utf8'), APP, 'not saved: the user decides');
    await wb.screenshot('applied');

    // One Ctrl+Z in that editor brings back the original text.
    await lines.click();
    await wb.page.keyboard.press('Control+z');
    await wb.page.waitForFunction(() => !document.querySelector('.editor-instance .monaco-editor .view-lines')?.textContent?.includes('hello, world'), undefined, { timeout: 10_000 });
    const text = (await editorText()).replace(/\u00a0/g, ' ');
    assert.match(text, /return "hello"/);
    assert.doesNotMatch(text, /hello, world/);
    assert.equal(fs.readFileSync(app, 'utf8'), APP);
    await wb.screenshot('undone');
  });

  it('refuses a path outside the workspace (through the real tool runner)', async () => {
    await ask('What is in ../secret.txt?');
    const step = lastAnswer().locator('.tool-step[data-tool="read_file"]');
    await step.and(wb.chat().locator('[data-state="error"]')).waitFor({ timeout: 120_000 });
    await answerDone();
    await step.locator('summary').click();
    const result = await step.locator('.tool-result').innerText();
    assert.match(result, /leads outside the workspace folder/);
    assert.doesNotMatch(result, /not for the model/);
  });

  it('Stop while the card waits closes the card and the diff, and writes nothing', async () => {
    await ask('Try the greeting change again.');
    const step = lastAnswer().locator('.tool-step[data-tool="apply_edit"]');
    await step.locator('.consent-card').waitFor({ timeout: 120_000 });
    await wb.page.locator('.monaco-diff-editor').waitFor({ timeout: 15_000 });
    await wb.chat().locator('button#stop').click();
    await lastAnswer().and(wb.chat().locator('[data-state="cancelled"]')).waitFor({ timeout: 15_000 });
    await step.and(wb.chat().locator('[data-state="cancelled"]')).waitFor({ timeout: 15_000 });
    assert.equal(await step.locator('.consent-card').count(), 0, 'the card is gone');
    await wb.page.locator('.monaco-diff-editor').waitFor({ state: 'detached', timeout: 10_000 });
    assert.doesNotMatch((await editorText()).replace(/\u00a0/g, ' '), /hello, world/);
    assert.equal(fs.readFileSync(app, 'utf8'), APP);
  });

  it('"Allow for this chat" stops the asking for later changes in the conversation', async () => {
    await ask('Start a notes file.');
    const create = lastAnswer().locator('.tool-step[data-tool="create_file"]');
    await create.locator('.consent-card').waitFor({ timeout: 120_000 });
    await create.locator('button.consent-chat').click();
    await answerDone();
    assert.equal(await create.getAttribute('data-state'), 'done');
    assert.equal(fs.readFileSync(path.join(wb.workspace, 'notes.md'), 'utf8'), '# Notes\n');

    await ask('Rename its heading.');
    const edit = lastAnswer().locator('.tool-step[data-tool="apply_edit"]');
    await answerDone();
    assert.equal(await edit.getAttribute('data-state'), 'done');
    assert.equal(await lastAnswer().locator('.consent-card').count(), 0, 'no card this time');
    await wb.page.locator('.editor-instance .monaco-editor .view-lines', { hasText: '# Project notes' }).first().waitFor({ timeout: 15_000 });
    await wb.screenshot('allowed-for-chat');
  });
});
