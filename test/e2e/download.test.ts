// From no model to chatting, in a real VS Code (code-server + Playwright, the packaged .vsix): the walkthrough's
// "Download Model" fetches the model from a local stand-in for the Hugging Face hub (test/fixtures/localHub.ts,
// serving the generated tiny model the way the hub does; `phiLocal.download.endpoint` points at it), the progress
// notification shows bytes, speed and time left, the downloaded model is loaded, and the chat answers. Then
// Manage Models lists it and Phi: Doctor writes its report. Screenshots in test-results/e2e/.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { COMPLETE_MARKER } from '../../extension/model/download/modelDownload';
import { MODEL_REPO, VARIANTS } from '../../extension/model/download/variants';
import { LocalHub } from '../fixtures/localHub';
import { ensureModel } from '../fixtures/models';
import { Workbench } from './workbench';

const EXTENSION_ID = 'phi-local.phi-local';

describe('model download in code-server (local hub, tiny model)', () => {
  let wb: Workbench;
  let hub: LocalHub;

  before(async () => {
    const model = ensureModel('tiny');
    hub = new LocalHub({
      repo: MODEL_REPO,
      folders: Object.fromEntries(VARIANTS.map((v) => [v.repoFolder, model])),
      exclude: (name) => name.includes('phi-local') || name === 'test-model.json',
      // Slow enough (about 10 s for the 128 MB) to watch the notification.
      chunkDelayMs: 20,
    });
    await hub.start();
    wb = new Workbench('download', {
      env: { PHI_LOCAL_MODEL: '' },
      settings: {
        'phiLocal.download.endpoint': hub.endpoint,
        'phiLocal.executionProvider': 'cpu', 'phiLocal.threads': 2, 'phiLocal.maxNewTokens': 40,
      },
    });
    await wb.start();
  });
  after(async () => {
    await wb?.stop();
    await hub?.stop();
  });

  it('says there is no model', async () => {
    await wb.status().filter({ hasText: 'no model' }).waitFor({ timeout: 30_000 });
  });

  it('downloads the model from the walkthrough, with a progress notification', async () => {
    await wb.command('Welcome: Open Walkthrough...');
    await wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Get started with Phi Local' }).first().click();
    const step = wb.page.locator('.getting-started-step', { hasText: 'Download the model' }).first();
    await step.waitFor({ timeout: 30_000 });
    await step.click();
    await wb.screenshot('walkthrough');
    await step.locator('.monaco-button, a', { hasText: 'Download Model' }).first().click();

    const toast = wb.page.locator('.notifications-toasts .notification-toast', { hasText: 'downloading Phi-4-mini-instruct' }).first();
    await toast.waitFor({ timeout: 60_000 });
    // The message: "<done> of <total> · <speed>/s · <time> left · <file> (i/n)".
    await toast.filter({ hasText: /\d+(\.\d)? MB of 1\d\d MB · [\d.]+ MB\/s · .* left · model\.onnx\.data/ }).waitFor({ timeout: 60_000 });
    await wb.screenshot('download-progress');
    assert.match(await toast.innerText(), /Cancel/i, 'the notification can be cancelled');

    // When it is done, the model is loaded from the extension's storage.
    await wb.page.locator('.part.statusbar .statusbar-item', { hasText: /Phi: cpu/ }).first().waitFor({ timeout: 120_000 });
    const dir = path.join(wb.root, 'user-data', 'User', 'globalStorage', EXTENSION_ID, 'models', VARIANTS[0].id);
    assert.ok(fs.existsSync(path.join(dir, COMPLETE_MARKER)), `${dir} is complete`);
    assert.equal(hub.servedBytes(), hub.files.filter((f) => f.repoPath.startsWith(VARIANTS[0].repoFolder)).reduce((n, f) => n + f.size, 0),
      'the CPU variant (no GPU provider loads here), each byte once');
    await wb.page.locator('.notifications-toasts .notification-toast', { hasText: 'downloaded and ready' }).first().waitFor({ timeout: 30_000 });
    await wb.screenshot('downloaded');
  });

  it('the chat answers with the downloaded model', async () => {
    // The walkthrough's markdown is a webview too: close it so the chat's is the only one.
    await wb.command('View: Close All Editors');
    await wb.command('Phi: Open Chat');
    const chat = wb.chat();
    await chat.locator('textarea#prompt').waitFor({ timeout: 30_000 });
    await chat.locator('textarea#prompt').fill('Hello!');
    await chat.locator('textarea#prompt').press('Enter');
    const answer = chat.locator('.message.assistant').last();
    await answer.locator('.content').filter({ hasNotText: 'Thinking…' }).filter({ hasText: /\S/ }).waitFor({ timeout: 90_000 });
    await answer.and(chat.locator('[data-state="done"]')).waitFor({ timeout: 90_000 });
    await wb.screenshot('chat-answers');
  });

  it('Manage Models lists it as the model in use', async () => {
    await wb.command('Phi: Manage Models');
    const row = wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'CPU (int4)' }).first();
    await row.waitFor({ timeout: 10_000 });
    assert.match(await row.innerText(), /in use/);
    await wb.screenshot('manage-models');
    await wb.page.keyboard.press('Escape');
  });

  it('Phi: Doctor opens its report with a Copy Report button', async () => {
    await wb.command('Phi: Doctor');
    await wb.page.locator('.monaco-editor .view-lines', { hasText: 'Phi Local: Doctor' }).first().waitFor({ timeout: 60_000 });
    await wb.page.locator('.notifications-toasts .notification-toast', { hasText: 'Doctor report' }).locator('.monaco-button', { hasText: 'Copy Report' })
      .first().waitFor({ timeout: 10_000 });
    const text = (await wb.page.locator('.monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
    for (const s of ['## Platform', '## Versions', '## Execution providers']) assert.ok(text.includes(s), `${s} in\n${text}`);
    await wb.screenshot('doctor-report');
  });
});
