// The errors Phi Local's language-model provider throws to VS Code's Chat (extension/lm/apiError.ts): for each
// failure code, the API's LanguageModelError kind where one fits (else a plain Error), and a text as VS Code shows
// it that says the message once, with no stack frames. LanguageModelError comes from a named double shaped as VS
// Code's (extHostTypes.ts: `code` is the factory's name), so the test runs in plain Node.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiErrorFor, apiErrorKind, withoutStack, type LanguageModelErrorKind } from '../../extension/lm/apiError';
import type { EngineErrorCode } from '../../sidecar/protocol';

class LanguageModelErrorDouble extends Error {
  constructor(message: string | undefined, readonly code: string) {
    super(message);
    this.name = 'LanguageModelError';
  }
  static NoPermissions(message?: string) { return new LanguageModelErrorDouble(message, 'NoPermissions'); }
  static Blocked(message?: string) { return new LanguageModelErrorDouble(message, 'Blocked'); }
  static NotFound(message?: string) { return new LanguageModelErrorDouble(message, 'NotFound'); }
}

/**
 * The error as the Chat shows it: VS Code's toErrorMessage(error, verbose) (src/vs/base/common/errorMessage.ts),
 * `${message}: ${stack}` when there is a stack, after the extension host passed name, message and stack along.
 */
function shown(error: Error): string {
  const { message, stack } = JSON.parse(JSON.stringify({ message: error.message, stack: error.stack })) as { message: string; stack?: string };
  return stack ? `${message}: ${stack}` : message;
}

const occurrences = (text: string, part: string) => text.split(part).length - 1;
const STACK_FRAME = /^\s*at |\bat \S+ \(.*:\d+:\d+\)/m;

const KINDS: Record<EngineErrorCode | 'remote-not-allowed' | 'sidecar-stopped', LanguageModelErrorKind | undefined> = {
  'model-folder': 'NotFound',
  'model-load': undefined,
  'prompt-too-long': undefined,
  'no-model': 'NotFound',
  busy: 'Blocked',
  'bad-request': undefined,
  internal: undefined,
  'remote-not-allowed': 'NoPermissions',
  'sidecar-stopped': undefined,
};

describe('language-model errors for VS Code', () => {
  const detail = 'The request is 15844 tokens (12000 of them the definitions of the 40 tools offered), but Phi-4-mini\'s ' +
    'context holds 16384, with 1024 of them kept for the answer. Use Ask mode, or fewer tools ("Configure Tools..."); or attach less context.';

  for (const [code, kind] of Object.entries(KINDS)) {
    it(`${code}: ${kind ?? 'a plain Error'}, its message once, no stack`, () => {
      const error = apiErrorFor(code, detail, LanguageModelErrorDouble);
      assert.equal(apiErrorKind(code), kind);
      if (kind) assert.ok(error instanceof LanguageModelErrorDouble && error.code === kind, `${error.name} ${(error as LanguageModelErrorDouble).code}`);
      else assert.equal(Object.getPrototypeOf(error), Error.prototype);
      const text = shown(error);
      assert.equal(occurrences(text, detail), 1, text);
      assert.equal(occurrences(text, 'Phi Local'), 1, text);
      assert.doesNotMatch(text, STACK_FRAME);
      assert.ok(!text.includes('Error:'), text);
    });
  }

  it('a failure that is not the sidecar\'s (no code): a plain Error, said once', () => {
    const error = apiErrorFor(undefined, 'Something broke.', LanguageModelErrorDouble);
    assert.equal(Object.getPrototypeOf(error), Error.prototype);
    assert.equal(shown(error), 'Phi Local: Something broke.');
  });

  it('the refused request of issue 15 reads as its message alone', () => {
    assert.equal(shown(apiErrorFor('prompt-too-long', detail, LanguageModelErrorDouble)), `Phi Local: ${detail}`);
  });

  it('says what to do where that is known', () => {
    assert.match(apiErrorFor('no-model', 'No model folder is selected.', LanguageModelErrorDouble).message, /"Phi: Download Model".*"Phi: Select Model Folder"/);
    for (const code of ['model-folder', 'model-load']) {
      assert.match(apiErrorFor(code, 'tokenizer.json is missing.', LanguageModelErrorDouble).message,
        /^Phi Local could not load the model: tokenizer\.json is missing\. Run "Phi: Manage Models"/);
    }
  });

  it('a message that already names Phi Local is not prefixed again', () => {
    assert.equal(shown(apiErrorFor('internal', 'Phi Local: the sidecar said no.', LanguageModelErrorDouble)), 'Phi Local: the sidecar said no.');
  });

  it('an error passed through (a LanguageModelError from elsewhere) loses its stack too', () => {
    const error = withoutStack(LanguageModelErrorDouble.Blocked('Try again later.'));
    assert.equal(shown(error), 'Try again later.');
  });
});
