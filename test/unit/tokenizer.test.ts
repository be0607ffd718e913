// PhiTokenizer against an independent implementation of o200k_base (js-tiktoken) on real files, plus the Phi-4
// added tokens and the streaming detokenizer.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { isAscii } from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import o200k_base from 'js-tiktoken/ranks/o200k_base';
import { PhiTokenizer } from '../../sidecar/prompt/tokenizer';
import { buildPhi4TokenizerFiles, PHI4_ADDED_TOKENS } from '../fixtures/phi4Tokenizer';

// Loaded once for the whole file (about 1.5 s each).
const { tokenizerJson, tokenizerConfig } = buildPhi4TokenizerFiles();
const tok = new PhiTokenizer(tokenizerJson, tokenizerConfig);

// The reference: js-tiktoken's o200k_base, with the Phi-4 added tokens as extra special tokens (so the text between
// them is encoded as plain o200k), and one fix. js-tiktoken runs OpenAI's pattern as a JS RegExp, where `\s` means
// JS whitespace: it adds U+FEFF and lacks U+0085 (NEL). Real tiktoken (Rust regex) and Hugging Face tokenizers
// (Oniguruma; @huggingface/tokenizers rewrites `\s` to `\p{White_Space}`) use Unicode White_Space, so the reference
// does too; the NEL test below shows where that matters.
const WHITE_SPACE_PATTERN = o200k_base.pat_str.replace(/\\s/g, '\\p{White_Space}').replace(/\\S/g, '\\P{White_Space}');
const addedAsSpecial = Object.fromEntries(PHI4_ADDED_TOKENS.map((t) => [t.content, t.id]));
const reference = new Tiktoken({ ...o200k_base, pat_str: WHITE_SPACE_PATTERN }, addedAsSpecial);
const referenceEncode = (text: string): number[] => reference.encode(text, 'all');
const plainO200k = (text: string): number[] => reference.encode(text, [], []);

const U_FFFD = '\uFFFD';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function firstDifference(a: readonly number[], b: readonly number[]): string | undefined {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      const ctx = (x: readonly number[]) => JSON.stringify(tok.decode(x.slice(Math.max(0, i - 3), i + 3)));
      return `first difference at token ${i}: ours ${a[i]} ${ctx(a)} vs reference ${b[i]} ${ctx(b)}`;
    }
  }
  return undefined;
}

/** Text as the stream decoder gives it, one id at a time; also returns the single pieces. */
function streamDecode(ids: readonly number[]): { text: string; pieces: string[] } {
  const decoder = tok.createStreamDecoder();
  const pieces = ids.map((id) => decoder.push(id));
  pieces.push(decoder.flush());
  return { text: pieces.join(''), pieces };
}

// ---------------------------------------------------------------------------------------------------------------
// Real files from node_modules, picked deterministically: source and text files of at most 64 KiB, round-robin over
// the packages (sorted by path) so that every package contributes, plus files with non-ASCII text spread over the
// sorted list of such files.

const ROOT = path.resolve(__dirname, '../../node_modules');
const EXTENSIONS = new Set(['.js', '.ts', '.md', '.json', '.txt']);
const MAX_BYTES = 64 * 1024;
const MIN_BYTES = 64;

function listCandidateFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) { if (entry.name !== '.bin' && entry.name !== '.cache') walk(p); }
      else if (entry.isFile() && EXTENSIONS.has(path.extname(entry.name))) {
        const size = fs.statSync(p).size;
        if (size >= MIN_BYTES && size <= MAX_BYTES) out.push(p);
      }
    }
  };
  walk(ROOT);
  return out;
}

function packageOf(file: string): string {
  const rel = path.relative(ROOT, file).split(path.sep);
  const last = rel.lastIndexOf('node_modules');
  const i = last + 1;
  return rel.slice(0, i + (rel[i]?.startsWith('@') ? 2 : 1)).join('/');
}

