// Phi in the terminal, in a real VS Code (code-server + the packaged .vsix, driven by Playwright in Chromium): a bash
// terminal with shell integration runs a failing command; "Phi: Explain Last Terminal Command" (palette) opens a new
// chat whose question holds the command line, its exit code and its output (read through shell integration), and
// the answer streams there; "Fix This Command" (its key, ctrl+k ctrl+f, in the terminal) shows the one proposed
// command in a notification, and only its "Run in Terminal" button runs it in that terminal.
// TEST DOUBLE: the model's answers are replayed (PHI_LOCAL_REPLAY, sidecar/engine/replay.ts): the tiny model's
// random weights never write an explanation or a command. Everything else is real: the terminal and bash, shell
// integration, the sidecar, the engine loop on the generated tiny model, the prompts, VS Code's UI.
// Screenshots go to test-results/e2e/ (terminal-NN-….png).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../fixtures/models';
import { Workbench } from './workbench';

const EXPLANATION = 'The directory /nonexistent-dir does not exist, so ls has nothing to list.';
// The command's output (PHI_FIXED_42) is not its text: seeing it proves the command ran.
const FIXED = 'echo PHI_FIXED_$((6*7))';
const SELECTION_ANSWER = 'That is what echo printed: the text with the arithmetic worked out.';
const KEY_ANSWER = 'echo printed 42: the shell worked out 6*7 before echo ran.';
const REPLIES = [EXPLANATION, `\`\`\`bash\n${FIXED}\n\`\`\`\nThe directory did not exist.`, SELECTION_ANSWER, KEY_ANSWER];

