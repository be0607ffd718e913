// The extension-host test suite (test/vscode/, mocha, test-electron style) inside code-server's extension host:
// code-server 4.100.3 (VS Code 1.100.3) opened with extensionDevelopmentPath = this repository and
// extensionTestsPath = the bundled suite (dist-test/index.js), passed in the URL's `payload`, on the tiny model.
// The workbench reports the suite's end through window.codeAutomationExit; anything but 0 fails this test with
// the suite's log. `npm run test:vscode` runs the same suite in a downloaded desktop VS Code.
// It runs twice: on the oldest VS Code we support and on the newest (code-server 4.139.1 = VS Code 1.139.1, where
// the language-model provider exists); PHI_E2E_VSCODE=oldest|newest runs one of them only.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../fixtures/models';
import { CODE_SERVERS, ensureCodeServer, Workbench, type VsCodeRelease } from './workbench';

const repo = path.join(__dirname, '..', '..');
const SUITE_TIMEOUT_MS = 150_000;

const releases: VsCodeRelease[] = process.env.PHI_E2E_VSCODE === 'oldest' || process.env.PHI_E2E_VSCODE === 'newest'
  ? [process.env.PHI_E2E_VSCODE] : ['oldest', 'newest'];

for (const release of releases) describe(`extension-host test suite in code-server, VS Code ${CODE_SERVERS[release].vscode} (tiny model)`, () => {
  let wb: Workbench | undefined;
  let suite: string;

  before(() => {
    for (const f of ['dist/extension.js', 'dist/sidecar.js', 'dist/engineWorker.js']) {
      if (!fs.existsSync(path.join(repo, f))) throw new Error(`${f} is missing: run \`npm run build\` first (npm test does).`);
    }
    const build = spawnSync(process.execPath, [path.join(repo, 'test', 'vscode', 'build.mjs')], { encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`bundling the extension-host suite failed:\n${build.stdout}\n${build.stderr}`);
    suite = path.join(repo, 'dist-test', 'index.js');
    ensureCodeServer(release); // its first install (minutes) is not the suite's time
  });
  after(async () => {
    await wb?.stop();
  });

  it('passes', { timeout: SUITE_TIMEOUT_MS + 90_000 }, async () => {
    const started = Date.now();
    wb = new Workbench('extension-host', {
      vscode: release,
      env: { PHI_LOCAL_MODEL: ensureModel('tiny') },
      extensionDevelopmentPath: repo,
      extensionTestsPath: suite,
    });
    await wb.start();
    const { code, log } = await wb.extensionTestsExit(SUITE_TIMEOUT_MS);
    const output = log.join('\n');
    if (code !== 0) {
      await wb.screenshot('failed').catch(() => undefined);
      const server = wb.serverLog().split('\n').filter((l) => /error|exthost|sidecar/i.test(l)).slice(-40).join('\n');
      assert.fail(`${code === undefined ? `The suite did not finish within ${SUITE_TIMEOUT_MS / 1000} s` : `The suite exited with ${code}`}. Its log:\n${output}\n\ncode-server (errors):\n${server}`);
    }
    assert.match(output, /passing/, `the mocha report is in the log:\n${output}`);
    assert.doesNotMatch(output, /failing/);
    console.log(`${output.split('\n').filter((l) => /✔|✓|passing|pending|Extension-host tests/.test(l)).join('\n')}\n(${((Date.now() - started) / 1000).toFixed(1)} s from code-server start)`);
  });
});
