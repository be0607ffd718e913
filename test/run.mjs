// Runs the given test files, and those under the given folders (default: all of test/), with node's test runner,
// one file at a time: the engine tests load models and should not compete for the two cores and the memory.
// Node 20's --test takes no globs, hence this file.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
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
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
