// The @workspace index (extension/workspaceIndex/): chunking at declarations and in overlapping windows, the ignore
// rules (.gitignore patterns, files.exclude-like globs, the folders always left out), BM25 ranking that finds the
// right chunk for a question, the size bounds, updates when a file changes or goes, and the context block with its
// citations and the answer's Sources.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkFile, declarationAt } from '../../extension/workspaceIndex/chunker';
import { enabledGlobs, globToRegExp, IgnoreRules } from '../../extension/workspaceIndex/ignoreRules';
import { buildIndex, type IndexFs } from '../../extension/workspaceIndex/indexBuilder';
import { looksBinary, processTerm, WorkspaceSearchIndex } from '../../extension/workspaceIndex/searchIndex';
import { parseFromWebview } from '../../extension/chat/webviewProtocol';
import {
  answerSources, parseWorkspaceQuestion, pickExcerpts, toSources, workspacePrompt,
} from '../../extension/workspaceIndex/workspaceContext';

const lines = (n: number, prefix = 'line') => Array.from({ length: n }, (_, i) => `  ${prefix} ${i + 1};`).join('\n');

/** A file system over a map of paths to texts (folders implied by the paths). */
function memoryFs(files: Record<string, string | Uint8Array>): IndexFs {
  return {
    async readDir(rel) {
      const prefix = rel ? `${rel}/` : '';
      const names = new Map<string, 'file' | 'dir'>();
      for (const p of Object.keys(files)) {
        if (!p.startsWith(prefix)) continue;
        const rest = p.slice(prefix.length).split('/');
        names.set(rest[0], rest.length > 1 ? 'dir' : 'file');
      }
      return [...names].map(([name, kind]) => ({ name, kind }));
    },
    async readFile(rel, maxBytes) {
      const f = files[rel];
      if (f === undefined) return undefined;
      const bytes = typeof f === 'string' ? new TextEncoder().encode(f) : f;
      return bytes.length > maxBytes ? 'too-large' : bytes;
    },
  };
}

describe('workspace index: chunking', () => {
  it('finds top-level declarations and their names', () => {
    assert.equal(declarationAt('export async function computeTax(order: Order) {'), 'computeTax');
    assert.equal(declarationAt('export default class Cart {'), 'Cart');
    assert.equal(declarationAt('def total_price(items):'), 'total_price');
    assert.equal(declarationAt('func (c *Cart) Total() int {'), 'Total');
    assert.equal(declarationAt('pub fn parse(input: &str) -> Ast {'), 'parse');
    assert.equal(declarationAt('public static class Program {'), 'Program');
    assert.equal(declarationAt('  return computeTax(order);'), undefined, 'indented: not top level');
    assert.equal(declarationAt('}'), undefined);
  });

  it('cuts a file at its declarations, merging small ones, with 1-based inclusive lines', () => {
    const text = [
      "import { a } from './a';", // 1
      '',
      'export function first() {', // 3
      lines(10),
      '}', // 14
      'export function second() {', // 15
      lines(10),
      '}', // 26
    ].join('\n');
    const chunks = chunkFile('src/x.ts', text);
    // The 2-line import section is merged into first().
    assert.deepEqual(chunks.map((c) => [c.startLine, c.endLine, c.symbol]), [[1, 14, 'first'], [15, 26, 'second']]);
    assert.ok(chunks[1].text.startsWith('export function second() {'));
    assert.ok(chunks[1].text.endsWith('}'));
  });

  it('cuts a long declaration (or a file without any) into 40-line windows overlapping by 10', () => {
    const chunks = chunkFile('notes.txt', lines(100));
    assert.deepEqual(chunks.map((c) => [c.startLine, c.endLine]), [[1, 40], [31, 70], [61, 100]]);
    assert.equal(chunks[1].text.split('\n')[0], '  line 31;');
    const small = chunkFile('a.ts', lines(100), { maxLines: 20, overlap: 5 });
    assert.equal(small[1].startLine, 16);
    assert.deepEqual(chunkFile('empty.ts', '\n\n  \n'), []);
  });

  it('splits markdown at its headings', () => {
    const md = `# Title\nintro\n${lines(8)}\n## Install\n${lines(8)}\n## Usage\n${lines(8)}\n`;
    assert.deepEqual(chunkFile('README.md', md).map((c) => c.symbol), ['Title', 'Install', 'Usage']);
  });
});

