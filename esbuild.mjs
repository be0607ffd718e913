// Bundles the sidecar (an LSP server), its engine worker, the CLI, the VS Code extension and the chat webview into
// dist/. onnxruntime-node and koffi stay external: each is a native module with its own binaries, shipped as a
// dependency (see .vscodeignore and scripts/package.mjs).
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['onnxruntime-node', 'koffi', 'vscode'],
  logLevel: 'info',
};

const builds = [
  { entryPoints: { sidecar: 'sidecar/main.ts' } },
  { entryPoints: { cli: 'sidecar/cli.ts' } }, // keeps the source's #! line
  { entryPoints: { engineWorker: 'sidecar/engine/worker.ts' } },
  // The VS Code extension (runs in the extension host; `vscode` is provided there).
  { entryPoints: { extension: 'extension/main.ts' }, minify: true },
  // The chat webview: a browser bundle and its stylesheet, loaded under a strict CSP (no eval, no inline code).
  {
    entryPoints: [{ in: 'media/chat.ts', out: 'chat' }, { in: 'media/chat.css', out: 'chat' }],
    outdir: 'dist/media',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    external: [],
  },
];

for (const b of builds) {
  const options = { ...common, outdir: 'dist', ...b };
  if (watch) await (await esbuild.context(options)).watch();
  else await esbuild.build(options);
}
