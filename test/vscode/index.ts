// The extension-host test suite's entry (test-electron style): VS Code loads the bundle of this file
// (dist-test/index.js, made by build.mjs) as extensionTestsPath and calls run() in the extension host, with the
// extension under test loaded from extensionDevelopmentPath. run() settling ends the test session: resolved is
// exit code 0, rejected 1. Two runners use it: test/e2e/extensionHost.test.ts (code-server, in `npm test`) and
// runElectron.ts (`npm run test:vscode`, a downloaded desktop VS Code).
//
// The suites are mocha (bdd), bundled with it. They need the tiny model: PHI_LOCAL_MODEL (the runners set it).
// PHI_VSCODE_GREP runs only the tests whose title matches.
import Mocha from 'mocha';
import suites from 'phi-local-test-suites';

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', reporter: 'spec', color: false, timeout: 60_000, slow: 5_000 });
  if (process.env.PHI_VSCODE_GREP) mocha.grep(process.env.PHI_VSCODE_GREP);
  // What Mocha#loadFiles does for each file, with the files already bundled.
  for (const [file, load] of Object.entries(suites)) {
    mocha.suite.emit('pre-require', globalThis, file, mocha);
    mocha.suite.emit('require', load(), file, mocha);
    mocha.suite.emit('post-require', globalThis, file, mocha);
  }
  const started = Date.now();
  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  console.log(`Extension-host tests: ${failures === 0 ? 'all passed' : `${failures} failed`} in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  if (failures > 0) throw new Error(`${failures} extension-host test${failures === 1 ? '' : 's'} failed.`);
}