describe('workspace index: what is left out', () => {
  it('reads .gitignore patterns: names anywhere, anchored paths, folders only, negation, ** and classes', () => {
    const rules = new IgnoreRules({
      gitignore: [
        '# comment', '', 'node_modules/', '/dist', '*.log', '!keep.log', 'build/', 'docs/**/*.tmp', 'cache-[0-9]', 'out/', '!out/keep.txt',
        'secret\\#1', 'src/generated/',
      ].join('\n'),
    });
    assert.ok(rules.ignores('node_modules/x/index.js'));
    assert.ok(rules.ignores('packages/a/node_modules/y.js'), 'a name without a slash matches at any depth');
    assert.ok(rules.ignores('dist/extension.js'));
    assert.ok(!rules.ignores('src/dist/notes.ts'), '/dist is anchored to the root');
    assert.ok(rules.ignores('server.log'));
    assert.ok(rules.ignores('logs/deep/server.log'));
    assert.ok(!rules.ignores('keep.log'), 'negated');
    assert.ok(rules.ignores('a/build/out.js'));
    assert.ok(!rules.ignores('build'), 'build/ matches folders only');
    assert.ok(rules.ignores('build', true));
    assert.ok(rules.ignores('docs/a/b/c.tmp'));
    assert.ok(rules.ignores('docs/c.tmp'), '**/ matches zero folders too');
    assert.ok(!rules.ignores('docs/c.md'));
    assert.ok(rules.ignores('cache-7/x'));
    assert.ok(!rules.ignores('cache-x/x'));
    assert.ok(rules.ignores('out/keep.txt'), 'a file in an ignored folder stays ignored, as in git');
    assert.ok(rules.ignores('secret#1'), 'an escaped #');
    assert.ok(rules.ignores('src/generated/api.ts'));
    assert.ok(!rules.ignores('src/generators/api.ts'));
    assert.ok(!rules.ignores('src/main.ts'));
  });

  it('reads nested .gitignore files relative to their folder, the deeper one winning', () => {
    const rules = new IgnoreRules({ gitignore: [{ text: '*.gen.ts\n', base: '' }, { text: '!keep.gen.ts\n/local\n', base: 'pkg' }] });
    assert.ok(rules.ignores('a.gen.ts'));
    assert.ok(!rules.ignores('pkg/keep.gen.ts'));
    assert.ok(rules.ignores('pkg/local/x.ts'));
    assert.ok(!rules.ignores('local/x.ts'), "pkg's /local is anchored to pkg");
  });

  it('matches files.exclude-like globs (their folders too), and always leaves out .git and node_modules', () => {
    assert.deepEqual(enabledGlobs({ '**/.DS_Store': true, '**/*.js': { when: '$(basename).ts' }, '**/tmp': false, 'out/**': true }), ['**/.DS_Store', 'out/**']);
    assert.ok(globToRegExp('**/*.{js,map}').test('a/b/c.map'));
    assert.ok(!globToRegExp('**/*.{js,map}').test('a/b/c.ts'));
    assert.ok(globToRegExp('*.txt').test('a.txt'));
    assert.ok(!globToRegExp('*.txt').test('a/b.txt'), '* stays in one folder');
    const rules = new IgnoreRules({ excludeGlobs: ['**/.DS_Store', '**/coverage', 'out/**', 'secrets/*.env'] });
    assert.ok(rules.ignores('a/.DS_Store'));
    assert.ok(rules.ignores('packages/x/coverage/lcov.info'), 'a glob that matches a folder leaves out its files');
    assert.ok(rules.ignores('out/main.js'));
    assert.ok(rules.ignores('secrets/prod.env'));
    assert.ok(!rules.ignores('secrets/readme.md'));
    assert.ok(rules.ignores('.git/config'));
    assert.ok(rules.ignores('web/node_modules/react/index.js'));
    assert.ok(!rules.ignores('src/index.ts'));
  });

  it('the build never lists what the rules leave out, skips binaries by name and by content', async () => {
    const fs = memoryFs({
      '.gitignore': 'dist/\n*.log\n',
      'src/a.ts': 'export const a = 1;\n',
      'dist/a.js': 'var a = 1;\n',
      'node_modules/x/index.js': 'module.exports = 1;\n',
      'debug.log': 'noise\n',
      'logo.png': 'not really a png\n',
      'data.bin2': new Uint8Array([1, 2, 0, 3]),
      'package-lock.json': '{}\n',
    });
    const index = new WorkspaceSearchIndex();
    const report = await buildIndex(index, fs, new IgnoreRules({ gitignore: 'dist/\n*.log\n' }));
    assert.deepEqual([...['src/a.ts', '.gitignore', 'dist/a.js', 'debug.log', 'logo.png', 'data.bin2', 'node_modules/x/index.js', 'package-lock.json']].filter((p) => index.has(p)), ['src/a.ts', '.gitignore']);
    assert.equal(report.refused.binary, 1, 'the NUL byte');
    assert.ok(looksBinary(new Uint8Array([65, 0])));
    assert.ok(!looksBinary(new TextEncoder().encode('plain')));
  });
});

