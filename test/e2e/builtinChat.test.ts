// Phi-4-mini in VS Code's own Chat view (code-server 4.139.1 = VS Code 1.139.1, which ships the Chat built in),
// with the packaged .vsix, driven by Playwright in Debian's Chromium, on the generated tiny model (random weights:
// the answer is gibberish; the test is about the model being picked, asked and streaming its answer).
// - `chat.allowAnonymousAccess`: VS Code's Chat otherwise wants a GitHub sign-in before it sends anything to any
//   model, and this machine is offline; with it, the built-in Chat runs signed out and uses our local model.
// - The provider's log ("Phi Local" output, written under the user-data folder) says what each request carried;
//   the test reads it to know the answer came from our model, and what Agent mode offered it.
// Screenshots: test-results/e2e/builtin-chat@1.139-*.png.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../fixtures/models';
import { Workbench } from './workbench';

const MODEL_NAME = 'Phi-4-mini (local)';

describe('Phi-4-mini in VS Code\'s built-in Chat, VS Code 1.139.1 (tiny model)', () => {
  let wb: Workbench;

  before(async () => {
    wb = new Workbench('builtin-chat', {
      vscode: 'newest',
      env: { PHI_LOCAL_MODEL: ensureModel('tiny') },
      settings: {
        'phiLocal.executionProvider': 'cpu', 'phiLocal.threads': 2, 'phiLocal.maxNewTokens': 80, 'phiLocal.temperature': 0,
        'chat.allowAnonymousAccess': true,
      },
    });
    await wb.start();
  });
  after(async () => {
    await wb?.stop();
  });

  const chatPart = () => wb.page.locator('.part.auxiliarybar');
  const input = () => chatPart().locator('.interactive-input-part .native-edit-context').first();
  /**
   * Types a message and sends it. On a loaded machine the Chat can drop a message sent while extensions are still
   * activating (a CI run saw no request reach the provider in 3 minutes): wait for that to end, and press Enter again
   * while the message has not shown up in the list.
   */
  async function send(text: string): Promise<void> {
    await wb.page.locator('.part.statusbar', { hasText: 'Activating Extensions' }).waitFor({ state: 'hidden', timeout: 60_000 })
      .catch(() => undefined);
    await input().focus();
    await wb.page.keyboard.insertText(text);
    const request = chatPart().locator('.interactive-item-container.interactive-request', { hasText: text }).last();
    for (let attempt = 0; attempt < 3; attempt++) {
      await wb.page.keyboard.press('Enter');
      if (await request.waitFor({ timeout: 15_000 }).then(() => true, () => false)) return;
      await input().focus();
    }
  }
  const pickerName = () => chatPart().locator('.interactive-input-part .model-picker-name').first();

  /** The extension's log (the "Phi Local" output channel's file). */
  function providerLog(): string {
    const logs = path.join(wb.root, 'user-data', 'logs');
    const files = fs.readdirSync(logs, { recursive: true }).map(String).filter((f) => f.endsWith(path.join('phi-local.phi-local', 'Phi Local.log')));
    return files.map((f) => fs.readFileSync(path.join(logs, f), 'utf8')).join('\n');
  }

  async function waitForLog(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = providerLog().match(pattern);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`the Phi Local log has no ${pattern} after ${timeoutMs / 1000} s:\n${providerLog().slice(-3000)}`);
      await wb.page.waitForTimeout(250);
    }
  }

  it(`lists "${MODEL_NAME}" among VS Code's language models, with its context and tool calling`, async () => {
    // VS Code activates a model provider when it first needs its models: the first chat request, or this editor.
    await wb.command('Chat: Manage Language Models');
    const editor = wb.page.locator('.modal-editor-part, .part.editor').filter({ hasText: 'Language Models' }).first();
    const row = editor.locator('.monaco-list-row', { hasText: MODEL_NAME }).first();
    await row.waitFor({ timeout: 60_000 });
    assert.match(await row.innerText(), /8K[\s\S]*Tools/, 'the tiny model\'s 8192-token context, and tool calling');
    await wb.screenshot('manage-models');
    await wb.page.keyboard.press('Escape');
    await editor.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => editor.locator('.codicon-close').first().click());
  });

  it(`offers "${MODEL_NAME}" in the Chat view's model picker, and it can be picked`, async () => {
    await wb.command('Chat: Open Chat (Ask)');
    await input().waitFor({ timeout: 30_000 });
    // The picker can open before it has heard of the model list's change: open it until the model is there.
    const row = wb.page.locator('.action-widget .monaco-list-row', { hasText: MODEL_NAME }).first();
    const deadline = Date.now() + 60_000;
    for (;;) {
      await pickerName().click();
      try {
        await row.waitFor({ timeout: 3000 });
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await wb.page.keyboard.press('Escape');
        await wb.page.waitForTimeout(1000);
      }
    }
    await wb.screenshot('model-picker');
    await row.click();
    await pickerName().filter({ hasText: MODEL_NAME }).waitFor({ timeout: 10_000 });
    assert.match(await input().getAttribute('aria-label') ?? '', /Chat Input \(Ask\)/, 'the chat is in Ask mode');
  });

  it('answers a message in Ask mode, streaming', async () => {
    await send('Hello, who are you?');
    const response = chatPart().locator('.interactive-item-container.interactive-response').last();
    const text = async () => (await response.locator('.value').first().innerText().catch(() => '')).trim();
    // The text grows while the model generates (first Phi Local loads the model and prefills the Chat's prompt).
    const lengths: number[] = [];
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const n = (await text()).length;
      if (n > 0 && n !== lengths[lengths.length - 1]) {
        lengths.push(n);
        if (lengths.length === 2) await wb.screenshot('ask-streaming');
      }
      if (providerLog().includes('Language model answer:')) break;
      await wb.page.waitForTimeout(100);
    }
    const answer = await waitForLog(/Language model answer: (\d+) prompt tokens \((\d+) reused\), (\d+) generated, (\w+)/, 10_000);
    assert.ok(Number(answer[3]) > 0, 'the model generated tokens');
    assert.ok(lengths.length >= 2, `the answer grew in the view while streaming: ${lengths.join(', ')}`);
    // Done in the view too: the request's progress ("Working") is gone and the text is there.
    await chatPart().locator('.interactive-input-part .codicon-debug-stop, .interactive-input-part .codicon-stop-circle').first()
      .waitFor({ state: 'hidden', timeout: 30_000 }).catch(() => undefined);
    await response.locator('.value').first().filter({ hasText: /\S{3}/ }).waitFor({ timeout: 10_000 });
    const request = providerLog().match(/Language model request: (\d+) messages, (\d+) tools/);
    assert.ok(request, 'the request reached the provider');
    assert.equal(request[2], '0', 'Ask mode offers no tools');
    console.log(`Ask: ${request[1]} messages, ${answer[1]} prompt tokens, ${answer[3]} generated (${answer[4]}); view lengths ${lengths.join(', ')}`);
    await wb.screenshot('ask-answered');
  });

  it('in Agent mode gets VS Code\'s tools; they do not fit the tiny model\'s 8K context, and the chat says why', async () => {
    await wb.command('Chat: New Chat');
    await wb.command('Chat: Open Chat (Agent)');
    await input().waitFor({ timeout: 30_000 });
    assert.match(await input().getAttribute('aria-label') ?? '', /Chat Input \(Agent\)/, 'the chat is in Agent mode');
    await send('Which files are in this workspace?');
    const request = await waitForLog(/Language model request: \d+ messages, (\d+) tools \(([^;]*); tool choice auto\)/, 120_000);
    const tools = request[2].split(', ');
    assert.ok(Number(request[1]) >= 10, `Agent mode offers VS Code's tools: ${request[2]}`);
    assert.ok(tools.includes('read_file') && tools.includes('list_dir'), `the workspace tools among them: ${request[2]}`);
    const refused = await waitForLog(/refused: (The request is \d+ tokens \((\d+) of them the definitions of the \d+ tools offered\)[^\n]*)/, 60_000);
    // The user sees the same words in the chat, with what to do.
    await chatPart().getByText(/definitions of the \d+ tools offered/).first().waitFor({ timeout: 30_000 });
    console.log(`Agent: ${request[1]} tools offered (${request[2]}); ${refused[1]}`);
    await wb.screenshot('agent-too-long');
  });
});
