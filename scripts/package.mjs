// `npm run package [-- --target linux-x64] [-- --smoke [--model DIR]]`: makes phi-local-<target>.vsix, a
// platform-specific package holding the esbuild bundles (dist/), the webview and walkthrough assets, and the
// native modules the bundles leave out (onnxruntime-node + onnxruntime-common, koffi), with the binaries of that
// one platform only. Run `npm run build` first (`npm run package` does).
//
// vsce is run WITH dependency detection (npm mode): with --no-dependencies vsce never looks inside node_modules,
// whatever .vscodeignore says. In npm mode it lists every production dependency's files and .vscodeignore (here
// extended with the target's binary folders) keeps only the native modules above.
//
// Then the package is checked: what it must hold (the bundles, this platform's binaries) and must not (sources,
// source maps, tests, other platforms' binaries). --smoke unzips it and starts the sidecar from the unpacked
// extension over JSON-RPC (phi/status; with --model, also phi/loadModel and a short phi/chat).
import { execFileSync, fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const target = option('--target', 'linux-x64');
const smoke = args.includes('--smoke');
const modelOption = option('--model', process.env.PHI_LOCAL_MODEL);
const model = modelOption && path.resolve(modelOption);

// vsce target → onnxruntime-node's bin/napi-v6/<platform>/<arch>, and koffi's per-platform package and folder.
const TARGETS = {
  'linux-x64': { ort: 'linux/x64', koffi: 'linux-x64', koffiDir: 'linux_x64' },
  'linux-arm64': { ort: 'linux/arm64', koffi: 'linux-arm64', koffiDir: 'linux_arm64' },
  'win32-x64': { ort: 'win32/x64', koffi: 'win32-x64', koffiDir: 'win32_x64' },
  'win32-arm64': { ort: 'win32/arm64', koffi: 'win32-arm64', koffiDir: 'win32_arm64' },
  'darwin-arm64': { ort: 'darwin/arm64', koffi: 'darwin-arm64', koffiDir: 'darwin_arm64' },
};
const t = TARGETS[target];
if (!t) {
  console.error(`Unsupported target ${target}; one of: ${Object.keys(TARGETS).join(', ')}.`);
  process.exit(2);
}

const fail = (message) => {
  console.error(`package: ${message}`);
  process.exit(1);
};

for (const f of ['dist/extension.js', 'dist/sidecar.js', 'dist/engineWorker.js', 'dist/media/chat.js', 'dist/media/chat.css']) {
  if (!fs.existsSync(path.join(root, f))) fail(`${f} is missing: run \`npm run build\` first.`);
}
const ortBin = path.join(root, 'node_modules/onnxruntime-node/bin/napi-v6', t.ort);
if (!fs.existsSync(ortBin)) fail(`onnxruntime-node has no binaries for ${target} (${ortBin}).`);
const koffiVersion = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/koffi/package.json'), 'utf8')).version;
const koffiPackage = path.join(root, 'node_modules/@koromix', `koffi-${t.koffi}`);
if (!fs.existsSync(path.join(koffiPackage, t.koffiDir))) {
  fail(`koffi's binary for ${target} is not installed (${koffiPackage}/${t.koffiDir}). npm installs only the host's; ` +
    `get it with \`npm install --no-save --force @koromix/koffi-${t.koffi}@${koffiVersion}\`.`);
}

// .vscodeignore plus this target's binaries.
const ignoreFile = path.join(os.tmpdir(), `phi-local-vscodeignore-${target}-${process.pid}`);
fs.writeFileSync(ignoreFile, [
  fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8'),
  `# ${target}`,
  `!node_modules/onnxruntime-node/bin/napi-v6/${t.ort}/**`,
  `!node_modules/@koromix/koffi-${t.koffi}/package.json`,
  `!node_modules/@koromix/koffi-${t.koffi}/index.js`,
  `!node_modules/@koromix/koffi-${t.koffi}/LICENSE*`,
  `!node_modules/@koromix/koffi-${t.koffi}/${t.koffiDir}/**`,
  '',
].join('\n'));

const out = path.join(root, `phi-local-${target}.vsix`);
const vsce = path.join(root, 'node_modules/@vscode/vsce/vsce');
try {
  execFileSync(process.execPath, [vsce, 'package', '--target', target, '--ignoreFile', ignoreFile, '--out', out,
    '--allow-missing-repository', '--no-rewrite-relative-links'], { cwd: root, stdio: 'inherit' });
} finally {
  fs.rmSync(ignoreFile, { force: true });
}

// ---- check what is inside ----
const entries = execFileSync('unzip', ['-Z1', out], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n').filter(Boolean);
const must = [
  'extension/package.json', 'extension/LICENSE.txt', 'extension/dist/extension.js', 'extension/dist/sidecar.js', 'extension/dist/engineWorker.js',
  'extension/dist/media/chat.js', 'extension/dist/media/chat.css', 'extension/media/phi.svg',
  'extension/node_modules/onnxruntime-node/dist/index.js', 'extension/node_modules/onnxruntime-common/package.json',
  `extension/node_modules/onnxruntime-node/bin/napi-v6/${t.ort}/onnxruntime_binding.node`,
  'extension/node_modules/koffi/index.cjs', `extension/node_modules/@koromix/koffi-${t.koffi}/${t.koffiDir}/koffi.node`,
];
// Every bundle but the CLI must be listed in .vscodeignore: a new one that is not would be missing from the package.
for (const f of fs.readdirSync(path.join(root, 'dist'))) if (f.endsWith('.js') && f !== 'cli.js') must.push(`extension/dist/${f}`);
for (const f of fs.readdirSync(path.join(root, 'dist', 'media'))) if (/\.(js|css)$/.test(f)) must.push(`extension/dist/media/${f}`);
const missing = [...new Set(must)].filter((m) => !entries.includes(m));
if (missing.length) fail(`the package lacks ${missing.join(', ')}`);
const unwanted = entries.filter((e) =>
  /\.(ts|map)$/.test(e) && !e.endsWith('.d.ts') ||
  /^extension\/(sidecar|extension|test|bench|scripts|models)\//.test(e) ||
  (e.includes('/bin/napi-v6/') && !e.includes(`/bin/napi-v6/${t.ort}/`)) ||
  (e.includes('/@koromix/') && !e.includes(`/@koromix/koffi-${t.koffi}/`)));
if (unwanted.length) fail(`the package holds what it should not:\n  ${unwanted.slice(0, 20).join('\n  ')}`);
const size = fs.statSync(out).size;
console.log(`package: ${path.relative(root, out)}: ${entries.length} files, ${(size / 1024 / 1024).toFixed(1)} MB; contents checked.`);

// ---- start the sidecar from the unpacked package ----
if (smoke) {
  if (target !== `${process.platform}-${process.arch}`) fail(`--smoke runs the ${target} binaries, which this ${process.platform}-${process.arch} machine cannot.`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-local-vsix-'));
  try {
    execFileSync('unzip', ['-q', out, '-d', dir]);
    await smokeTest(path.join(dir, 'extension'));
  } catch (e) {
    fail(`the sidecar from the package failed: ${e?.message ?? e}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function smokeTest(extensionDir) {
  const { createMessageConnection, IPCMessageReader, IPCMessageWriter } = (await import('vscode-jsonrpc/node')).default;
  // The unpacked extension's own modules only: no NODE_PATH, and the project's node_modules is not above it.
  const child = fork(path.join(extensionDir, 'dist', 'sidecar.js'), [], { cwd: extensionDir, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, NODE_PATH: '' } });
  const rpc = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
  rpc.onNotification(() => {});
  rpc.onRequest('window/workDoneProgress/create', () => null);
  rpc.listen();
  const timeout = setTimeout(() => fail('the sidecar from the package did not answer in 120 s.'), 120_000);
  try {
    const init = await rpc.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
    await rpc.sendNotification('initialized', {});
    const status = await rpc.sendRequest('phi/status');
    console.log(`smoke: ${init.serverInfo?.name} answers from the unpacked package (pid ${status.pid}, state ${status.state}).`);
    if (model) {
      const info = await rpc.sendRequest('phi/loadModel', { dir: model, executionProvider: 'cpu' });
      const r = await rpc.sendRequest('phi/chat', { turnId: 'smoke', messages: [{ role: 'user', content: 'Hello' }], maxNewTokens: 8 });
      console.log(`smoke: loaded ${model} on ${info.executionProvider} (${info.backend}); a turn gave ${r.usage.completionTokens} tokens.`);
    }
  } finally {
    clearTimeout(timeout);
    rpc.dispose();
    child.kill();
  }
}
