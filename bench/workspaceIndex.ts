// npx tsx bench/workspaceIndex.ts [folder]   (default: this repository; node --expose-gc --import tsx … for the heap figure)
// The @workspace index (extension/workspaceIndex/, the same pure code the extension runs) built over a folder with
// node:fs: the folder's root .gitignore and the always-left-out folders (.git, node_modules) apply, as in the
// extension (which adds files.exclude). Prints the files and chunks indexed, the bytes of text, the build time, the
// index's size (MiniSearch's serialized JSON), and the median time of 20 questions with the context block built.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildIndex, type IndexFs } from '../extension/workspaceIndex/indexBuilder';
import { IgnoreRules } from '../extension/workspaceIndex/ignoreRules';
import { WorkspaceSearchIndex } from '../extension/workspaceIndex/searchIndex';
import { pickExcerpts, workspacePrompt } from '../extension/workspaceIndex/workspaceContext';
import { median } from './median';

const QUESTIONS = [
  'where is the chat turn run', 'how are tool calls parsed', 'where is the KV cache allocated', 'how does the sidecar restart after a crash',
  'where is the model downloaded', 'how is the prompt trimmed to fit the context', 'what does the scheduler do with completions',
  'where are the settings defaults', 'how is consent asked for a tool', 'where is the status bar updated',
  'how is the chat template rendered', 'where are inline completions cached', 'how is speculative decoding done',
  'what does the doctor check', 'where is the OpenAI compatible server', 'how are conversations stored on disk',
  'where is the tokenizer loaded', 'how does sampling with temperature work', 'how is the webview message parsed', 'where is the git commit message prompt built',
];

function nodeFs(root: string): IndexFs {
  return {
    async readDir(rel) {
      const entries = await fs.promises.readdir(path.join(root, rel), { withFileTypes: true });
      return entries.map((e) => ({ name: e.name, kind: e.isSymbolicLink() ? 'other' : e.isDirectory() ? 'dir' : e.isFile() ? 'file' : 'other' }));
    },
    async readFile(rel, maxBytes) {
      try {
        const p = path.join(root, rel);
        if ((await fs.promises.stat(p)).size > maxBytes) return 'too-large';
        return await fs.promises.readFile(p);
      } catch {
        return undefined;
      }
    },
  };
}

async function main(): Promise<void> {
  const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
  const gitignore = fs.existsSync(path.join(root, '.gitignore')) ? fs.readFileSync(path.join(root, '.gitignore'), 'utf8') : '';
  const rules = new IgnoreRules({ gitignore });
  const index = new WorkspaceSearchIndex();
  (globalThis as { gc?: () => void }).gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const report = await buildIndex(index, nodeFs(root), rules);
  const buildMs = performance.now() - t0;
  (globalThis as { gc?: () => void }).gc?.();
  const heapIndex = process.memoryUsage().heapUsed - heapBefore;
  const stats = index.stats();
  const size = Buffer.byteLength(index.serialize());
  const times: number[] = [];
  for (const q of QUESTIONS) {
    const t = performance.now();
    const excerpts = pickExcerpts(index.query(q));
    workspacePrompt(q, excerpts);
    times.push(performance.now() - t);
  }
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MB`;
  console.log(`folder           ${root}`);
  console.log(`files            ${stats.files} indexed (left out: ${JSON.stringify(report.refused)}${report.truncated ? ', stopped at the file bound' : ''})`);
  console.log(`chunks           ${stats.chunks}`);
  console.log(`bytes            ${stats.bytes} (${mb(stats.bytes)})`);
  console.log(`build            ${buildMs.toFixed(0)} ms`);
  console.log(`index size       ${size} bytes (${mb(size)}) serialized JSON`);
  console.log(`query            median ${median(times).toFixed(2)} ms over ${times.length} questions (max ${Math.max(...times).toFixed(2)} ms)`);
  console.log(`heap             +${mb(heapIndex)} for the index and its chunks${(globalThis as { gc?: unknown }).gc ? '' : ' (without a gc: run with node --expose-gc --import tsx for a tighter figure)'}`);
  const top = index.query(QUESTIONS[0], 3).map((h) => `${h.chunk.path}:${h.chunk.startLine}${h.chunk.symbol ? ` (${h.chunk.symbol})` : ''}`);
  console.log(`"${QUESTIONS[0]}" → ${top.join(', ')}`);
}

void main();
