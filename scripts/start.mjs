// `npm start [-- options]`: builds the extension, then opens it in a VS Code on a workspace.
// - The desktop VS Code where `code` is on PATH: a new window with the extension loaded from this repository
//   (--extensionDevelopmentPath). The command returns once VS Code has the window.
// - Otherwise the project's code-server (installed into .cache/code-server on first use) on 127.0.0.1, with the
//   extension loaded from this repository; its URL is printed and it runs until Ctrl+C.
// The model: --model DIR, else PHI_LOCAL_MODEL, else the phiLocal.modelPath setting, else the extension's
// walkthrough (Phi: Select Model Folder). --demo uses a generated tiny model with random weights and sets
// PHI_LOCAL_DEMO=1, so the extension labels its UI as a demo: everything works, the answers are gibberish.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HELP = `Usage: npm start [-- options]

Builds Phi Local and opens it in VS Code: the desktop \`code\` if it is on PATH, else code-server in your browser.

  --demo             use a generated tiny model (random weights: answers are gibberish; the UI says "demo")
  --model DIR        the model folder (default: PHI_LOCAL_MODEL, else the phiLocal.modelPath setting)
  --workspace DIR    the folder to open (default: a scratch workspace in .cache/start/)
  --code-server      use code-server even where \`code\` is on PATH
  --port N           code-server's port on 127.0.0.1 (default 8080, or a free one if 8080 is taken)
  --no-build         skip the build (npm run build)
  --help             this text
`;

function parseArgs(argv) {
  const o = { demo: false, model: undefined, workspace: undefined, codeServer: false, port: undefined, build: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) die(`${a} needs a value.`);
      return v;
    };
    if (a === '--demo') o.demo = true;
    else if (a === '--model') o.model = path.resolve(value());
    else if (a === '--workspace') o.workspace = path.resolve(value());
    else if (a === '--code-server') o.codeServer = true;
    else if (a === '--port') {
      o.port = Number(value());
      if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) die('--port needs a port number.');
    } else if (a === '--no-build') o.build = false;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(HELP);
      process.exit(0);
    } else die(`unknown option ${a}\n\n${HELP}`);
  }
  if (o.demo && o.model) die('--demo and --model exclude each other.');
  return o;
}

function die(message) {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { stdio: 'inherit', cwd: repo, ...options });
  if (r.error) die(`${command} failed to run: ${r.error.message}`);
  if (r.status !== 0) die(`${command} ${args.join(' ')} failed (exit ${r.status ?? r.signal}).`);
}

/** The generated tiny model (test/fixtures/models.ts, built on first use in a few seconds, then cached). */
function demoModel() {
  const { require: tsxRequire } = createRequire(import.meta.url)('tsx/cjs/api');
  const { ensureModel } = tsxRequire('../test/fixtures/models.ts', import.meta.url);
  return ensureModel('tiny');
}

/**
 * The desktop VS Code's version when its `code` is on PATH. Not the `code` of a VS Code server's terminal
 * (code-server, Remote-SSH: bin/remote-cli/), which opens files in that editor but cannot start a development window.
 */
function desktopCode() {
  const names = process.platform === 'win32' ? ['code.cmd', 'code.exe'] : ['code'];
  const found = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)
    .flatMap((d) => names.map((n) => path.join(d, n))).find((f) => fs.existsSync(f));
  if (!found) return undefined;
  let real = found;
  try { real = fs.realpathSync(found); } catch { /* keep the link */ }
  if (/[\\/]remote-cli[\\/]/.test(real) || /code-server/.test(real)) return undefined;
  const [file, args, extra] = codeCommand(found, ['--version']);
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 20_000, ...extra });
  const version = (r.stdout ?? '').split('\n')[0].trim();
  return r.status === 0 && /^\d+\.\d+\.\d+/.test(version) ? { version, path: found } : undefined;
}

