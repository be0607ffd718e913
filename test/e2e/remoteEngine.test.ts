// The remote engine in a real VS Code (code-server 4.100.3, the packaged .vsix), against a real OpenAI-compatible
// server: `phi-local serve` on the generated tiny model, started by this test (no other project's server can run
// here offline). phiLocal.engine is "remote": the first question asks whether code may go to that server, nothing is
// sent before the user agrees, then the chat answers from the server and the status bar says where the model runs.
// Screenshots go to test-results/e2e/.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { serveOpenAi, type RunningServer } from '../../sidecar/serve/openaiServer';
import { EXACT_MODEL, ensureModel } from '../fixtures/models';
import { RecordingEngine } from '../sidecar/recordingEngine';
import { Workbench } from './workbench';

describe('remote engine in code-server (phi-local serve on the tiny model)', () => {
  let engine: RecordingEngine;
  let server: RunningServer;
  let wb: Workbench;

  before(async () => {
    engine = new RecordingEngine();
    await engine.load({ dir: ensureModel('tiny', EXACT_MODEL), executionProvider: 'cpu', threads: 2 });
    server = await serveOpenAi(engine, { port: 0, modelId: 'phi-tiny' });
    wb = new Workbench('remote', {
      // No PHI_LOCAL_MODEL: the remote engine needs no model folder.
      settings: { 'phiLocal.engine': 'remote', 'phiLocal.remote.url': server.url, 'phiLocal.maxNewTokens': 12, 'phiLocal.tools.enabled': false },
    });
    await wb.start();
  });
  after(async () => {
    await wb?.stop();
    await server?.close();
    await engine?.dispose();
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
    assert.ok(((await answer.locator('.content').textContent()) ?? '').length > 0);
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
    for (const step of ['reachable', 'key', 'model']) assert.match(text, new RegExp(`\\| ${step} \\| ok \\|`), text);
    assert.match(text, /a 1-token answer in \d+ ms/);
    await wb.screenshot('doctor-endpoint-check');
  });
});
