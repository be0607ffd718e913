// The remote engine in a real VS Code (code-server 4.100.3, the packaged .vsix), against a real OpenAI-compatible
// server: `phi-local serve` on the generated tiny model, started by this test (no other project's server can run
// here offline). phiLocal.engine is "remote": the first question asks whether code may go to that server, nothing is
// sent before the user agrees, then the chat answers from the server and the status bar says where the model runs;
// Explain and ghost text work over it too. Phi-4's tokenizer files are on this machine (phiLocal.modelPath names the
// tiny model's folder), so the engine renders Phi-4's prompts itself and uses /v1/completions.
// TEST DOUBLE: the served engine replays one canned answer for every generation (PHI_LOCAL_REPLAY's file format,
// sidecar/engine/replay.ts): the tiny model's random weights never write a completion to recognise, and one answer
// for all keeps the test independent of the order the editor asks in. Everything else is real.
// Screenshots go to test-results/e2e/.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serveOpenAi, type RunningServer } from '../../sidecar/serve/openaiServer';
import { EXACT_MODEL, ensureModel } from '../fixtures/models';
import { RecordingEngine } from '../sidecar/recordingEngine';
import { Workbench } from './workbench';

const ANSWER = 'sum([1, 2, 3]);';
const CALC = 'function sum(xs) {\n  return xs.reduce((a, b) => a + b, 0);\n}\n\n';

