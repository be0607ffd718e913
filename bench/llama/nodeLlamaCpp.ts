// node-llama-cpp (llama.cpp's prebuilt builds for Node), the peer of `npm run bench -- --vs llama.cpp` (../llamaRun.ts)
// and of test/fixtures/generateGguf.test.ts: a package of its own in this folder, pinned by its own lockfile, and
// installed here on first use. In the project's devDependencies, every `npm ci` would fetch its optional builds for
// every platform and GPU (CUDA, Vulkan, arm: ~680 MB) although one CPU build is all these two use.
//
// The install: `npm ci --omit=optional` (node-llama-cpp and its dependencies, no platform build), then the one
// platform build for this machine at the lockfile's version, without saving it. Install scripts are skipped: the
// only one, node-llama-cpp's postinstall, would download or compile llama.cpp where the prebuilt build does not load
// (`config.nodeLlamaCppPostinstall: skip` in ./package.json says the same to an `npm ci` run here by hand).
//
// The package's own types are not installed when `npm run typecheck` runs (CI checks types before any test), so the
// part of its API used here is declared below; the tests that load it check it against the real thing.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const HERE = __dirname;

interface LockEntry { version: string; optional?: boolean }
interface Lockfile { packages: Record<string, LockEntry | undefined> }

export interface GgufFileInfo {
  metadata: { general: { architecture: string }; tokenizer?: { ggml?: { tokens?: readonly string[] } } } & Record<string, unknown>;
  fullTensorInfo?: readonly { name: string; dimensions: readonly (number | bigint)[] }[];
}

export interface LlamaContext {
  readonly batchSize: number;
  readonly flashAttention: 'auto' | boolean;
  /** A GgmlType. */
  readonly kvCacheKeyType: number;
  getSequence(): { evaluate(tokens: number[], options?: { temperature?: number }): AsyncIterable<number> };
  dispose(): Promise<void>;
}

export interface LlamaModel {
  readonly fileInfo: GgufFileInfo;
  readonly fileInsights: { readonly totalLayers: number };
  readonly trainContextSize: number;
  createContext(options: { contextSize: number; threads?: number | { ideal: number; min: number }; sequences?: number }): Promise<LlamaContext>;
  dispose(): Promise<void>;
}

export interface Llama {
  readonly buildType: 'localBuild' | 'prebuilt';
  readonly llamaCppRelease: { readonly repo: string; readonly release: string };
  loadModel(options: { modelPath: string; gpuLayers?: number }): Promise<LlamaModel>;
  dispose(): Promise<void>;
}

type LogLevel = 'disabled' | 'fatal' | 'error' | 'warn' | 'info' | 'log' | 'debug';

/** The part of node-llama-cpp 3.21's exports that the benchmark and the GGUF test use. */
export interface NodeLlamaCpp {
  getLlama(options: { gpu: false; build: 'never'; maxThreads?: number; logLevel?: LogLevel; progressLogs?: boolean }): Promise<Llama>;
  getModuleVersion(): Promise<string>;
  readGgufFileInfo(file: string): Promise<GgufFileInfo>;
  LlamaLogLevel: { readonly [L in LogLevel]: L };
  /** The tensor types: number to name (a TypeScript enum). */
  GgmlType: Readonly<Record<number, string>>;
}

function lockfile(): Lockfile {
  return JSON.parse(fs.readFileSync(path.join(HERE, 'package-lock.json'), 'utf8')) as Lockfile;
}

/** node-llama-cpp's package of prebuilt binaries for this platform's CPU (as its own loader picks it). */
function platformPackage(lock: Lockfile): string {
  const os = ({ linux: 'linux', darwin: 'mac', win32: 'win' } as Record<string, string>)[process.platform];
  const arch = process.arch === 'arm' ? 'armv7l' : process.arch;
  const name = `@node-llama-cpp/${os}-${arch}${os === 'mac' && arch === 'arm64' ? '-metal' : ''}`;
  if (!os || !lock.packages[`node_modules/${name}`]) {
    throw new Error(`node-llama-cpp has no prebuilt build for ${process.platform}-${process.arch} (no ${name} in bench/llama/package-lock.json)`);
  }
  return name;
}

function installedVersion(name: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function npm(args: string[]): void {
  // Under `npm run` / `npm test`, the npm that runs us; else the one on the PATH.
  const cli = process.env.npm_execpath;
  const [command, argv] = cli && /npm-cli\.c?js$/.test(cli) ? [process.execPath, [cli, ...args]] : ['npm', args];
  // npm's output goes to stderr: a benchmark run's stdout is its JSON result.
  const r = spawnSync(command, argv, { cwd: HERE, stdio: ['ignore', 2, 2], shell: command === 'npm' && process.platform === 'win32' });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} in bench/llama failed (${r.error?.message ?? `exit status ${r.status ?? r.signal}`})`);
}

/** Installs node-llama-cpp and this machine's build into bench/llama/node_modules unless the lockfile's versions are there. */
export function ensureNodeLlamaCpp(): void {
  const lock = lockfile();
  const platform = platformPackage(lock);
  const wanted = ['node-llama-cpp', platform].map((name) => ({ name, version: lock.packages[`node_modules/${name}`]!.version }));
  if (wanted.every((w) => installedVersion(w.name) === w.version)) return;
  process.stderr.write(`bench/llama: installing node-llama-cpp ${wanted[0].version} and ${platform} (first use; from bench/llama/package-lock.json)\n`);
  const quiet = ['--ignore-scripts', '--no-audit', '--no-fund'];
  npm(['ci', '--omit=optional', ...quiet]);
  npm(['install', '--no-save', '--omit=optional', ...quiet, `${platform}@${wanted[1].version}`]);
  for (const w of wanted) {
    if (installedVersion(w.name) !== w.version) throw new Error(`bench/llama: ${w.name}@${w.version} is not in node_modules after the install`);
  }
}

/** node-llama-cpp (an ES module), installed first if it is not. */
export async function loadNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  ensureNodeLlamaCpp();
  // Resolved from this folder (bench/llama/node_modules); a specifier TypeScript does not follow (see the top).
  const specifier: string = 'node-llama-cpp';
  return (await import(specifier)) as NodeLlamaCpp;
}
