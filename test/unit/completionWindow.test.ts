// Inline completions sized to the machine (extension/inline/completionWindow.ts): the window a cold completion can
// prefill within its share of the time cap, from the prefill speed the sidecar measured; too slow machines told.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_PREFIX_TOKENS, MAX_SUFFIX_TOKENS, MIN_OBSERVED_PREFILL_TOKENS, MIN_WINDOW_TOKENS, PREFILL_SHARE, PROMPT_OVERHEAD_TOKENS,
  PrefillSpeed, completionWindow,
} from '../../extension/inline/completionWindow';
import { buildCompletionPrompt } from '../../sidecar/completions/completionPrompt';
import { DEFAULT_MAX_PREFIX_TOKENS, DEFAULT_MAX_SUFFIX_TOKENS } from '../../sidecar/completions/completionPrompt';
import { PromptBuilder } from '../../sidecar/prompt/promptBuilder';
import { readPromptFiles } from '../../sidecar/prompt/promptFiles';
import { ensureModel } from '../fixtures/models';

describe('completion window (pure, with the real tokenizer for the prompt overhead)', () => {
  it('a fast machine gets the sidecar\'s full window; nothing is sized past its limits', () => {
    assert.equal(MAX_PREFIX_TOKENS, DEFAULT_MAX_PREFIX_TOKENS);
    assert.equal(MAX_SUFFIX_TOKENS, DEFAULT_MAX_SUFFIX_TOKENS);
    const w = completionWindow(5_000, 4_000);
    assert.ok(w?.fits);
    assert.equal(w.maxPrefixTokens, MAX_PREFIX_TOKENS);
    assert.equal(w.maxSuffixTokens, MAX_SUFFIX_TOKENS);
  });

  it('a slower machine gets a window whose cold prefill fits its share of the cap', () => {
    for (const speed of [60, 120, 300]) {
      for (const timeoutMs of [2_000, 4_000, 8_000]) {
        const w = completionWindow(speed, timeoutMs);
        if (!w?.fits) continue;
        const tokens = w.maxPrefixTokens + w.maxSuffixTokens + PROMPT_OVERHEAD_TOKENS;
        assert.ok((tokens * 1000) / speed <= timeoutMs * PREFILL_SHARE + 1000 / speed, `${speed} tok/s, ${timeoutMs} ms: ${tokens} tokens`);
        assert.ok(w.maxPrefixTokens >= w.maxSuffixTokens, 'more before the cursor than after');
        assert.ok(w.maxPrefixTokens + w.maxSuffixTokens >= MIN_WINDOW_TOKENS);
      }
    }
  });

  it('a machine too slow for even a few lines is told, with the time a minimal window would take', () => {
    // 2-core CPU, Phi-4-mini: ~25 tokens/s, 4 s cap → 60 tokens for the whole prompt, less than overhead + minimum.
    const w = completionWindow(25, 4_000);
    assert.ok(w && !w.fits);
    assert.equal(w.coldMs, Math.round(((MIN_WINDOW_TOKENS + PROMPT_OVERHEAD_TOKENS) * 1000) / 25));
    // Enabled anyway: the smallest window, not the sidecar's full one (which would take 40 s here).
    assert.equal(w.maxPrefixTokens + w.maxSuffixTokens, MIN_WINDOW_TOKENS);
    assert.equal(completionWindow(undefined, 4_000), undefined, 'no measurement: the sidecar\'s defaults');
  });

  it('the prompt overhead the window leaves room for is at least what the prompt\'s own words take', () => {
    const prompts = PromptBuilder.fromFolder(readPromptFiles(ensureModel('tiny')));
    const p = buildCompletionPrompt({ languageId: 'typescript', fileName: 'orderTotals.ts', prefix: 'x', suffix: 'y' });
    const ids = prompts.render(p.messages, undefined, p.assistantPrefix).ids;
    const code = prompts.tokenizer.encode('x').length + prompts.tokenizer.encode('y').length;
    assert.ok(ids.length - code <= PROMPT_OVERHEAD_TOKENS, `the prompt's words take ${ids.length - code} tokens`);
  });

  it('the speed sized by is the measurement, raised (never lowered) by what cold completions showed, per model', () => {
    const speed = new PrefillSpeed();
    assert.equal(speed.current('/m', undefined), undefined, 'nothing measured (a remote engine): the sidecar\'s defaults');
    assert.equal(speed.current('/m', 15), 15);
    // A measurement taken while the machine was busy read 15; a cold completion prefilled 104 tokens at 60/s. (A 4 s
    // cap fits the smallest window from (48 + 56) / (4 × 0.6) ≈ 43 tokens/s: 15 does not, 60 does.)
    const fitsFrom = (MIN_WINDOW_TOKENS + PROMPT_OVERHEAD_TOKENS) / (4 * PREFILL_SHARE);
    assert.ok(15 < fitsFrom && 60 > fitsFrom);
    speed.observe('/m', 104, 60);
    assert.equal(speed.current('/m', 15), 60);
    const before = completionWindow(15, 4_000)!;
    const after = completionWindow(speed.current('/m', 15), 4_000)!;
    assert.ok(!before.fits && after.fits, 'the window grows once a completion shows the machine is faster');
    // A slower completion (the machine busy now) says nothing new; a short prefill is its fixed cost, not its speed.
    speed.observe('/m', 104, 20);
    speed.observe('/m', MIN_OBSERVED_PREFILL_TOKENS - 1, 500);
    assert.equal(speed.current('/m', 15), 60);
    // Another model starts from its own measurement.
    assert.equal(speed.current('/other', 15), 15);
    speed.observe('/other', 104, 18);
    assert.equal(speed.current('/other', 15), 18);
    assert.equal(speed.current('/m', 15), 15, 'back on the first model, what the other model showed does not count');
  });
});
