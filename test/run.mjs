// Runs the given test files, and those under the given folders (default: all of test/), with node's test runner,
// one file at a time, each in a process of its own: the engine tests load models and should not compete for the two
// cores and the memory. Node 20's --test takes no globs, hence this file. At the end it prints each file's time,
// slowest first (so that slow suites show in CI logs), and the test counts of all files together.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['test'];
// test/vscode/ holds mocha suites that run inside a VS Code extension host (test/e2e/extensionHost.test.ts runs
// them in code-server; `npm run test:vscode` in desktop VS Code), not under node's runner.
const extensionHostSuites = path.resolve('test', 'vscode') + path.sep;
const files = roots
  .flatMap((root) => (fs.statSync(root).isFile() ? [root] : fs.readdirSync(root, { recursive: true }).map((f) => path.join(root, String(f)))))
  .filter((f) => f.endsWith('.test.ts') && !path.resolve(f).startsWith(extensionHostSuites))
  .sort();
if (files.length === 0) {
  console.error(`No *.test.ts files under ${roots.join(', ')}.`);
  process.exit(1);
}

/** A second reporter (beside node's usual one) that writes a file's test counts, from the runner's summary, as JSON. */
async function* countTests(source) {
  const counts = {};
  for await (const event of source) {
    const m = event.type === 'test:diagnostic' && /^(tests|pass|fail|cancelled|skipped|todo) (\d+)$/.exec(event.data.message);
    if (m) counts[m[1]] = Number(m[2]);
  }
  yield JSON.stringify(counts);
}
const countReporter = `data:text/javascript,${encodeURIComponent(`export default ${countTests}`)}`;
// Node 20's default reporter, which naming a second one would otherwise replace.
const reporter = process.stdout.isTTY ? 'spec' : 'tap';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-test-run-'));
const results = [];
const started = performance.now();
try {
  for (const [i, file] of files.entries()) {
    const countsFile = path.join(tmp, `${i}.json`);
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [
      '--import', 'tsx', '--test',
      `--test-reporter=${reporter}`, '--test-reporter-destination=stdout',
      `--test-reporter=${countReporter}`, `--test-reporter-destination=${countsFile}`,
      file,
    ], { stdio: 'inherit' });
    let counts = {};
    try {
      counts = JSON.parse(fs.readFileSync(countsFile, 'utf8'));
    } catch {
      // the runner died before its summary
    }
    results.push({ file, seconds: (performance.now() - t0) / 1000, ok: r.status === 0, counts });
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok);
const total = {};
for (const { counts } of results) for (const [k, v] of Object.entries(counts)) total[k] = (total[k] ?? 0) + v;
const seconds = (s) => `${s.toFixed(1)} s`.padStart(9);
console.log(`\nTest files by time, slowest first:`);
for (const r of [...results].sort((a, b) => b.seconds - a.seconds)) console.log(`${seconds(r.seconds)}  ${r.ok ? '    ' : 'FAIL'}  ${r.file}`);
const fileCount = `${results.length} file${results.length === 1 ? '' : 's'}`;
console.log(`${seconds((performance.now() - started) / 1000)}  ${fileCount}, ${failed.length} failed; ` +
  ['tests', 'pass', 'fail', 'cancelled', 'skipped', 'todo'].map((k) => `${k} ${total[k] ?? '?'}`).join(', '));
if (failed.length) console.log(`Failed: ${failed.map((r) => r.file).join(', ')}`);
process.exit(failed.length ? 1 : 0);
