// Project instructions in a real VS Code (code-server, the packaged .vsix, the generated tiny model): the chat
// panel's read-only chip names the instruction files the next turn gets (the scoped ones by the open file's applyTo),
// a new file is picked up by the watcher, and the extension's log says which files a turn's system prompt had.
// Screenshots go to test-results/e2e/.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../fixtures/models';
import { Workbench } from './workbench';

describe('project instructions in code-server (tiny model)', () => {
  let wb: Workbench;

  before(async () => {
    const model = ensureModel('tiny');
    wb = new Workbench('instructions', {
      env: { PHI_LOCAL_MODEL: model },
      settings: { 'phiLocal.executionProvider': 'cpu', 'phiLocal.threads': 2, 'phiLocal.maxNewTokens': 16, 'phiLocal.temperature': 0 },
      files: {
        'AGENTS.md': '# Agents\nRun the tests before you answer.\n',
        '.github/instructions/python.instructions.md': '---\napplyTo: "**/*.py"\n---\nFollow PEP 8.\n',
        '.github/instructions/web.instructions.md': '---\napplyTo: "**/*.ts"\n---\nUse strict TypeScript.\n',
        'src/app.py': 'print("hello")\n',
      },
    });
    await wb.start();
  });
  after(async () => {
    await wb?.stop();
  });

  /** The "Phi Local" output channel, as the extension host wrote it to its log folder. */
  function phiLog(): string {
    const files = (fs.readdirSync(wb.root, { recursive: true }) as string[]).filter((f) => f.endsWith('Phi Local.log'));
    return files.map((f) => fs.readFileSync(path.join(wb.root, f), 'utf8')).join('\n');
  }

  async function waitForLog(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(phiLog())) {
      if (Date.now() > deadline) throw new Error(`the Phi Local log has no ${pattern}:\n${phiLog().slice(-3000)}`);
      await wb.page.waitForTimeout(250);
    }
  }

  it('shows a chip with the instruction files that apply to the open file', async () => {
    // The file first: once the chat's prompt has the focus, the webview takes Ctrl+P.
    await wb.page.keyboard.press('Control+P');
    await wb.page.locator('.quick-input-widget input.input').fill('app.py');
    await wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'app.py' }).first().waitFor();
    await wb.page.keyboard.press('Enter');
    await wb.page.locator('.monaco-editor .view-lines', { hasText: 'print("hello")' }).waitFor();
    await wb.command('Phi: Open Chat');
    const chat = wb.chat();
    await chat.locator('textarea#prompt').waitFor({ timeout: 30_000 });
    const chip = chat.locator('#chips .chip.instructions');
    await chip.filter({ hasText: 'Instructions: AGENTS.md, python.instructions.md' }).waitFor({ timeout: 15_000 });
    assert.doesNotMatch(await chip.innerText(), /web\.instructions/, 'applyTo "**/*.ts" does not match app.py');
    assert.match((await chip.getAttribute('title')) ?? '', /AGENTS\.md, \.github\/instructions\/python\.instructions\.md/);
    assert.equal(await chip.locator('button.remove').count(), 0, 'read-only');

    // A new instruction file: the watcher picks it up, and it comes first.
    fs.mkdirSync(path.join(wb.workspace, '.phi'), { recursive: true });
    fs.writeFileSync(path.join(wb.workspace, '.phi', 'instructions.md'), 'Answer in one sentence.\n');
    await chip.filter({ hasText: 'Instructions: .phi/instructions.md, AGENTS.md, python.instructions.md' }).waitFor({ timeout: 15_000 });
    await wb.screenshot('instructions-chip');
  });

  it('puts them into the system prompt of a chat turn, and logs which', async () => {
    const chat = wb.chat();
    await chat.locator('textarea#prompt').fill('What does this do?');
    await chat.locator('textarea#prompt').press('Enter');
    await waitForLog(/Chat: project instructions used: \.phi\/instructions\.md, AGENTS\.md, \.github\/instructions\/python\.instructions\.md\./, 60_000);
    await chat.locator('.message.assistant[data-state="done"], .message.assistant[data-state="cancelled"]').last().waitFor({ timeout: 120_000 });
  });
});
