// Phi-4-mini in VS Code's own Chat view (code-server 4.139.1 = VS Code 1.139.1, which ships the Chat built in),
// with the packaged .vsix, driven by Playwright in Debian's Chromium, on the generated tiny model (random weights:
// the answer is gibberish; the test is about the model being picked, asked and streaming its answer).
// - `chat.allowAnonymousAccess`: VS Code's Chat otherwise wants a GitHub sign-in before it sends anything to any
//   model, and this machine is offline; with it, the built-in Chat runs signed out and uses our local model.
// - `chat.agent.enabled: false` until the Agent-mode test: signed out, VS Code 1.139 puts an empty chat back in Agent
//   mode whenever its list of modes changes (ChatInputPart._setEmptyModelState: `if (entitlementService.anonymous)
//   setChatMode("agent")`), e.g. when the Copilot extension's custom agents load, which on a loaded machine can come
//   after the test picked Ask (a CI run sent its message in Agent mode). With Agent mode off the list holds only Ask
//   and Edit, and setChatMode("agent") falls back to Ask, so an empty chat is in Ask mode whatever loads when.
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
        'chat.allowAnonymousAccess': true, 'chat.agent.enabled': false,
      },
    });
    await wb.start();
  });
  after(async () => {
    await wb?.stop();
  });

  const chatPart = () => wb.page.locator('.part.auxiliarybar');
  const input = () => chatPart().locator('.interactive-input-part .native-edit-context').first();
  /** The mode the chat's input shows: the mode picker's label ("Ask", "Agent", "Edit"). */
  const modeShown = () => chatPart().locator('.interactive-input-part .chat-mode-picker-item .chat-input-picker-label').first();
  /**
   * Types a message and sends it, once: waits until VS Code enables its Send button (it is disabled while the chat
   * cannot take the message), presses Enter, and fails unless the message shows up in the list.
   */
  async function send(text: string): Promise<void> {
    await input().focus();
    await wb.page.keyboard.insertText(text);
    await chatPart().locator('.interactive-input-part .chat-submit-button:not(.disabled)').first().waitFor({ timeout: 60_000 });
    await wb.page.keyboard.press('Enter');
    await chatPart().locator('.interactive-item-container.interactive-request', { hasText: text }).last().waitFor({ timeout: 30_000 });
  }
  const pickerName = () => chatPart().locator('.interactive-input-part .model-picker-name').first();

  /**
   * Picks our model in the chat's model picker. The picker can open before it has heard of the model list's change
   * (our provider registers when the extension activates, which after a reload can come after the chat view is
   * back): open it until the model is there.
   */
  async function pickOurModel(screenshot?: string): Promise<void> {
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
    if (screenshot) await wb.screenshot(screenshot);
    await row.click();
    await pickerName().filter({ hasText: MODEL_NAME }).waitFor({ timeout: 10_000 });
  }

  /** The extension's log (the "Phi Local" output channel's file; a folder per start, named by its time, so sorted they are in order). */
  function providerLog(): string {
    const logs = path.join(wb.root, 'user-data', 'logs');
    const files = fs.readdirSync(logs, { recursive: true }).map(String).filter((f) => f.endsWith(path.join('phi-local.phi-local', 'Phi Local.log'))).sort();
    return files.map((f) => fs.readFileSync(path.join(logs, f), 'utf8')).join('\n');
  }

  /** Waits for `pattern` in the log, after its first `from` characters (what was there before a step). */
  async function waitForLog(pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = providerLog().slice(from).match(pattern);
      if (m) return m;
      if (Date.now() > deadline) {
        // What the chat shows says where the request went instead (another model, an error, a sign-in prompt).
        await wb.screenshot('log-wait-failed');
        const shown = await chatPart().innerText({ timeout: 5000 }).catch((e: Error) => `(unreadable: ${e.message})`);
        throw new Error(`the Phi Local log has no ${pattern} after ${timeoutMs / 1000} s.\nThe chat shows (end): ${shown.slice(-800)}\n` +
          `The log (end):\n${providerLog().slice(-1500)}`);
      }
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
    await pickOurModel('model-picker');
    assert.match(await input().getAttribute('aria-label') ?? '', /Chat Input \(Ask\)/, 'the chat is in Ask mode');
  });

  it('answers a message in Ask mode, streaming', async () => {
    // The mode, shown before sending: the picker's label and the input's name. With Agent mode off nothing can
    // switch an empty chat out of Ask (see the top of this file), so what is shown now is what the message goes in.
    assert.equal((await modeShown().innerText()).trim(), 'Ask', 'the mode picker shows Ask');
    assert.match(await input().getAttribute('aria-label') ?? '', /^Chat Input \(Ask\)/, 'the input is Ask mode\'s');
    assert.equal((await pickerName().innerText()).trim(), MODEL_NAME, 'our model is the one picked');
    // Every text the answer shows, recorded in the page on each change of the list (a MutationObserver), so that
    // what is seen does not depend on how often this process gets to look. (No named functions in the page's code:
    // tsx would wrap them in a helper the page does not have.)
    await chatPart().evaluate((part) => {
      const lengths: number[] = [];
      (window as unknown as { phiAnswerLengths: number[] }).phiAnswerLengths = lengths;
      new MutationObserver(() => {
        const responses = part.querySelectorAll('.interactive-item-container.interactive-response .value');
        const n = (responses[responses.length - 1]?.textContent ?? '').trim().length;
        if (n > 0 && n !== lengths[lengths.length - 1]) lengths.push(n);
      }).observe(part, { childList: true, subtree: true, characterData: true });
    });
    await send('Hello, who are you?');
    const response = chatPart().locator('.interactive-item-container.interactive-response').last();
    // First Phi Local loads the model and prefills the Chat's prompt; 80 new tokens at most (phiLocal.maxNewTokens).
    const answer = await waitForLog(/Language model answer: (\d+) prompt tokens \((\d+) reused\), (\d+) generated, (\w+)/, 180_000);
    assert.ok(Number(answer[3]) > 1, `the model generated more than one token: ${answer[3]}`);
    // Done in the view too: the request's progress (its Stop button) is gone and the text is there.
    await chatPart().locator('.interactive-input-part .codicon-debug-stop, .interactive-input-part .codicon-stop-circle').first()
      .waitFor({ state: 'hidden', timeout: 30_000 });
    await response.locator('.value').first().filter({ hasText: /\S{3}/ }).waitFor({ timeout: 10_000 });
    // Each token reaches VS Code as its own part, and the view shows the text as it comes: more than one state.
    const lengths = await wb.page.evaluate(() => (window as unknown as { phiAnswerLengths: number[] }).phiAnswerLengths);
    assert.ok(lengths.length >= 2, `the answer grew in the view while streaming: ${lengths.join(', ')}`);
    const request = providerLog().match(/Language model request: (\d+) messages, (\d+) tools/);
    assert.ok(request, 'the request reached the provider');
    assert.equal(request[2], '0', 'Ask mode offers no tools');
    console.log(`Ask: ${request[1]} messages, ${answer[1]} prompt tokens, ${answer[3]} generated (${answer[4]}); view lengths ${lengths.join(', ')}`);
    await wb.screenshot('ask-answered');
  });

  it('in Agent mode gets VS Code\'s tools; not all fit the tiny model\'s 8K context: the most relevant are offered, and the chat says which were left out', async () => {
    // Agent mode on again (see the top of this file). The workbench reads settings.json when it loads; a change
    // made behind its back is not reliably seen (it rewrites the file itself at startup), so: change it, reload.
    wb.updateSettings({ 'chat.agent.enabled': true });
    await wb.reload();
    await wb.command('Chat: Open Chat');
    await input().waitFor({ timeout: 30_000 });
    // A new chat in the Chat view, by its New Chat key (Ctrl+L in a chat input: the palette did not offer "Chat: New
    // Chat", whose precondition wants the focus in a chat view), then Agent mode in it.
    await input().focus();
    await wb.page.keyboard.press('Control+L');
    await chatPart().locator('.interactive-item-container.interactive-request').first().waitFor({ state: 'detached', timeout: 30_000 });
    await wb.command('Chat: Open Chat (Agent)');
    await modeShown().filter({ hasText: /^Agent$/ }).waitFor({ timeout: 30_000 });
    assert.match(await input().getAttribute('aria-label') ?? '', /^Chat Input \(Agent\)/, 'the chat is in Agent mode');
    // Our model again: after the reload the chat may have come back with another one picked (a CI run's message
    // never reached Phi Local), and each mode can keep a model of its own.
    const pickedAfterReload = (await pickerName().innerText()).trim();
    if (pickedAfterReload !== MODEL_NAME) {
      console.log(`After the reload Agent mode had "${pickedAfterReload}" picked: picking ${MODEL_NAME} again.`);
      await pickOurModel();
    }
    assert.equal((await pickerName().innerText()).trim(), MODEL_NAME, 'our model is the one picked');
    await modeShown().filter({ hasText: /^Agent$/ }).waitFor({ timeout: 10_000 });
    const before = providerLog().length;
    await send('Which files are in this workspace?');
    // The request as it reached Phi Local (the log's next request line), whatever it carried.
    const request = await waitForLog(/Language model request: \d+ messages, (\d+) tools(?: \(([^;]*); tool choice (\w+)\))?/, 120_000, before);
    // VS Code's ~40 definitions do not fit beside the conversation in 8K (the answer's share kept): instead of refusing,
    // Phi Local offers the ones most relevant to the message (extension/lm/toolSelection.ts) and names the rest.
    const selected = providerLog().slice(before).match(/Language model request: (\d+) tool definitions do not fit beside the conversation; offered the (\d+) most relevant, left out ([^\n]*)\./);
    assert.ok(selected, `Agent mode's request came with tools that all fit: ${request[0]}`);
    const requested = Number(selected[1]);
    const left = selected[3].split(', ');
    assert.ok(requested >= 10, `Agent mode sends VS Code's tools: ${requested}`);
    assert.equal(request[3], 'auto', 'tool choice auto');
    const offered = request[2].split(', ');
    assert.equal(offered.length, Number(selected[2]), 'the turn offers the selected tools');
    assert.ok(offered.length >= 1 && left.length >= 1, `some offered (${offered.length}), some left out (${left.length})`);
    assert.equal(offered.length + left.length, requested, 'every tool is offered or named as left out');
    assert.ok(!offered.some((t) => left.includes(t)));
    // The user sees which were left out, in the chat.
    await chatPart().getByText(/context holds only some of the \d+ tools/).first().waitFor({ timeout: 30_000 });
    // And the model answered (or called one of the offered tools) instead of the request being refused.
    const answer = await waitForLog(/Language model answer: (\d+) prompt tokens \((\d+) reused\), (\d+) generated, (\w+)(?:; calls ([^\n.]*))?/, 180_000, before);
    for (const call of answer[5]?.split(', ') ?? []) assert.ok(offered.includes(call), `a call to an offered tool: ${call}`);
    console.log(`Agent: ${requested} tools sent, ${offered.length} offered (${request[2]}); left out ${left.length}; answer: ${answer[1]} prompt tokens, ${answer[3]} generated, ${answer[4]}`);
    await wb.screenshot('agent-tools-selected');
  });
});
