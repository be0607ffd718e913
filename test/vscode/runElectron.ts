// `npm run test:vscode`: the extension-host suite (this folder) in a desktop VS Code that @vscode/test-electron
// downloads (into .cache/vscode-test/), with the extension loaded from this repository and the tiny model.
// The same suite runs in code-server in `npm test` (test/e2e/extensionHost.test.ts); this is for machines that can
// download VS Code, which CI here cannot. `npm run test:vscode` builds dist/ and dist-test/ first.
//
// @vscode/test-electron is pinned at 2.5.2: 3.x needs Node 22, and this project runs on Node 20.
//   VSCODE_TEST_VERSION=1.100.3   which VS Code (default: stable, the latest)
//   VSCODE_EXECUTABLE=/path/code  use an installed VS Code instead of downloading one
//   PHI_VSCODE_GREP=pattern       only the tests whose title matches
// On Linux without a display, run it under xvfb: `xvfb-run -a npm run test:vscode`.
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureModel } from '../fixtures/models';

const repo = path.resolve(__dirname, '..', '..');
const suite = path.join(repo, 'dist-test', 'index.js');
const cachePath = path.join(repo, '.cache', 'vscode-test');

function fail(message: string, code = 1): never {
  console.error(`test:vscode: ${message}`);
  process.exit(code);
}

async function vscodeExecutable(): Promise<string> {
  const installed = process.env.VSCODE_EXECUTABLE;
  if (installed) {
    if (!fs.existsSync(installed)) fail(`VSCODE_EXECUTABLE=${installed} does not exist.`);
    return installed;
  }
  const version = process.env.VSCODE_TEST_VERSION ?? 'stable';
  try {
    return await downloadAndUnzipVSCode({ version, cachePath, timeout: 30_000 });
  } catch (e) {
    fail([
      `could not download VS Code ${version} (${(e as Error).message.split('\n')[0]}).`,
      'This command needs to reach update.code.visualstudio.com once (the download is cached in .cache/vscode-test/),',
      'or VSCODE_EXECUTABLE=/path/to/code to use an installed VS Code.',
      'Offline, the same suite runs in code-server: node test/run.mjs test/e2e (part of npm test).',
    ].join('\n  '), 2);
  }
}

async function main(): Promise<void> {
  for (const f of ['dist/extension.js', 'dist/sidecar.js', 'dist-test/index.js']) {
    if (!fs.existsSync(path.join(repo, f))) fail(`${f} is missing: run it as \`npm run test:vscode\`, which builds it.`);
  }
  const executable = await vscodeExecutable();
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    console.warn('test:vscode: no DISPLAY: VS Code may not start. Run it under a virtual display: xvfb-run -a npm run test:vscode');
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-test-electron-'));
  try {
    const workspace = path.join(root, 'workspace');
    const userData = path.join(root, 'user-data');
    fs.mkdirSync(workspace, { recursive: true });
    fs.writeFileSync(path.join(workspace, 'README.md'), '# scratch workspace\n');
    fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
    fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({
      'workbench.startupEditor': 'none',
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'extensions.autoUpdate': false,
    }, null, 2));
    const started = Date.now();
    await runTests({
      vscodeExecutablePath: executable,
      extensionDevelopmentPath: repo,
      extensionTestsPath: suite,
      extensionTestsEnv: { PHI_LOCAL_MODEL: ensureModel('tiny'), ...(process.env.PHI_VSCODE_GREP ? { PHI_VSCODE_GREP: process.env.PHI_VSCODE_GREP } : {}) },
      launchArgs: [workspace, '--user-data-dir', userData, '--extensions-dir', path.join(root, 'extensions'),
        '--disable-extensions', '--disable-gpu'], // test-electron adds --disable-workspace-trust, --skip-welcome, …
    });
    console.log(`test:vscode: passed in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  } catch (e) {
    fail(`the extension-host tests failed: ${(e as Error).message}`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

void main();
