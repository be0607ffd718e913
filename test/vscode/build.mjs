// Bundles the extension-host test suite (test/vscode/index.ts and every suite/*.test.ts, with mocha) into
// dist-test/index.js, a test-electron-style module (`exports.run`) that VS Code loads in the extension host given
// as extensionTestsPath. `vscode` stays external: the extension host provides it.
//   node test/vscode/build.mjs          (the e2e runner and `npm run test:vscode` call it)
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const suiteDir = path.join(here, 'suite');
export const SUITE_BUNDLE = path.join(root, 'dist-test', 'index.js');

/**
 * `import suites from 'phi-local-test-suites'`: every suite/*.test.ts, by file name, each behind a function that
 * require()s it. esbuild then evaluates a suite file only when index.ts asks, after mocha has set up its globals.
 */
const suitesPlugin = {
  name: 'phi-local-test-suites',
  setup(build) {
    build.onResolve({ filter: /^phi-local-test-suites$/ }, () => ({ path: suiteDir, namespace: 'phi-local-test-suites' }));
    build.onLoad({ filter: /.*/, namespace: 'phi-local-test-suites' }, () => {
      const files = fs.readdirSync(suiteDir).filter((f) => f.endsWith('.test.ts')).sort();
      const entries = files.map((f) => `  ${JSON.stringify(f)}: () => require(${JSON.stringify(`./${f}`)}),`);
      return { contents: `export default {\n${entries.join('\n')}\n};\n`, loader: 'js', resolveDir: suiteDir, watchFiles: files.map((f) => path.join(suiteDir, f)), watchDirs: [suiteDir] };
    });
  },
};

export async function buildSuite() {
  await esbuild.build({
    entryPoints: [path.join(here, 'index.ts')],
    outfile: SUITE_BUNDLE,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    external: ['vscode'],
    plugins: [suitesPlugin],
    logLevel: 'warning',
    // mocha's parallel mode (unused here) require.resolve()s its worker files; the bundle never loads them.
    logOverride: { 'require-resolve-not-external': 'silent' },
  });
  return SUITE_BUNDLE;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  await buildSuite();
  console.log(`Built ${path.relative(root, SUITE_BUNDLE)} in ${Date.now() - started} ms.`);
}
