// The consent card follows from the request's kind alone: an edit keeps today's wording (and Show diff only when
// there is a diff), a command shows its command line verbatim, a read names what is read. Every card has the same
// three answers, so the webview draws any kind the same way.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consentCard } from '../../extension/tools/consentCard';

describe('consent cards by kind', () => {
  it('edit: the tool\'s title and detail, Apply this change, Show diff when there is a diff', () => {
    const card = consentCard({ kind: 'edit', tool: 'apply_edit', title: 'Edit src/app.py (line 2)', detail: 'Phi wants to replace line 2.', showDiff: async () => undefined });
    assert.equal(card.title, 'Edit src/app.py (line 2)');
    assert.equal(card.detail, 'Phi wants to replace line 2.');
    assert.equal(card.showDiff, true);
    assert.deepEqual(card.choices.map((c) => [c.choice, c.label]), [['once', 'Allow once'], ['chat', 'Allow for this chat'], ['deny', 'Deny']]);
    assert.equal(card.choices[0].hint, 'Apply this change');
    assert.equal(consentCard({ kind: 'edit', tool: 'x', title: 't', detail: 'd' }).showDiff, false);
  });

  it('command: the command line as it will run, no diff, no word of edits', () => {
    const card = consentCard({ kind: 'command', tool: 'run_tests', commandLine: 'npm test -- --grep "a b"', cwd: 'app' });
    assert.equal(card.kind, 'command');
    assert.equal(card.code, 'npm test -- --grep "a b"');
    assert.match(card.title, /Run a command in app/);
    assert.equal(card.showDiff, false);
    assert.equal(card.choices[0].hint, 'Run this command');
    assert.doesNotMatch(JSON.stringify([card.title, card.detail, card.choices]), /change|diff/i);
  });

  it('read: names what is read', () => {
    const card = consentCard({ kind: 'read', tool: 'read_env', what: '.env' });
    assert.equal(card.title, 'Read .env');
    assert.match(card.detail, /read_env/);
    assert.equal(card.code, undefined);
    assert.equal(card.showDiff, false);
  });
});