describe('workspace index: ranking', () => {
  const files = {
    'src/tax.ts': `import { Order } from './order';\n\n/** VAT by country. */\nconst RATES = { fr: 0.2, de: 0.19 };\n\nexport function computeShippingTax(order: Order): number {\n  const rate = RATES[order.country] ?? 0;\n  return order.shipping * rate;\n}\n`,
    'src/cart.ts': `export class Cart {\n  items: Item[] = [];\n  add(item: Item) {\n    this.items.push(item);\n  }\n  total(): number {\n    return this.items.reduce((s, i) => s + i.price, 0);\n  }\n}\n`,
    'src/user.ts': `export interface User {\n  id: string;\n  email: string;\n}\n\nexport function validateEmail(email: string): boolean {\n  return /@/.test(email);\n}\n`,
    'README.md': '# Shop\n\nA small shop: a cart, users and taxes.\n',
  };

  it('splits identifiers into words and stems them, so questions in words find code', () => {
    assert.deepEqual(processTerm('computeShippingTax'), ['computeshippingtax', 'comput', 'shipp', 'tax']);
    assert.deepEqual(processTerm('total_price'), ['total_pric', 'total', 'pric']);
    assert.deepEqual(processTerm('the'), []);
  });

  it('finds the right chunk for a question', async () => {
    const index = new WorkspaceSearchIndex();
    await buildIndex(index, memoryFs(files), new IgnoreRules());
    const top = (q: string) => index.query(q)[0]?.chunk;
    assert.equal(top('where is the shipping tax computed?')?.path, 'src/tax.ts');
    assert.equal(top('where is the shipping tax computed?')?.symbol, 'RATES');
    assert.equal(top('how is the cart total added up')?.path, 'src/cart.ts');
    assert.equal(top('email validation')?.path, 'src/user.ts');
    assert.deepEqual(index.query('zzyzx nothing like this'), []);
  });

  it('keeps to its bounds: files, bytes per file, bytes in all; refuses minified text', () => {
    const index = new WorkspaceSearchIndex({ maxFiles: 2, maxFileBytes: 80, maxTotalBytes: 90 });
    assert.equal(index.setFile('a.ts', 'export const a = 1;\n'), undefined); // 20 characters
    assert.equal(index.setFile('big.ts', 'x'.repeat(81)), 'too-large');
    assert.equal(index.setFile('b.ts', `export const b = "${'b'.repeat(40)}";\n`), undefined); // 61: 81 in all
    assert.equal(index.setFile('c.ts', 'export const c = 3;\n'), 'max-files');
    assert.equal(index.setFile('b.ts', `export const b = "${'b'.repeat(61)}"`), 'max-total-bytes', 'a bigger copy (80) past the total');
    assert.equal(index.has('b.ts'), false, 'and its old copy is gone');
    assert.equal(index.stats().files, 1);
    assert.equal(index.stats().bytes, 20);
    const roomy = new WorkspaceSearchIndex();
    assert.equal(roomy.setFile('min.js', `${'var a=1;'.repeat(400)}\n`), 'minified');
  });

  it('follows changes: a file written again is re-indexed, a deleted file (or folder) is gone', () => {
    const index = new WorkspaceSearchIndex();
    index.setFile('src/a.ts', 'export function zebraCounter() {\n  return 1;\n}\n');
    index.setFile('src/deep/b.ts', 'export function walrusThing() {}\n');
    assert.equal(index.query('zebraCounter')[0]?.chunk.path, 'src/a.ts');
    index.setFile('src/a.ts', 'export function quokkaTotal() {\n  return 2;\n}\n');
    assert.deepEqual(index.query('zebraCounter'), []);
    assert.equal(index.query('quokkaTotal')[0]?.chunk.path, 'src/a.ts');
    assert.equal(index.stats().chunks, 2);
    assert.equal(index.query('walrusThing')[0]?.chunk.path, 'src/deep/b.ts');
    index.removeFile('src/deep', true);
    assert.deepEqual(index.query('walrusThing'), []);
    index.removeFile('src/a.ts');
    assert.deepEqual(index.stats(), { files: 0, chunks: 0, bytes: 0 });
    assert.ok(index.serialize().length > 0);
  });
});