describe('terminal: explain and fix in code-server (tiny model, replayed answer)', () => {
  let wb: Workbench;
  let replies: string;

  before(async () => {
    replies = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'phi-replies-')), 'replies.json');
    fs.writeFileSync(replies, JSON.stringify(REPLIES));
    wb = new Workbench('terminal', {
      env: { PHI_LOCAL_MODEL: ensureModel('tiny'), PHI_LOCAL_REPLAY: replies },
      settings: {
        'phiLocal.executionProvider': 'cpu', 'phiLocal.threads': 2, 'phiLocal.completions.enable': false,
        'terminal.integrated.defaultProfile.linux': 'bash',
        'terminal.integrated.shellIntegration.enabled': true,
        // The DOM renderer: the terminal's text is in the page, where the test can read it.
        'terminal.integrated.gpuAcceleration': 'off',
      },
    });
    await wb.start();
    // The browser lets the page use the clipboard (desktop VS Code needs no such grant): the extension reads the
    // terminal's selection, and a quick command's output, through it.
    await wb.page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  });
  after(async () => {
    await wb?.stop();
    if (replies) fs.rmSync(path.dirname(replies), { recursive: true, force: true });
  });

  const terminalText = () => wb.page.locator('.terminal-wrapper.active .xterm-rows').first().innerText().then((t) => t.replace(/\u00a0/g, ' '));
  async function untilTerminalShows(pattern: RegExp, label: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!pattern.test(await terminalText())) {
      if (Date.now() > deadline) {
        await wb.screenshot(`${label}-missing`);
        throw new Error(`the terminal never showed ${pattern}; it shows:\n${await terminalText()}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('explains the last command from its captured output, in a new chat', async () => {
    await wb.command('Terminal: Create New Terminal');
    const xterm = wb.page.locator('.terminal-wrapper.active .xterm').first();
    await xterm.waitFor({ timeout: 30_000 });
    // The prompt is there (bash has started, with shell integration injected).
    await untilTerminalShows(/[$#]\s*$/, 'terminal-prompt');
    await xterm.click();
    await wb.page.keyboard.type('ls /nonexistent-dir');
    await wb.page.keyboard.press('Enter');
    await untilTerminalShows(/No such file or directory/, 'terminal-ls');
    await wb.screenshot('failed-command');

    await wb.command('Phi: Explain Last Terminal Command');
    const chat = wb.chat();
    const question = chat.locator('.message.user').last();
    try {
      await question.waitFor({ timeout: 60_000 });
    } catch (e) {
      await wb.screenshot('explain-missing');
      throw new Error(`${(e as Error).message}\ncode-server's log:\n${wb.serverLog().slice(-4000)}`);
    }
    const asked = (await question.innerText()).replace(/\u00a0/g, ' ');
    // What only shell integration gives: the command line, its exit code, and the output it printed.
    assert.match(asked, /Explain the output of my last terminal command, .?ls \/nonexistent-dir.? \(it failed, exit code 2\)/);
    assert.match(asked, /\$ ls \/nonexistent-dir/);
    assert.match(asked, /cannot access '\/nonexistent-dir': No such file or directory/);
    // No escape sequences or shell integration marks leak into the question.
    assert.doesNotMatch(asked, /633;|\x1b|\[0m/);
    // The replayed answer streams into the same chat.
    await chat.locator('.message.assistant', { hasText: EXPLANATION }).waitFor({ timeout: 120_000 });
    assert.equal(await chat.locator('.message.user').count(), 1, 'a new chat holds the one question');
    await wb.screenshot('explained-in-chat');
  });

  it('fixes the command from its key in the terminal; it runs only on "Run in Terminal"', async () => {
    const xterm = wb.page.locator('.terminal-wrapper.active .xterm').first();
    await xterm.click();
    const before = await terminalText();
    assert.doesNotMatch(before, /PHI_FIXED_42/);
    // The chord's first key goes to the workbench (terminal.integrated.allowChords), not to bash.
    await wb.page.keyboard.press('Control+k');
    await wb.page.keyboard.press('Control+f');
    const toast = wb.page.locator('.notifications-toasts .notification-toast', { hasText: 'Phi proposes:' }).first();
    try {
      await toast.waitFor({ timeout: 120_000 });
    } catch (e) {
      await wb.screenshot('fix-missing');
      throw new Error(`${(e as Error).message}\ncode-server's log:\n${wb.serverLog().slice(-4000)}`);
    }
    const shown = (await toast.innerText()).replace(/\u00a0/g, ' ');
    assert.ok(shown.includes(`Phi proposes: ${FIXED}`), shown);
    assert.match(shown, /The directory did not exist\./);
    await wb.page.locator('.notifications-toasts .notification-toast', { hasText: 'Fix This Command: thinking' }).waitFor({ state: 'detached', timeout: 30_000 });
    await wb.screenshot('fix-proposed');
    // Not run yet: nothing ran while the notification waits.
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(await terminalText(), /PHI_FIXED/);

    await toast.locator('.monaco-button', { hasText: 'Run in Terminal' }).click();
    await untilTerminalShows(/PHI_FIXED_42/, 'terminal-fixed');
    const after = await terminalText();
    assert.ok(after.includes(FIXED), 'the command was typed into the terminal as proposed');
    await wb.screenshot('fix-ran');
  });

  it('explains the terminal selection from the terminal\'s context menu, and puts the clipboard back', async () => {
    await wb.page.evaluate(() => navigator.clipboard.writeText('the user\'s clipboard'));
    // Select the echo's output with the mouse, as a user does (VS Code updates terminalTextSelected on mouseup).
    const row = wb.page.locator('.terminal-wrapper.active .xterm-rows > div', { hasText: /^PHI_FIXED_42/ }).first();
    const box = await row.boundingBox();
    assert.ok(box, 'the output row is on screen');
    await wb.page.mouse.move(box.x + 1, box.y + box.height / 2);
    await wb.page.mouse.down();
    await wb.page.mouse.move(box.x + 200, box.y + box.height / 2, { steps: 5 });
    await wb.page.mouse.up();
    await wb.page.mouse.click(box.x + 50, box.y + box.height / 2, { button: 'right' });
    const menu = wb.page.locator('.context-view .monaco-menu');
    const item = menu.locator('.action-label', { hasText: 'Explain Terminal Selection' });
    try {
      await item.waitFor({ timeout: 10_000 });
    } catch (e) {
      await wb.screenshot('context-menu-missing');
      throw new Error(`${(e as Error).message}\nthe menu holds: ${(await menu.locator('.action-label').allInnerTexts().catch(() => [])).join(' | ')}`);
    }
    // Phi's three entries, once each.
    for (const title of ['Explain Terminal Selection', 'Explain Last Terminal Command', 'Fix This Command']) {
      assert.equal(await menu.locator('.action-label', { hasText: title }).count(), 1, title);
    }
    await new Promise((r) => setTimeout(r, 400)); // the menu's fade-in
    await wb.screenshot('context-menu');
    await item.click();

    const chat = wb.chat();
    const question = chat.locator('.message.user', { hasText: 'Explain this text I selected in my terminal:' });
    await question.waitFor({ timeout: 30_000 });
    const asked = (await question.innerText()).replace(/\u00a0/g, ' ');
    assert.match(asked, /```text\nPHI_FIXED_42\n```/);
    await chat.locator('.message.assistant', { hasText: SELECTION_ANSWER }).waitFor({ timeout: 120_000 });
    assert.equal(await chat.locator('.message.user').count(), 1, 'a new chat again');
    assert.equal(await wb.page.evaluate(() => navigator.clipboard.readText()), 'the user\'s clipboard', 'the clipboard is as it was');
    await wb.screenshot('selection-explained');
  });

  it('explains the last command from its key in the terminal when nothing is selected', async () => {
    // A click clears the selection; the key then means the last command (the one Run in Terminal ran).
    await wb.page.keyboard.press('Escape');
    const xterm = wb.page.locator('.terminal-wrapper.active .xterm').first();
    await xterm.click();
    await wb.page.keyboard.press('Control+k');
    await wb.page.keyboard.press('Control+e');
    const chat = wb.chat();
    const question = chat.locator('.message.user', { hasText: 'Explain the output of my last terminal command' });
    try {
      await question.waitFor({ timeout: 30_000 });
    } catch (e) {
      await wb.screenshot('key-explain-missing');
      throw e;
    }
    const asked = (await question.innerText()).replace(/\u00a0/g, ' ');
    assert.match(asked, /`echo PHI_FIXED_\$\(\(6\*7\)\)` \(it succeeded, exit code 0\)/);
    assert.match(asked, /\$ echo PHI_FIXED_\$\(\(6\*7\)\)\nPHI_FIXED_42\n/);
    await chat.locator('.message.assistant', { hasText: KEY_ANSWER }).waitFor({ timeout: 120_000 });
    assert.equal(await chat.locator('.message.user').count(), 1, 'a new chat again');
    await wb.screenshot('key-explained');
  });
});