/** spawn arguments for the `code` CLI: on Windows it is a .cmd, which needs a shell (and quoted arguments). */
function codeCommand(file, args) {
  if (process.platform !== 'win32') return [file, args, {}];
  const quote = (a) => (/[\s"]/.test(a) ? `"${a.replace(/"/g, '\\"')}"` : a);
  return [quote(file), args.map(quote), { shell: true }];
}

/** The scratch workspace: a README that says what it is and a small file to ask about. */
function scratchWorkspace(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const files = {
    'README.md': '# Phi Local scratch workspace\n\n`npm start` opens this folder. Open the Phi Local view in the activity bar ' +
      '(or run **Phi: Open Chat**), select some code and ask about it.\n',
    'fizzbuzz.py': 'def fizzbuzz(n):\n    for i in range(1, n + 1):\n        if i % 15 == 0:\n            print("FizzBuzz")\n' +
      '        elif i % 3 == 0:\n            print("Fizz")\n        elif i % 5 == 0:\n            print("Buzz")\n' +
      '        else:\n            print(i)\n\n\nfizzbuzz(20)\n',
  };
  for (const [name, text] of Object.entries(files)) {
    if (!fs.existsSync(path.join(dir, name))) fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

function portFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealth(port, server, log) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) break;
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  let tail = '';
  try { tail = fs.readFileSync(log, 'utf8').slice(-3000); } catch { /* none */ }
  throw new Error(`code-server did not come up on port ${port}. Its log (${log}):\n${tail}`);
}

function openInDesktop(code, workspace, env) {
  console.log(`Opening VS Code ${code.version} (${code.path}) with the extension loaded from ${repo} …`);
  const [file, args, extra] = codeCommand(code.path, ['--new-window', `--extensionDevelopmentPath=${repo}`, workspace]);
  run(file, args, { env, ...extra });
  console.log([
    '',
    'A new VS Code window ("Extension Development Host") has Phi Local: the Phi Local icon in the activity bar, or',
    'F1 → "Phi: Open Chat". After a change, `npm run build` and "Developer: Reload Window" in that window.',
    'If VS Code was already running and the model or demo label is not picked up, close it and run npm start again.',
  ].join('\n'));
}

async function openInCodeServer(options, workspace, env, stateDir) {
  const codeServerDir = path.join(repo, '.cache', 'code-server');
  const codeServer = path.join(codeServerDir, 'node_modules', '.bin', 'code-server');
  if (!fs.existsSync(codeServer)) {
    console.log('Installing code-server 4.100.3 into .cache/code-server (once; about a minute and a half) …');
  }
  run('sh', [path.join(repo, 'test', 'e2e', 'installCodeServer.sh'), codeServerDir]);

  const dir = (name) => {
    const p = path.join(stateDir, name);
    fs.mkdirSync(p, { recursive: true });
    return p;
  };
  const userData = dir('user-data');
  const settingsFile = path.join(dir(path.join('user-data', 'User')), 'settings.json');
  if (!fs.existsSync(settingsFile)) {
    fs.writeFileSync(settingsFile, JSON.stringify({
      // Straight to the workbench (not VS Code's own "Setup VS Code Web" walkthrough): the Phi Local view says what
      // to do next, and "Help: Welcome" still lists "Get started with Phi Local".
      'workbench.startupEditor': 'none',
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'extensions.autoCheckUpdates': false,
      'extensions.ignoreRecommendations': true,
      // The scratch workspace lies inside this repository's git folder: do not offer to open that.
      'git.openRepositoryInParentFolders': 'never',
    }, null, 2) + '\n');
  }
  const port = options.port ?? ((await portFree(8080)) ? 8080 : await freePort());
  if (options.port && !(await portFree(port))) die(`port ${port} is taken; pick another with --port, or leave it out.`);
  const log = path.join(stateDir, 'code-server.log');
  const logFd = fs.openSync(log, 'w');
  const serverEnv = {
    ...env,
    // code-server writes its config, logs and sockets under these: keep them in .cache/start/.
    XDG_CONFIG_HOME: dir('xdg-config'), XDG_DATA_HOME: dir('xdg-data'), XDG_CACHE_HOME: dir('xdg-cache'), TMPDIR: dir('tmp'),
  };
  const server = spawn(codeServer, ['--config', '/dev/null', '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
    '--user-data-dir', userData, '--extensions-dir', dir('extensions'), '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', '--disable-getting-started-override', '--ignore-last-opened', workspace],
  { env: serverEnv, detached: true, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);

  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    try { process.kill(-server.pid, 'SIGTERM'); } catch { /* gone */ }
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && server.exitCode === null && server.signalCode === null) await new Promise((r) => setTimeout(r, 100));
    try { process.kill(-server.pid, 'SIGKILL'); } catch { /* gone */ }
    process.exit(code);
  };
  process.on('SIGINT', () => { console.log('\nStopping code-server …'); void stop(0); });
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGHUP', () => void stop(0));

  try {
    await waitForHealth(port, server, log);
  } catch (e) {
    console.error(`npm start: ${e.message}`);
    await stop(1);
  }
  server.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`code-server stopped (${code ?? signal}); its log: ${log}`);
    process.exit(code || 1);
  });

  // The web workbench takes the development extension from the URL's `payload` (a vscode-remote URI, so the
  // server's Node extension host loads it): code-server has no command-line flag for it.
  const payload = JSON.stringify([['extensionDevelopmentPath', `vscode-remote://127.0.0.1:${port}${repo}`]]);
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`;
  console.log([
    '',
    'Phi Local is running in code-server. Open this URL in a browser on this machine:',
    '',
    `  ${url}`,
    '',
    'Then the Phi Local icon in the activity bar, or F1 → "Phi: Open Chat".',
    `(From another machine: ssh -L ${port}:127.0.0.1:${port} <this host>, then the same URL.)`,
    `code-server's log: ${path.relative(repo, log)} · the extension's log: "Phi: Show Logs" · Ctrl+C stops it.`,
    '',
  ].join('\n'));
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.build) {
    console.log('Building the extension (npm run build) …');
    const r = spawnSync(process.execPath, [path.join(repo, 'esbuild.mjs')], { cwd: repo, encoding: 'utf8' });
    if (r.status !== 0) die(`the build failed:\n${r.stdout}${r.stderr}`);
  }
  if (!fs.existsSync(path.join(repo, 'dist', 'extension.js'))) die('dist/extension.js is missing: run without --no-build.');

  const env = { ...process.env };
  let modelLine;
  if (options.demo) {
    console.log('Preparing the tiny demo model (generated on first use: a few seconds) …');
    env.PHI_LOCAL_MODEL = demoModel();
    env.PHI_LOCAL_DEMO = '1';
    modelLine = `the generated tiny demo model (random weights: answers are gibberish), ${path.relative(repo, env.PHI_LOCAL_MODEL)}`;
  } else {
    delete env.PHI_LOCAL_DEMO;
    if (options.model) env.PHI_LOCAL_MODEL = options.model;
    else if (env.PHI_LOCAL_MODEL) env.PHI_LOCAL_MODEL = path.resolve(env.PHI_LOCAL_MODEL); // relative to here, not the workspace
    if (env.PHI_LOCAL_MODEL && !fs.existsSync(path.join(env.PHI_LOCAL_MODEL, 'genai_config.json'))) {
      console.warn(`Warning: ${env.PHI_LOCAL_MODEL} has no genai_config.json; the extension will say what is missing.`);
    }
    modelLine = env.PHI_LOCAL_MODEL
      ? `${env.PHI_LOCAL_MODEL}${options.model ? '' : ' (PHI_LOCAL_MODEL)'}; a phiLocal.modelPath setting takes precedence`
      : 'the phiLocal.modelPath setting; if none is set, "Phi: Select Model Folder" (or the walkthrough) picks one';
  }
  console.log(`Model: ${modelLine}.`);

  // Demo and regular runs keep separate code-server profiles: a model folder saved in one does not leak into the other.
  const stateDir = path.join(repo, '.cache', 'start', options.demo ? 'demo' : 'default');
  const workspace = options.workspace ?? scratchWorkspace(path.join(repo, '.cache', 'start', 'workspace'));
  if (!fs.existsSync(workspace)) die(`the workspace ${workspace} does not exist.`);

  const desktop = options.codeServer ? undefined : desktopCode();
  if (desktop) openInDesktop(desktop, workspace, env);
  else await openInCodeServer(options, workspace, env, stateDir);
}

main().catch((e) => die(e?.stack ?? String(e)));
