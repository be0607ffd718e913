// The project instructions (extension/instructions/projectInstructions.ts): which files apply to the file at hand,
// in what order, with their front matter stripped, and what the token budget cuts (and says it cut).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildInstructions, CHARS_PER_TOKEN, globMatches, parseFrontMatter, withInstructions,
} from '../../extension/instructions/projectInstructions';

const scoped = (applyTo: string, body: string) => `---\napplyTo: "${applyTo}"\ndescription: x\n---\n${body}\n`;

describe('project instructions', () => {
  it('strips the front matter and reads applyTo (a comma-separated list, quoted or not)', () => {
    assert.deepEqual(parseFrontMatter(scoped('**/*.ts,src/**/*.tsx', 'Use tabs.')), { applyTo: ['**/*.ts', 'src/**/*.tsx'], body: 'Use tabs.\n' });
    assert.deepEqual(parseFrontMatter('---\napplyTo: **/*.py\n---\nPEP 8.'), { applyTo: ['**/*.py'], body: 'PEP 8.' });
    assert.deepEqual(parseFrontMatter('# No front matter'), { body: '# No front matter' });
  });

  it('matches globs as VS Code does: ** across folders, * within one, {a,b}, bare names anywhere', () => {
    assert.ok(globMatches('**/*.ts', 'src/a/b.ts'));
    assert.ok(globMatches('**/*.ts', 'b.ts'));
    assert.ok(!globMatches('src/*.ts', 'src/a/b.ts'));
    assert.ok(globMatches('src/**', 'src/a/b.py'));
    assert.ok(globMatches('**/*.{ts,tsx}', 'web/x.tsx'));
    assert.ok(globMatches('*.py', 'tools/x.py'));
    assert.ok(!globMatches('**/*.ts', 'src/b.tsx'));
    assert.ok(globMatches('**', 'anything/at/all.md'));
  });

  it('takes the always-on files in a fixed order, and the scoped ones whose applyTo matches the file at hand', () => {
    const files = [
      { path: '.github/instructions/python.instructions.md', text: scoped('**/*.py', 'Python rules.') },
      { path: '.github/instructions/ts.instructions.md', text: scoped('**/*.ts', 'TypeScript rules.') },
      { path: '.github/instructions/none.instructions.md', text: 'No applyTo: never applies.' },
      { path: '.github/copilot-instructions.md', text: 'Copilot rules.' },
      { path: 'AGENTS.md', text: 'Agent rules.' },
      { path: '.phi/instructions.md', text: 'Phi rules.' },
    ];
    const r = buildInstructions(files, 'src/app.ts');
    assert.deepEqual(r.used, ['.phi/instructions.md', 'AGENTS.md', '.github/copilot-instructions.md', '.github/instructions/ts.instructions.md']);
    assert.deepEqual(r.cut, []);
    assert.match(r.text, /## From \.phi\/instructions\.md\nPhi rules\.\n\n## From AGENTS\.md\nAgent rules\./);
    assert.ok(!r.text.includes('applyTo') && !r.text.includes('---'), 'front matter stripped');
    assert.ok(!r.text.includes('Python rules.'));
    // No file at hand: no scoped file applies.
    assert.deepEqual(buildInstructions(files, undefined).used, ['.phi/instructions.md', 'AGENTS.md', '.github/copilot-instructions.md']);
    assert.deepEqual(buildInstructions([], 'a.ts'), { text: '', used: [], cut: [] });
  });

  it('keeps within the budget and reports what it cut short and what it left out', () => {
    const big = Array.from({ length: 400 }, (_, i) => `Rule ${i}: keep it simple.`).join('\n');
    const files = [{ path: 'AGENTS.md', text: 'Short.' }, { path: '.github/copilot-instructions.md', text: big }, { path: '.phi/instructions.md', text: 'Ours.' }];
    const r = buildInstructions(files, undefined, 500);
    assert.ok(r.text.length <= 500 * CHARS_PER_TOKEN + 200, `${r.text.length} characters`);
    assert.deepEqual(r.used, ['.phi/instructions.md', 'AGENTS.md', '.github/copilot-instructions.md']);
    assert.deepEqual(r.cut, [{ path: '.github/copilot-instructions.md', reason: 'cut short' }]);
    assert.match(r.text, /Rule 0: keep it simple\.[\s\S]*\(cut short\)$/);
    // A budget with no room left for the next file leaves it out whole.
    const tight = buildInstructions([{ path: 'AGENTS.md', text: big }, { path: '.phi/instructions.md', text: 'x'.repeat(300) }], undefined, 100);
    assert.deepEqual(tight.used, ['.phi/instructions.md']);
    assert.deepEqual(tight.cut, [{ path: 'AGENTS.md', reason: 'left out' }]);
  });

  it('adds the instructions to the end of the system prompt', () => {
    const messages = [{ role: 'system' as const, content: 'You are Phi.' }, { role: 'user' as const, content: 'Hi' }];
    assert.deepEqual(withInstructions(messages, 'Be brief.'), [{ role: 'system', content: 'You are Phi.\n\nBe brief.' }, messages[1]]);
    assert.deepEqual(withInstructions(messages, ''), messages);
    assert.deepEqual(withInstructions([messages[1]], 'Be brief.'), [{ role: 'system', content: 'Be brief.' }, messages[1]]);
  });
});
