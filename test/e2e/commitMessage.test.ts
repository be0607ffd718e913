// Write Commit Message in a real VS Code (code-server + the packaged .vsix, driven by Playwright in Chromium): the
// workspace is a Git repository with one commit and a staged change; the command from the palette writes the message
// into the Source Control input box, and the Source Control view's title bar offers the same command as a button.
// TEST DOUBLE: the model's answer is replayed (PHI_LOCAL_REPLAY, sidecar/engine/replay.ts): the tiny model's random
// weights never write a commit message. Everything else is real: the built-in Git extension and its API (the staged
// diff, the log), the sidecar, the engine loop on the generated tiny model, the prompt, VS Code's UI.
// Screenshots go to test-results/e2e/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../fixtures/models';
import { Workbench } from './workbench';

const SUBJECT = 'feat(greet): say hello by name';
const REPLIES = [`${SUBJECT}\n\nThe greeting now takes the name to greet.`];

describe('commit message in code-server (tiny model, replayed answer)', () => {
  let wb: Workbench;
  let replies: string;

  before(async () => {
    replies = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'phi-replies-')), 'replies.json');
    fs.writeFileSync(replies, JSON.stringify(REPLIES));
    wb = new Workbench('commit-message', {
      env: { PHI_LOCAL_MODEL: ensureModel('tiny'), PHI_LOCAL_REPLAY: replies },
      settings: { 'phiLocal.executionProvider': 'cpu', 'phiLocal.threads': 2, 'phiLocal.completions.enable': false, 'git.enabled': true },
    });
    // The repository exists before the workbench starts, so the Git extension finds it when it opens the folder.
    // README.md is the one start() writes, with the same text: it stays unchanged.
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd: wb.workspace, stdio: 'pipe' });
    fs.mkdirSync(wb.workspace, { recursive: true });
    fs.writeFileSync(path.join(wb.workspace, 'README.md'), '# scratch workspace\n');
    fs.writeFileSync(path.join(wb.workspace, 'greet.js'), 'function greet() {\n  return "hello";\n}\n');
    git('init', '-q', '-b', 'main');
    git('add', '.');
    git('commit', '-q', '-m', 'chore: start the project');
    fs.writeFileSync(path.join(wb.workspace, 'greet.js'), 'function greet(name) {\n  return `hello, ${name}`;\n}\n');
    git('add', 'greet.js');
    await wb.start();
  });
  after(async () => {
    await wb?.stop();
    if (replies) fs.rmSync(path.dirname(replies), { recursive: true, force: true });
  });

  it('the command writes the replayed message from the staged diff into the Source Control input box', async () => {
    await wb.page.locator('.activitybar .action-item [aria-label^="Source Control"]').first().click();
    const view = wb.page.locator('.scm-view');
    // The Git extension has found the repository: the staged change is listed.
    await view.getByText('greet.js').first().waitFor({ timeout: 60_000 });
    // The title bar's button (shown on hover, so only attached here).
    await wb.page.locator('.action-label[aria-label="Write Commit Message"]').first().waitFor({ state: 'attached', timeout: 30_000 });
    await wb.command('Phi: Write Commit Message');
    const input = view.locator('.scm-editor .view-lines').first();
    try {
      await input.filter({ hasText: SUBJECT }).waitFor({ timeout: 120_000 });
    } catch (e) {
      await wb.screenshot('commit-message-missing');
      throw new Error(`${(e as Error).message}\ncode-server's log:\n${wb.serverLog().slice(-4000)}`);
    }
    await wb.page.locator('.notifications-toasts .notification-toast', { hasText: 'Write Commit Message' }).waitFor({ state: 'detached', timeout: 30_000 });
    // Monaco renders spaces as no-break spaces and wraps long lines: compare the words.
    const text = (await input.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /feat\(greet\): say hello by name The greeting now takes the name to greet\./);
    await wb.screenshot('commit-message');
  });
});
