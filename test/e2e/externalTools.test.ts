// VS Code's tools in the chat panel, in a real VS Code (code-server + Playwright, the packaged .vsix, the real sidecar
// and engine on the generated tiny model). A second, tiny extension made here and installed beside Phi Local
// registers two language-model tools (vscode.lm.registerTool, declared in its contributes.languageModelTools): a
// read-only `weather_lookup` (tag "readonly") and `deploy_site` (no such tag), which writes deployed.txt in the
// workspace when it runs, so the test sees whether it ran.
// TEST DOUBLE: the model's answers are replayed (PHI_LOCAL_REPLAY, sidecar/engine/replay.ts), so each turn's call is
// known; the tokens still go through the real generation loop, the sidecar's call checks and tool loop, and the
// extension runs the calls through vscode.lm.invokeTool.
// What it shows: a tool that is not chosen is not offered (its call is refused, it does not run); the "Tools…"
// picker (the chat's title-bar button) lists both with their token cost, the read-only one checked by default;
// chosen, the read-only tool runs without asking and its output shows in the step; the other asks first with a card
// naming it and its arguments, and runs on Allow; the choice is remembered for the conversation, and a new chat
// starts from the default. Screenshots in test-results/e2e/external-tools-*.png.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../fixtures/models';
import { ensureCodeServer, Workbench } from './workbench';

const repo = path.join(__dirname, '..', '..');
const call = (name: string, args: Record<string, unknown>) => `<|tool_call|>[${JSON.stringify({ name, arguments: args })}]<|/tool_call|>`;

/** One entry per generation, in order. */
const replies = [
  call('deploy_site', { env: 'staging' }), 'I cannot deploy from here.',       // turn 1: not chosen, refused
  call('weather_lookup', { city: 'Oslo' }), 'It is sunny in Oslo.',           // turn 2: read-only, runs at once
  call('deploy_site', { env: 'staging' }), 'Deployed.',                        // turn 3: asks, Allow once
];

/** The second extension: two LM tools, plain JavaScript. */
const TOOLS_EXTENSION = {
  'package.json': JSON.stringify({
    name: 'e2e-lm-tools', displayName: 'E2E LM tools', publisher: 'phi-local-tests', version: '0.0.1', license: 'MIT',
    description: 'Language-model tools for the Phi Local editor test.',
    engines: { vscode: '^1.95.0' }, main: './extension.js', activationEvents: ['onStartupFinished'],
    contributes: {
      languageModelTools: [
        {
          name: 'weather_lookup', displayName: 'Weather', tags: ['readonly'],
          modelDescription: 'Looks up the current weather for a city.',
          inputSchema: { type: 'object', properties: { city: { type: 'string', description: 'The city' } }, required: ['city'] },
        },
        {
          name: 'deploy_site', displayName: 'Deploy', tags: ['deploy'],
          modelDescription: 'Deploys the site to an environment.',
          inputSchema: { type: 'object', properties: { env: { type: 'string', enum: ['staging', 'production'] } }, required: ['env'] },
        },
      ],
    },
  }, null, 2),
  'extension.js': `const vscode = require('vscode');
const fs = require('fs');
const path = require('path');
const text = (t) => new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(t)]);
exports.activate = (context) => {
  context.subscriptions.push(
    vscode.lm.registerTool('weather_lookup', { invoke: async (options) => text('Weather in ' + options.input.city + ': sunny, 21 C (from the e2e tools extension).') }),
    vscode.lm.registerTool('deploy_site', { invoke: async (options) => {
      fs.writeFileSync(path.join(vscode.workspace.workspaceFolders[0].uri.fsPath, 'deployed.txt'), options.input.env);
      return text('Deployed to ' + options.input.env + ' (from the e2e tools extension).');
    } }),
  );
};
`,
  'README.md': '# E2E LM tools\n\nTools for the Phi Local editor test.\n',
  'LICENSE': 'MIT\n',
};

