// Copies of xgrammar (`@mlc-ai/web-xgrammar`). The package makes its WebAssembly instance once per evaluation of its
// script (a module-level `binding`), and a trap in that instance ("memory access out of bounds", from a stack
// overflow) leaves it unusable: every later call traps too, on a new compiler and new token tables as well (seen with
// 0.1.27). Carrying on after one needs a new copy of the script, hence `freshXGrammar`.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type * as XGrammar from '@mlc-ai/web-xgrammar';

export type XGrammarModule = typeof XGrammar;

/**
 * The copy that `require` gives (1 MB of JavaScript with the wasm inlined, loaded on first use). `require`, not
 * `import()`: the package's file is a UMD script in a "type": "module" package, which Node's ESM loader refuses;
 * esbuild bundles it as CommonJS.
 */
export const loadXGrammar = (): XGrammarModule => require('@mlc-ai/web-xgrammar');

/**
 * A new copy of xgrammar, with a WebAssembly instance of its own; undefined when none can be made here.
 *
 * - A bundle may carry a `fresh()` beside the package's exports, which evaluates the bundled script once more
 *   (esbuild.mjs's umd-as-commonjs plugin, when it wraps the script so).
 * - Otherwise the package's file, where Node finds it (from source, in tests and benchmarks, or a bundle inside the
 *   repository), is evaluated once more as the CommonJS module it is. `new Function` rather than `vm`: the script
 *   calls `import('module')`, which code compiled by `vm` may not do without an import callback.
 */
export function freshXGrammar(): XGrammarModule | undefined {
  const shared = loadXGrammar() as XGrammarModule & { fresh?: () => XGrammarModule };
  if (typeof shared.fresh === 'function') return shared.fresh();
  let file: string;
  try {
    file = require.resolve('@mlc-ai/web-xgrammar');
  } catch {
    return undefined; // a packaged bundle: the package's file is not shipped
  }
  const module = { exports: {} as XGrammarModule };
  const evaluate = new Function('exports', 'require', 'module', '__filename', '__dirname', fs.readFileSync(file, 'utf8'));
  evaluate.call(globalThis, module.exports, createRequire(file), module, file, path.dirname(file));
  return module.exports;
}
