// Bundles the sidecar (an LSP server), its engine worker, the CLI, the VS Code extension and the chat webview into
// dist/. onnxruntime-node and koffi stay external: each is a native module with its own binaries, shipped as a
// dependency (see .vscodeignore and scripts/package.mjs).
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const watch = process.argv.includes('--watch');

// @mlc-ai/web-xgrammar ships a UMD script (CommonJS when `module` exists) inside a "type": "module" package; bundled
// as ESM, its exports would land on the bundle's own. Loaded from outside the package, it is bundled as CommonJS.
const umdAsCommonJs = {
  name: 'umd-as-commonjs',
  setup(build) {
    build.onResolve({ filter: /^@mlc-ai\/web-xgrammar$/ }, (args) => {
      const file = createRequire(path.join(args.resolveDir, 'x.js')).resolve(args.path);
      return { path: path.relative(process.cwd(), file), namespace: 'umd-as-commonjs', pluginData: { file } };
    });
    build.onLoad({ filter: /.*/, namespace: 'umd-as-commonjs' }, (args) => ({
      contents: fs.readFileSync(args.pluginData.file, 'utf8'), loader: 'js', resolveDir: path.dirname(args.pluginData.file),
    }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['onnxruntime-node', 'koffi', 'vscode'],
  plugins: [umdAsCommonJs],
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
