// Tokenizing in pieces (sidecar/prompt/textPieces.ts, PhiTokenizer.encode) against tokenizing whole with the library
// itself, on the real Phi-4 tokenizer: the same ids for ordinary text, code, JSON and Unicode; at every cut the rule
// allows; and where it must cut elsewhere, text that still decodes back. Plus the async encode's cancel.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { isExactCut, PIECE_CHARS, textPieces } from '../../sidecar/prompt/textPieces';
import { PhiTokenizer } from '../../sidecar/prompt/tokenizer';
import { buildPhi4TokenizerFiles, PHI4_ADDED_TOKENS } from '../fixtures/phi4Tokenizer';

// Loaded once for the whole file (about 1.5 s each).
const { tokenizerJson, tokenizerConfig } = buildPhi4TokenizerFiles();
const tok = new PhiTokenizer(tokenizerJson, tokenizerConfig);
const library = new Tokenizer(tokenizerJson, tokenizerConfig);
const whole = (text: string): number[] => library.encode(text, { add_special_tokens: false }).ids;
const added = PHI4_ADDED_TOKENS.map((t) => t.content);

const root = path.join(__dirname, '..', '..');
function filesUnder(dir: string, ext: RegExp): string[] {
  return fs.readdirSync(path.join(root, dir), { recursive: true }).map(String).filter((f) => ext.test(f)).sort()
    .map((f) => fs.readFileSync(path.join(root, dir, f), 'utf8'));
}

/** A small PRNG, so that a failure can be reproduced. */
function random(seed: number): () => number {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

/** Where two id lists first differ, with the text around it. */
function firstDifference(a: readonly number[], b: readonly number[]): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `ids differ at ${i}: ${JSON.stringify(tok.decode(a.slice(Math.max(0, i - 3), i + 3)))} vs ${JSON.stringify(tok.decode(b.slice(Math.max(0, i - 3), i + 3)))}`;
}

function assertSameIds(text: string, name: string): void {
  const pieced = tok.encode(text);
  const expected = whole(text);
  if (pieced.length !== expected.length || pieced.some((id, i) => id !== expected[i])) assert.fail(`${name}: ${firstDifference(pieced, expected)}`);
}