describe('workspace index: the @workspace prompt and its Sources', () => {
  it('reads @workspace only at the start of the message', () => {
    assert.equal(parseWorkspaceQuestion('@workspace where is X computed?'), 'where is X computed?');
    assert.equal(parseWorkspaceQuestion('  @workspace\nmulti\nline'), 'multi\nline');
    assert.equal(parseWorkspaceQuestion('@workspace'), '');
    assert.equal(parseWorkspaceQuestion('tell @workspace about it'), undefined);
    assert.equal(parseWorkspaceQuestion('@workspaces are nice'), undefined);
  });

  it('puts the best chunks within the token budget, named path:lines, and asks for path:line citations', () => {
    const chunk = (path: string, start: number, n: number) => ({ path, startLine: start, endLine: start + n - 1, text: lines(n, path) });
    const hits = [chunk('a.ts', 1, 40), chunk('a.ts', 31, 40), chunk('b.ts', 5, 40), chunk('c.ts', 1, 10)].map((c, i) => ({ chunk: c, score: 10 - i }));
    const all = pickExcerpts(hits, 1500);
    assert.deepEqual(all.map((c) => `${c.path}:${c.startLine}`), ['a.ts:1', 'b.ts:5', 'c.ts:1'], 'the overlapping window of a.ts is left out');
    const tight = pickExcerpts(hits, 200); // 800 characters: a 40-line excerpt takes ~460, a 10-line one ~130
    assert.ok(tight.reduce((n, c) => n + c.text.length, 0) <= 800);
    assert.deepEqual(tight.map((c) => c.path), ['a.ts', 'c.ts'], 'past the budget a smaller one still fits');
    const cut = pickExcerpts(hits.slice(0, 1), 50);
    assert.equal(cut.length, 1);
    assert.ok(cut[0].endLine < 40 && cut[0].text.length <= 200, 'the best, cut to fit');

    const prompt = workspacePrompt('where is X?', all);
    assert.match(prompt, /^a\.ts:1-40\n```typescript\n {2}a\.ts 1;/m);
    assert.match(prompt, /cite it as `path:line`/);
    assert.ok(prompt.endsWith('Question: where is X?'));
    assert.match(workspacePrompt('where is X?', []), /found nothing/);
  });

  it('lists the Sources with the cited ones first, opening at the cited line when it is inside the excerpt', () => {
    const sources = toSources([
      { path: 'src/cart.ts', startLine: 1, endLine: 9, text: '', symbol: 'Cart' },
      { path: 'src/tax.ts', startLine: 3, endLine: 9, text: '' },
    ]);
    const links = answerSources(sources, 'The tax is computed in `src/tax.ts:6` by computeShippingTax.');
    assert.deepEqual(links.map((l) => [l.path, l.line, l.cited]), [['src/tax.ts', 6, true], ['src/cart.ts', 1, false]]);
    assert.equal(links[1].label, 'src/cart.ts:1 (Cart)');
    // A bare file name cites the excerpt (its link opens at its start); a line outside it cites another part of the file.
    assert.deepEqual(answerSources(sources, 'See tax.ts.').map((l) => [l.path, l.line, l.cited]), [['src/tax.ts', 3, true], ['src/cart.ts', 1, false]]);
    assert.deepEqual(answerSources(sources, 'See src/tax.ts:99 and cart.ts line 4.').map((l) => [l.path, l.line, l.cited]), [['src/cart.ts', 4, true], ['src/tax.ts', 3, false]]);
    assert.deepEqual(answerSources(sources, 'See src/tax.tsx:5 and mycart.ts.').map((l) => l.cited), [false, false], 'other files');
    assert.deepEqual(answerSources(sources, 'No idea.').map((l) => l.cited), [false, false]);
  });

  it('takes a Sources link click from the webview only as a message id and a whole, non-negative index', () => {
    assert.deepEqual(parseFromWebview({ type: 'openSource', messageId: 'm1', index: 2 }), { type: 'openSource', messageId: 'm1', index: 2 });
    assert.equal(parseFromWebview({ type: 'openSource', messageId: 'm1', index: -1 }), undefined);
    assert.equal(parseFromWebview({ type: 'openSource', messageId: 'm1', index: 1.5 }), undefined);
    assert.equal(parseFromWebview({ type: 'openSource', messageId: 'm1', index: '0' }), undefined);
    assert.equal(parseFromWebview({ type: 'openSource', index: 0 }), undefined);
  });
});