describe('VS Code\'s tools in the chat (code-server, tiny model, replayed answers)', () => {
  let wb: Workbench;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-lm-tools-'));
  let deployed: string;

  before(async () => {
    const script = path.join(scratch, 'replies.json');
    fs.writeFileSync(script, JSON.stringify(replies));
    // The second extension, packaged by vsce and installed into the workbench's extensions folder before it starts.
    const ext = path.join(scratch, 'e2e-lm-tools');
    fs.mkdirSync(ext);
    for (const [file, text] of Object.entries(TOOLS_EXTENSION)) fs.writeFileSync(path.join(ext, file), text);
    const vsix = path.join(scratch, 'e2e-lm-tools.vsix');
    execFileSync(process.execPath, [path.join(repo, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-dependencies', '--allow-missing-repository',
      '--skip-license', '--out', vsix], { cwd: ext, stdio: 'pipe' });
    wb = new Workbench('external-tools', {
      env: { PHI_LOCAL_MODEL: ensureModel('tiny'), PHI_LOCAL_REPLAY: script },
      settings: { 'phiLocal.executionProvider': 'cpu', 'phiLocal.threads': 2, 'phiLocal.temperature': 0, 'phiLocal.tools.enabled': true, 'phiLocal.completions.enable': false },
    });
    execFileSync(ensureCodeServer(wb.release), ['--config', '/dev/null', '--user-data-dir', path.join(wb.root, 'user-data'),
      '--extensions-dir', path.join(wb.root, 'extensions'), '--install-extension', vsix, '--force'], { stdio: 'pipe' });
    deployed = path.join(wb.workspace, 'deployed.txt');
    await wb.start();
    await wb.command('Phi: Open Chat');
    await wb.chat().locator('textarea#prompt').waitFor({ timeout: 30_000 });
  });
  after(async () => {
    await wb?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  const ask = (text: string) => wb.ask(text);
  const lastAnswer = () => wb.lastAnswer();
  const answerDone = () => wb.answerDone();
  const picker = () => wb.page.locator('.quick-input-widget');
  const row = (name: string) => picker().locator('.monaco-list-row', { hasText: name });
  /** The tools button in the chat view's title bar. */
  const toolsButton = () => wb.page.locator('.monaco-action-bar .action-label[aria-label^="Choose Tools for This Chat"]').first();

  it('a tool the chat has not chosen is not offered: its call is refused and it does not run', async () => {
    await ask('Deploy the site to staging.');
    await answerDone();
    const step = lastAnswer().locator('.tool-step').first();
    assert.equal(await step.getAttribute('data-state'), 'error');
    await step.locator('summary').click();
    assert.match(await step.locator('.tool-result').innerText(), /deploy_site/);
    assert.equal(fs.existsSync(deployed), false, 'deploy_site did not run');
    await wb.screenshot('not-chosen-refused');
  });

  it('the Tools button opens the picker: both tools with their token cost, the read-only one checked', async () => {
    await toolsButton().click();
    await row('deploy_site').waitFor({ timeout: 30_000 });
    await row('weather_lookup').waitFor();
    // The costs: counted by the model's tokenizer (the model is loaded after the first turn), so not marked estimated.
    const weather = await row('weather_lookup').innerText();
    const deploy = await row('deploy_site').innerText();
    assert.match(weather, /weather_lookup\s*\d+ tokens · read-only, runs when called/);
    assert.match(deploy, /deploy_site\s*\d+ tokens · asks before each call/);
    assert.doesNotMatch(weather + deploy, /estimated/);
    assert.ok(Number(/(\d+) tokens/.exec(weather)![1]) > 10, weather);
    // Phi Local's own workspace tools are not in it, nor VS Code's internal ones (…_internal), which it lists too.
    assert.equal(await row('read_file').count(), 0);
    assert.equal(await row('_internal').count(), 0);
    assert.equal(await row('weather_lookup').getAttribute('aria-checked'), 'true');
    assert.equal(await row('deploy_site').getAttribute('aria-checked'), 'false');
    assert.match(await picker().locator('.quick-input-title').innerText(), /tokens of the model's \d+-token context per turn/);
    await wb.screenshot('picker');
    // Choose deploy_site too, and OK.
    await row('deploy_site').locator('label').first().click();
    assert.equal(await row('deploy_site').getAttribute('aria-checked'), 'true');
    await wb.screenshot('picker-chosen');
    await picker().locator('input.input').press('Enter');
    await picker().waitFor({ state: 'hidden' });
  });

  it('a read-only tool runs when called, through vscode.lm.invokeTool, its output in the step', async () => {
    await ask('What is the weather in Oslo?');
    await answerDone();
    const step = lastAnswer().locator('.tool-step[data-tool="weather_lookup"]');
    assert.equal(await step.getAttribute('data-state'), 'done');
    await step.locator('summary').click();
    assert.match(await step.locator('.tool-result').innerText(), /Weather in Oslo: sunny, 21 C \(from the e2e tools extension\)/);
    assert.match(await lastAnswer().innerText(), /It is sunny in Oslo/);
    await wb.screenshot('read-only-ran');
  });

  it('a tool that is not read-only asks first, with its name and arguments, and runs on Allow', async () => {
    await ask('Deploy to staging now.');
    const step = lastAnswer().locator('.tool-step[data-tool="deploy_site"]');
    const card = step.locator('.consent-card');
    await card.waitFor({ timeout: 120_000 });
    assert.equal(await card.locator('.consent-title').innerText(), 'Call deploy_site');
    assert.match(await card.locator('.consent-code').innerText(), /"env": "staging"/);
    assert.equal(await step.getAttribute('data-state'), 'awaiting-consent');
    assert.equal(fs.existsSync(deployed), false, 'nothing ran before the answer');
    await wb.screenshot('consent-card');
    await step.locator('button.consent-once').click();
    await answerDone();
    assert.equal(await step.getAttribute('data-state'), 'done');
    assert.equal(fs.readFileSync(deployed, 'utf8'), 'staging', 'deploy_site ran with the arguments');
    await step.locator('summary').click();
    assert.match(await step.locator('.tool-result').innerText(), /Deployed to staging \(from the e2e tools extension\)/);
    await wb.screenshot('allowed-ran');
  });

  it('the choice is the conversation\'s: the picker shows it again; a new chat starts from the default', async () => {
    await toolsButton().click();
    await row('deploy_site').waitFor({ timeout: 30_000 });
    assert.equal(await row('deploy_site').getAttribute('aria-checked'), 'true');
    await wb.page.keyboard.press('Escape');
    await picker().waitFor({ state: 'hidden' });
    await wb.chat().locator('button#new-chat').click();
    await wb.chat().locator('.message').first().waitFor({ state: 'detached', timeout: 10_000 });
    // From the command palette this time: the same picker.
    await wb.page.locator('.part.editor').click({ position: { x: 100, y: 100 } });
    try {
      await wb.command('Phi: Choose Tools for This Chat');
    } catch (e) {
      await wb.screenshot('palette-debug');
      throw e;
    }
    await row('deploy_site').waitFor({ timeout: 30_000 });
    assert.equal(await row('deploy_site').getAttribute('aria-checked'), 'false');
    assert.equal(await row('weather_lookup').getAttribute('aria-checked'), 'true');
    await wb.screenshot('new-chat-default');
    await wb.page.keyboard.press('Escape');
  });
});