describe('tokenizing in pieces', () => {
  it('gives the ids of the whole text for ordinary text, code, JSON and Unicode', () => {
    const unicode = [
      'Ça va? Übergrößenträger naïve café — “quotes” ‘single’ 1–2 ½ ² ⅓ № 42.',
      '中文文本，没有空格的句子也很常见。日本語のテキストとカタカナ、ひらがな。한국어 문장도 있습니다.',
      'Русский текст, Ελληνικά, עברית ומספרים 123, العربية ٣٤٥, हिन्दी क्षत्रिय, ภาษาไทย',
      'e\u0301 combining, 👍🏽 emoji, 👨‍👩‍👧 ZWJ, 🇫🇷 flags, 𝐀𝐁𝐂 maths, ǅ titlecase, \u00a0nbsp\u3000ideographic space',
    ].join('\n');
    const inputs: [string, string][] = [
      ['sidecar/ and extension/ TypeScript', [...filesUnder('sidecar', /\.ts$/), ...filesUnder('extension', /\.ts$/)].join('\n')],
      ['docs and README (Markdown)', [...filesUnder('docs', /\.md$/), fs.readFileSync(path.join(root, 'README.md'), 'utf8')].join('\n')],
      ['compact JSON (package.json, no spaces)', JSON.stringify(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))).repeat(3)],
      ['Unicode, repeated', unicode.repeat(200)],
      ['hex and base64 without breaks', Array.from({ length: 40 }, (_, i) => Buffer.from(`block ${i} `.repeat(40)).toString(i % 2 ? 'hex' : 'base64')).join('')],
      ['CSV of numbers', Array.from({ length: 3000 }, (_, i) => `${i},${i * 7919 % 100003},${(i / 7).toFixed(3)}`).join('\n')],
      ['Phi-4 markup in text', '<|system|>Be brief.<|end|><|user|>What is 2+2?<|end|><|assistant|>4<|end|>'.repeat(300)],
    ];
    for (const [name, text] of inputs) {
      assert.ok(text.length > 3 * PIECE_CHARS, `${name} is long enough to be cut (${text.length})`);
      assert.ok([...textPieces(text, added)].length > 2, `${name} is cut`);
      assertSameIds(text, name);
    }
  });

  it('gives the ids of the whole text cut at every place the rule allows', () => {
    // Short strings of the characters the rule is about: letters of each case, digits, marks, apostrophes and
    // contractions, whitespace of each kind, punctuation, surrogate pairs, added tokens and their look-alikes.
    const alphabet = [
      'a', 'b', 'Z', 'Ab', 'é', 'e\u0301', '\u0301', 'ǅ', '中', 'क्', 'ا', '1', '23', '4567', '²', '٣', "'", "'s", "'T", "n't", ' ', '  ',
      '\t', '\n', '\r\n', '\u00a0', '\u3000', ',', '.', '{', '"', '/', '//', '-', '—', '😀', '👍🏽', '𝐀', '<|end|>', '<|user|>', '<|', '|>', '<', '|',
    ];
    const next = random(7);
    let cuts = 0;
    for (let n = 0; n < 2000; n++) {
      const text = Array.from({ length: 4 + Math.floor(next() * 40) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
      const at = [0];
      for (let i = 1; i < text.length; i++) if (isExactCut(text, i, added)) at.push(i);
      at.push(text.length);
      cuts += at.length - 2;
      const pieced = at.slice(1).flatMap((end, k) => whole(text.slice(at[k], end)));
      const expected = whole(text);
      assert.deepEqual(pieced, expected, `${JSON.stringify(text)} cut at ${at.slice(1, -1).join(', ')}: ${firstDifference(pieced, expected)}`);
    }
    assert.ok(cuts > 10_000, `${cuts} cuts checked`);
  });

  it('cuts a stretch with no such place at the limit: pieces stay short, added tokens whole, the text decodes back', () => {
    const stretches: [string, string][] = [
      ['one letter', 'a'.repeat(3 * PIECE_CHARS + 5)],
      ['random letters', Array.from({ length: 3 * PIECE_CHARS }, (_, i) => String.fromCharCode(97 + ((i * 7919) % 26))).join('')],
      ['punctuation', '=-'.repeat(2 * PIECE_CHARS)],
      ['spaces', ' '.repeat(3 * PIECE_CHARS)],
      ['digits', '1234567890'.repeat(PIECE_CHARS / 2)],
      ['emoji (UTF-16 pairs)', '😀'.repeat(2 * PIECE_CHARS + 1)],
      ['added tokens only', '<|end|>'.repeat(PIECE_CHARS)],
    ];
    for (const [name, text] of stretches) {
      const pieces = [...textPieces(text, added)];
      assert.equal(pieces.join(''), text, name);
      assert.ok(pieces.every((p) => p.length <= PIECE_CHARS + 16), `${name}: pieces of at most about ${PIECE_CHARS}`);
      assert.ok(pieces.every((p) => !/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(p)), `${name}: no UTF-16 pair cut`);
      const ids = tok.encode(text);
      assert.equal(tok.decode(ids), text, `${name} decodes back`);
      if (name === 'added tokens only') assert.deepEqual(ids, whole(text), 'every `<|end|>` stays its one token');
    }
  });

  it('encodes asynchronously to the same ids, and stops between pieces once cancelled', async () => {
    const text = 'The quick brown fox; '.repeat(2000) + 'x'.repeat(5 * PIECE_CHARS);
    assert.deepEqual(await tok.encodeAsync(text), tok.encode(text));
    let checks = 0;
    const signal = { get aborted() { return ++checks > 3; } };
    assert.equal(await tok.encodeAsync(text, signal), undefined);
    assert.equal(checks, 4, 'it checked before each piece and stopped at the first check that saw the cancel');
    assert.equal(await tok.encodeAsync(text, { aborted: true }), undefined);
  });
});