function pickFiles(roundRobinCount: number, nonAsciiCount: number): string[] {
  const candidates = listCandidateFiles();
  const byPackage = new Map<string, string[]>();
  for (const f of candidates) {
    const pkg = packageOf(f);
    if (!byPackage.has(pkg)) byPackage.set(pkg, []);
    byPackage.get(pkg)!.push(f);
  }
  const picked = new Set<string>();
  const lists = [...byPackage.keys()].sort().map((k) => byPackage.get(k)!);
  for (let round = 0; picked.size < roundRobinCount && lists.some((l) => l.length > round); round++) {
    for (const l of lists) {
      if (round < l.length && picked.size < roundRobinCount) picked.add(l[round]);
    }
  }
  const nonAscii = candidates.filter((f) => !isAscii(fs.readFileSync(f)));
  for (let i = 0; i < Math.min(nonAsciiCount, nonAscii.length); i++) {
    picked.add(nonAscii[Math.floor((i * nonAscii.length) / Math.min(nonAsciiCount, nonAscii.length))]);
  }
  return [...picked].sort();
}

interface EncodedFile { file: string; text: string; ids: number[] }
let corpusCache: EncodedFile[] | undefined;
/** The picked files with our encoding; shared by the tests below (computed once, whichever test runs first). */
function corpus(): EncodedFile[] {
  corpusCache ??= pickFiles(200, 40).map((file) => {
    const text = fs.readFileSync(file, 'utf8');
    return { file, text, ids: tok.encode(text) };
  });
  return corpusCache;
}

test('tokenization equals o200k_base (js-tiktoken) on real files from node_modules; decode round-trips', () => {
  let t0 = performance.now();
  const files = corpus();
  const oursMs = performance.now() - t0;
  assert.ok(files.length >= 200, `only ${files.length} files found under ${ROOT}`);
  let tokens = 0, bytes = 0, nonAscii = 0;
  t0 = performance.now();
  for (const { file, text, ids } of files) {
    const diff = firstDifference(ids, referenceEncode(text));
    if (diff) assert.fail(`${path.relative(ROOT, file)}: ${diff}`);
    assert.ok(tok.decode(ids) === text, `${path.relative(ROOT, file)}: decode(encode(text)) differs from the text`);
    tokens += ids.length;
    bytes += Buffer.byteLength(text);
    if (/[^\x00-\x7f]/.test(text)) nonAscii++;
  }
  assert.ok(nonAscii >= 20, `only ${nonAscii} files with non-ASCII text`);
  console.log(`# ${files.length} files (${nonAscii} with non-ASCII text), ${(bytes / 1024).toFixed(0)} KiB, ${tokens} tokens; ` +
    `picking + encoding ${oursMs.toFixed(0)} ms, reference + decode ${(performance.now() - t0).toFixed(0)} ms`);
});

test('tricky text equals o200k_base and round-trips', () => {
  const samples = [
    "I'm sure THEY'LL say it's fine; we've, you'd, she's, WE'RE, I'M, he'Ll", // contractions in all cases
    'line one\r\nline two\r\n\r\n\tindented\n    spaces   \n\n\n', // CRLF, tabs, runs of whitespace
    '1234567890 3.14159 0x1F -42 1e10 ٣٤٥ 一二三', // digits in groups of three, other numerals
    'Emoji: 😀 👨‍👩‍👧‍👦 🇫🇷 👍🏽 ❤️ 🏳️‍🌈', // ZWJ sequences, flags, skin tones, variation selectors
    '日本語のテキストと中文文本，한국어 텍스트。', // CJK, fullwidth punctuation
    'العربية עברית हिन्दी ไทย Ελληνικά Кириллица', // RTL, Indic, Thai, Greek, Cyrillic
    'e\u0301 a\u0308 n\u0303 o\u0302\u0323 Z\u0351\u0352\u0353', // combining marks
    'const x = (a, b) => a ?? b; // comment\nif (x !== null) { return `${x}`; }',
    '   leading and trailing spaces   ',
    '\uFEFFstarts with a BOM, \u00A0 no-break \u2003 em space \u3000 ideographic space',
    'a\u0085b  \u0085 c\u0085\u0085\n', // NEL: White_Space for tiktoken/HF, not JS \s (see above)
    '\u2028line separator\u2029paragraph separator',
    '',
    ' ',
  ];
  for (const s of samples) {
    const ids = tok.encode(s);
    assert.deepEqual(ids, plainO200k(s), JSON.stringify(s));
    assert.equal(tok.decode(ids), s);
  }
  // The NEL sample is tokenised differently by js-tiktoken's unmodified pattern: the reason for the fix above.
  const raw = new Tiktoken(o200k_base);
  assert.notDeepEqual(raw.encode('a\u0085b  \u0085 c'), tok.encode('a\u0085b  \u0085 c'));
});

