// The commit message prompt (extension/scm/commitPrompt.ts): the diff within its budget, the largest files
// summarised as header and line counts (and the prompt saying so), the recent subjects as the style to follow.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundDiff, cleanCommitMessage, commitMessages, diffBudget } from '../../extension/scm/commitPrompt';

function fileDiff(path: string, added: number, removed = 0): string {
  const lines = [
    ...Array.from({ length: removed }, (_, i) => `-old line ${i} of ${path}`),
    ...Array.from({ length: added }, (_, i) => `+new line ${i} of ${path}`),
  ];
  return `diff --git a/${path} b/${path}\nindex 1111111..2222222 100644\n--- a/${path}\n+++ b/${path}\n@@ -1,${removed} +1,${added} @@\n${lines.join('\n')}\n`;
}

const SMALL = fileDiff('src/small.ts', 3, 1);
const BIG = fileDiff('src/big.ts', 400, 20);
const MEDIUM = fileDiff('src/medium.ts', 60);
const DIFF = SMALL + BIG + MEDIUM;

describe('commit message prompt', () => {
  it('sends the whole diff, and says nothing of summaries, when it fits', () => {
    const p = commitMessages({ diff: DIFF, recentSubjects: [], diffBudget: 100_000 });
    assert.deepEqual(p.summarised, []);
    assert.ok(p.messages[1].content.includes(DIFF));
    assert.doesNotMatch(p.messages[1].content, /summarised|too long/);
  });

  it('keeps within the budget by summarising the largest file first, small files kept whole', () => {
    const budget = SMALL.length + MEDIUM.length + 400;
    const { text, summarised } = boundDiff(DIFF, budget);
    assert.ok(text.length <= budget, `${text.length} > ${budget}`);
    assert.deepEqual(summarised, ['src/big.ts']);
    assert.ok(text.includes(SMALL) && text.includes(MEDIUM), 'the smaller files are whole');
    assert.match(text, /diff --git a\/src\/big\.ts b\/src\/big\.ts\n.*\n--- a\/src\/big\.ts\n\+\+\+ b\/src\/big\.ts\n\[summarised: \+400 -20 lines/);
    assert.doesNotMatch(text, /new line 0 of src\/big\.ts/);
  });

  it('summarises further files, largest next, when one is not enough, and names them in the prompt', () => {
    const budget = SMALL.length + 600;
    const p = commitMessages({ diff: DIFF, recentSubjects: [], diffBudget: budget });
    assert.deepEqual(p.summarised, ['src/big.ts', 'src/medium.ts']);
    assert.match(p.messages[1].content, /shown only as their header and line counts: src\/big\.ts, src\/medium\.ts/);
    assert.ok(p.messages[1].content.includes(SMALL));
  });

  it('never goes past the budget, even when the summaries alone do not fit', () => {
    const many = Array.from({ length: 200 }, (_, i) => fileDiff(`f${i}.ts`, 5)).join('');
    const { text } = boundDiff(many, 2000);
    assert.ok(text.length <= 2000, `${text.length}`);
    assert.match(text, /the rest of the diff is left out/);
  });

  it('gives the recent subjects as the style to follow', () => {
    const subjects = ['feat(chat): stream tool steps', 'fix(sidecar): close the worker on exit'];
    const p = commitMessages({ diff: SMALL, recentSubjects: subjects, diffBudget: 10_000 });
    assert.equal(p.messages[0].role, 'system');
    assert.match(p.messages[1].content, /recent commit subjects:\n- feat\(chat\): stream tool steps\n- fix\(sidecar\): close the worker on exit/);
  });

  it('derives the budget from the context, leaving room for the answer', () => {
    assert.ok(diffBudget(4096, 256) > diffBudget(2048, 256));
    assert.ok(diffBudget(4096, 256) < 4096 * 4);
    assert.ok(diffBudget(128, 256) >= 1000, 'a floor on tiny contexts');
  });

  it('cleans a fence or quotes around the answer', () => {
    assert.equal(cleanCommitMessage('```\nAdd the thing\n```'), 'Add the thing');
    assert.equal(cleanCommitMessage('"Add the thing"'), 'Add the thing');
    assert.equal(cleanCommitMessage('  Add the thing\n\nBecause.\n'), 'Add the thing\n\nBecause.');
  });
});
