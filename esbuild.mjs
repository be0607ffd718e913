// Bundles the sidecar (an LSP server), its engine worker and the CLI into dist/. onnxruntime-node stays external: it is a
// native module with its own binaries, shipped as a dependency.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['onnxruntime-node', 'vscode'],
  logLevel: 'info',
};

const builds = [
  { entryPoints: { sidecar: 'sidecar/main.ts' } },
  { entryPoints: { cli: 'sidecar/cli.ts' } }, // keeps the source's #! line
  { entryPoints: { engineWorker: 'sidecar/engine/worker.ts' } },
];

for (const b of builds) {
  const options = { ...common, ...b, outdir: 'dist' };
  if (watch) await (await esbuild.context(options)).watch();
  else await esbuild.build(options);
}