test('vocabulary: size, ids and strings', () => {
  assert.equal(tok.vocabSize, 200029); // highest id (<|tag|> 200028) + 1
  assert.equal(tok.tokenToId('<|endoftext|>'), 199999);
  assert.equal(tok.idToToken(200020), '<|end|>');
  assert.equal(tok.tokenToId('hello'), 24912);
  assert.equal(tok.idToToken(24912), 'hello');
  assert.equal(tok.idToToken(220), 'Ġ'); // byte-level form of ' '
  assert.equal(tok.idToToken(199998), undefined); // an unused id
  assert.equal(tok.idToToken(200029), undefined);
  assert.equal(tok.idToToken(-1), undefined);
  assert.equal(tok.tokenToId('<|no such token|>'), undefined);
  assert.equal(tok.decode([]), '');
  assert.deepEqual(tok.encode(''), []);
});

test('all 12 added tokens encode to single ids; text around them is plain o200k', () => {
  assert.equal(PHI4_ADDED_TOKENS.length, 12);
  for (const { id, content } of PHI4_ADDED_TOKENS) {
    assert.deepEqual(tok.encode(content), [id], content);
    assert.equal(tok.tokenToId(content), id);
    assert.equal(tok.idToToken(id), content);
    assert.equal(tok.decode([id]), content);
    const before = 'Hello, world!\n ', after = ' and then some text: x=1;';
    const ids = tok.encode(before + content + after);
    assert.deepEqual(ids, [...plainO200k(before), id, ...plainO200k(after)], content);
    assert.equal(tok.decode(ids), before + content + after);
  }
  // Adjacent, and glued to words: still matched literally (no lstrip/rstrip, not single_word).
  assert.deepEqual(tok.encode('<|user|><|end|><|assistant|>'), [200021, 200020, 200019]);
  assert.deepEqual(tok.encode('x<|tool_call|>[{"a":1}]<|/tool_call|>y'),
    [...plainO200k('x'), 200025, ...plainO200k('[{"a":1}]'), 200026, ...plainO200k('y')]);
  // No BOS/EOS is added.
  assert.deepEqual(tok.encode('hi'), plainO200k('hi'));
  // Not an added token: a near miss is plain text.
  assert.deepEqual(tok.encode('<|user |>'), plainO200k('<|user |>'));
});

test('no BOS/EOS is added even when tokenizer.json has a post-processor that would add them', () => {
  const withBos = {
    ...tokenizerJson,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [199999], tokens: ['<|endoftext|>'] } },
    },
  };
  const other = new PhiTokenizer(withBos, tokenizerConfig);
  assert.deepEqual(other.encode('<|user|>hi'), [200021, ...plainO200k('hi')]);
});

// ---------------------------------------------------------------------------------------------------------------
// The stream decoder.

/** GPT-2's bytes_to_unicode, written out as in OpenAI's encoder.py: the character standing for each byte. */
const BYTE_CHAR: string[] = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  const out: string[] = [];
  bs.forEach((b, i) => { out[b] = String.fromCharCode(cs[i]); });
  return out;
})();

/** The id of the single-byte token for byte `b` (a byte-level BPE has one for every byte). */
function byteToken(b: number): number {
  const id = tok.tokenToId(BYTE_CHAR[b]);
  assert.ok(id !== undefined, `no token for byte ${b}`);
  return id;
}

function bytesAsTokens(s: string): number[] {
  return [...Buffer.from(s, 'utf8')].map(byteToken);
}

test('stream decoder: a character split byte by byte comes out whole, once', () => {
  for (const ch of ['é', '語', '😀', '𝔸']) {
    const ids = bytesAsTokens(ch);
    assert.equal(ids.length, Buffer.byteLength(ch));
    const { pieces, text } = streamDecode(ids);
    assert.deepEqual(pieces, [...Array(ids.length - 1).fill(''), ch, ''], ch);
    assert.equal(text, tok.decode(ids));
  }
  // A 4-byte emoji followed by a special token, split at every byte.
  const ids = [...bytesAsTokens('a😀'), 200020, ...bytesAsTokens('b')];
  assert.deepEqual(streamDecode(ids).pieces, ['a', '', '', '', '😀', '<|end|>', 'b', '']);
});