describe('remote engine in code-server (phi-local serve on the tiny model)', () => {
  let engine: RecordingEngine;
  let server: RunningServer;
  let wb: Workbench;
  let replies: string;

  before(async () => {
    replies = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'phi-replies-')), 'replies.json');
    fs.writeFileSync(replies, JSON.stringify(Array.from({ length: 200 }, () => ANSWER)));
    engine = new RecordingEngine({ replayFile: replies });
    await engine.load({ dir: ensureModel('tiny', EXACT_MODEL), executionProvider: 'cpu', threads: 2 });
    server = await serveOpenAi(engine, { port: 0, modelId: 'phi-tiny' });
    wb = new Workbench('remote', {
      // No PHI_LOCAL_MODEL: the remote engine needs no model, only (for Phi-4's own prompts) its tokenizer files.
      settings: {
        'phiLocal.engine': 'remote', 'phiLocal.remote.url': server.url, 'phiLocal.modelPath': ensureModel('tiny', EXACT_MODEL),
        'phiLocal.maxNewTokens': 12, 'phiLocal.tools.enabled': false,
        'phiLocal.completions.enable': { '*': false, javascript: true }, 'phiLocal.completions.debounceMs': 200,
      },
      files: { 'src/calc.js': CALC },
    });
    await wb.start();
  });
  after(async () => {
    await wb?.stop();
    await server?.close();
    await engine?.dispose();
    if (replies) fs.rmSync(path.dirname(replies), { recursive: true, force: true });
  });

  it('asks before sending code to the server, then answers from it; the status bar says remote', async () => {
    await wb.command('Phi: Open Chat');
    const chat = wb.chat();
    await chat.locator('textarea#prompt').waitFor({ timeout: 30_000 });
    await chat.locator('textarea#prompt').fill('Hello, server.');
    await chat.locator('textarea#prompt').press('Enter');
    const host = new URL(server.url).host;
    const dialog = wb.page.locator('.monaco-dialog-box', { hasText: `send your code to http://${host}` });
    await dialog.waitFor({ timeout: 60_000 });
    assert.equal(engine.results.length, 0, 'nothing was generated before the user agreed');
    await wb.screenshot('remote-consent');
    await dialog.getByRole('button', { name: 'Send Code to This Server' }).click();
    const answer = chat.locator('.message.assistant').last();
    await answer.and(chat.locator('[data-state="done"]')).waitFor({ timeout: 90_000 });
    assert.ok(engine.results.length >= 1, 'the server generated the answer');
    assert.equal((await answer.locator('.content').textContent())?.trim(), ANSWER);
    assert.ok(engine.requests.every((r) => Array.isArray(r.prompt)), 'Phi-4 prompts rendered here, sent as token ids to /v1/completions');
    await wb.status().filter({ hasText: `Phi: remote (${host})` }).waitFor({ timeout: 10_000 });
    await wb.screenshot('remote-answered');
  });

  it('asks once per server: the next question goes without asking', async () => {
    const before = engine.results.length;
    const chat = wb.chat();
    await chat.locator('textarea#prompt').fill('And again.');
    await chat.locator('textarea#prompt').press('Enter');
    await chat.locator('.message.user', { hasText: 'And again.' }).waitFor();
    await chat.locator('.message.assistant').last().and(chat.locator('[data-state="done"]')).waitFor({ timeout: 90_000 });
    assert.equal(await wb.page.locator('.monaco-dialog-box').count(), 0);
    assert.ok(engine.results.length > before);
  });

  it('Phi: Doctor checks the server step by step', async () => {
    await wb.command('Phi: Doctor');
    const report = wb.page.locator('.monaco-editor .view-lines', { hasText: 'Phi Local: Doctor' }).first();
    await report.waitFor({ timeout: 60_000 });
    // Bring the section into view (the report is longer than the editor).
    await report.click();
    await wb.page.keyboard.press('Control+F');
    await wb.page.keyboard.type('## Remote engine');
    await wb.page.keyboard.press('Escape');
    await wb.page.locator('.monaco-editor .view-lines', { hasText: '| answer | ok |' }).first().waitFor({ timeout: 10_000 });
    const text = (await wb.page.locator('.monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
    for (const step of ['reachable', 'key', 'model', 'prompts']) assert.match(text, new RegExp(`\\| ${step} \\| ok \\|`), text);
    assert.match(text, /Phi-4's own template/);
    assert.match(text, /a 1-token answer in \d+ ms/);
    await wb.screenshot('doctor-endpoint-check');
  });

  it('Explain and ghost text work over the remote engine', async () => {
    const editorLines = () => wb.page.locator('.editor-group-container.active .monaco-editor .view-lines').first();
    await wb.page.keyboard.press('Control+P');
    await wb.page.locator('.quick-input-widget input.input').fill('calc.js');
    await wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'calc.js' }).first().waitFor();
    await wb.page.keyboard.press('Enter');
    await editorLines().filter({ hasText: 'function sum(xs)' }).waitFor();
    await editorLines().click();
    await wb.page.keyboard.press('Control+A');
    const before = engine.requests.length;
    await wb.command('Phi: Explain');
    const thread = wb.page.locator('.review-widget').first();
    await thread.getByText(ANSWER).waitFor({ timeout: 90_000 });
    assert.ok(engine.requests.length > before, 'the server generated the explanation');
    await wb.screenshot('remote-explain');
    await thread.locator('.action-label[aria-label="Dismiss"]').click();
    await editorLines().click();
    await wb.page.keyboard.press('Control+End');
    await wb.page.keyboard.type('const total = ', { delay: 60 });
    const ghost = wb.page.locator('.editor-group-container.active .monaco-editor .ghost-text-decoration');
    await ghost.first().waitFor({ timeout: 60_000 });
    await editorLines().filter({ hasText: `const total = ${ANSWER}` }).waitFor({ timeout: 5000 });
    await wb.page.keyboard.press('Tab');
    await ghost.first().waitFor({ state: 'detached', timeout: 10_000 });
    await editorLines().filter({ hasText: `const total = ${ANSWER}` }).waitFor({ timeout: 10_000 });
    await wb.screenshot('remote-completion');
  });

  it('Phi: Pick Remote Model lists the server\'s models and sets the one picked', async () => {
    await wb.command('Phi: Pick Remote Model');
    const picker = wb.page.locator('.quick-input-widget');
    await picker.locator('.monaco-list-row', { hasText: 'phi-tiny' }).first().waitFor({ timeout: 30_000 });
    await wb.screenshot('remote-model-picker');
    await wb.page.keyboard.press('Enter');
    await picker.waitFor({ state: 'hidden' });
    // The setting, said in the log and written: machine-scoped, so code-server (a remote of sorts) keeps it in the
    // machine's settings file rather than the user's.
    const settings = path.join(wb.root, 'user-data', 'Machine', 'settings.json');
    const log = () => (fs.readdirSync(wb.root, { recursive: true }) as string[]).filter((f) => f.endsWith('Phi Local.log'))
      .map((f) => fs.readFileSync(path.join(wb.root, f), 'utf8')).join('\n');
    for (let i = 0; i < 100 && !log().includes('Remote model: phi-tiny'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(log(), /Remote model: phi-tiny on http/, log().slice(-3000));
    assert.match(fs.readFileSync(settings, 'utf8'), /"phiLocal\.remote\.model":\s*"phi-tiny"/);
  });
});