test('stream decoder: real tokenisations of emoji, CJK and combining marks', () => {
  const samples = [
    '👨‍👩‍👧‍👦 family, 🇯🇵 flag, 👍🏽 thumbs, 🏳️‍🌈, 🫠 melting, 𓀀 hieroglyph',
    '日本語のテキスト、中文文本、한국어 텍스트 — and ｆｕｌｌｗｉｄｔｈ',
    'e\u0301 a\u0308 Z\u0351\u0352\u0353\u0354 ก\u0e34\u0e4a हिन्दी',
    '<|system|>Sé 😀<|end|><|user|>日本<|end|><|assistant|>ok<|tool_call|>[]<|/tool_call|><|end|>',
    '\uFEFFBOM at the start<|end|>\uFEFFand after a special token',
  ];
  let sawPartial = false;
  for (const s of samples) {
    const ids = tok.encode(s);
    const { pieces, text } = streamDecode(ids);
    for (const p of pieces) {
      assert.ok(!p.includes(U_FFFD), `U+FFFD in a piece of ${JSON.stringify(s)}`);
      assert.ok(!LONE_SURROGATE.test(p), `half a surrogate pair in a piece of ${JSON.stringify(s)}`);
    }
    if (pieces.slice(0, -1).some((p) => p === '')) sawPartial = true;
    assert.equal(text, tok.decode(ids));
    assert.equal(text, s);
  }
  assert.ok(sawPartial, 'no sample split a character across tokens; the test would prove nothing');
});

test('stream decoder: equals decode on all the real files', () => {
  for (const { file, text, ids } of corpus()) {
    const { pieces, text: streamed } = streamDecode(ids);
    assert.ok(streamed === text, `${path.relative(ROOT, file)}: streamed text differs`);
    const hadFFFD = text.includes(U_FFFD);
    for (const p of pieces) {
      if (!hadFFFD) assert.ok(!p.includes(U_FFFD), `${path.relative(ROOT, file)}: U+FFFD in a piece`);
      assert.ok(!LONE_SURROGATE.test(p), `${path.relative(ROOT, file)}: half a surrogate pair in a piece`);
    }
  }
});

test('stream decoder: invalid UTF-8, unknown ids, reuse after flush', () => {
  // Two bytes of a three-byte character, then the end: U+FFFD at flush, as decode gives.
  const partial = bytesAsTokens('語').slice(0, 2);
  const d = tok.createStreamDecoder();
  assert.equal(d.push(partial[0]), '');
  assert.equal(d.push(partial[1]), '');
  assert.equal(d.flush(), U_FFFD);
  assert.equal(tok.decode(partial), U_FFFD);
  // The same, cut by a special token: decode ends the byte run there, and so does the stream.
  const cut = [...partial, 200020, ...bytesAsTokens('x')];
  assert.equal(streamDecode(cut).text, tok.decode(cut));
  assert.equal(tok.decode(cut), `${U_FFFD}<|end|>x`);
  // A continuation byte on its own.
  const stray = [byteToken(0x80), ...bytesAsTokens('ok')];
  assert.equal(streamDecode(stray).text, tok.decode(stray));
  // Unknown ids contribute nothing, in both.
  assert.equal(d.push(199998), '');
  assert.equal(d.push(250000), '');
  assert.equal(tok.decode([199998, ...bytesAsTokens('a')]), 'a');
  // After flush the decoder starts clean.
  assert.equal(d.push(tok.encode('fine')[0]), 'fine');
  assert.equal(d.flush(), '');
});

test('stream decoder: time for 10k tokens (printed, not asserted)', () => {
  const ids: number[] = [];
  for (const { ids: fileIds } of corpus()) {
    for (const id of fileIds) { if (ids.length < 10_000) ids.push(id); }
    if (ids.length >= 10_000) break;
  }
  assert.equal(ids.length, 10_000);
  const decoder = tok.createStreamDecoder();
  const t0 = performance.now();
  let text = '';
  for (const id of ids) text += decoder.push(id);
  text += decoder.flush();
  const ms = performance.now() - t0;
  assert.equal(text, tok.decode(ids));
  console.log(`# stream decoder: 10000 tokens in ${ms.toFixed(1)} ms`);
});
