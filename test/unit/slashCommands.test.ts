// Slash commands (extension/chat/slashCommands.ts): what counts as a command line, the list (built-ins first, prompt
// files by name, a clash left out), the completion entries, unknown `/words` left as text, and the messages the
// commands send (the command as typed, the task, the extra text; a prompt file's body filled in) with the code chip.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatUserMessage } from '../../extension/chat/contextChips';
import { parsePromptFile, type PromptFile } from '../../extension/chat/promptFiles';
import {
  BUILTIN_COMMANDS, buildCodeMessage, buildPromptMessage, codeChip, commandList, completionItems, findCommand, MAX_FILE_CHARS,
  parseCommandLine, promptTakesContext,
} from '../../extension/chat/slashCommands';

const prompt = (name: string, text: string): PromptFile => parsePromptFile(`${name}.prompt.md`, `.github/prompts/${name}.prompt.md`, text)!;

describe('slash commands', () => {
  it('parses a command line: the name, and the rest trimmed', () => {
    assert.deepEqual(parseCommandLine('/explain'), { name: 'explain', args: '' });
    assert.deepEqual(parseCommandLine('  /fix   the off-by-one \n'), { name: 'fix', args: 'the off-by-one' });
    assert.deepEqual(parseCommandLine('/tests\nwith vitest'), { name: 'tests', args: 'with vitest' });
    assert.deepEqual(parseCommandLine('/my-form.v2: formName=Login'), { name: 'my-form.v2', args: ': formName=Login' });
    assert.equal(parseCommandLine('explain /this'), undefined);
    assert.equal(parseCommandLine('/'), undefined);
    assert.equal(parseCommandLine('/usr/bin is a folder'), undefined);
    assert.equal(parseCommandLine('//comment'), undefined);
  });

  it('lists the built-in commands, then the prompt files by name; a prompt file named like a command is left out', () => {
    const names = commandList([prompt('zeta', 'Z'), prompt('Explain', 'shadow'), prompt('alpha', 'A'), prompt('alpha', 'again')]).map((c) => c.name);
    assert.deepEqual(names, ['explain', 'fix', 'tests', 'doc', 'new', 'clear', 'alpha', 'zeta']);
    assert.deepEqual(BUILTIN_COMMANDS.map((c) => c.kind), ['code', 'code', 'code', 'code', 'new', 'clear']);
  });

  it('finds the command a message runs (case-insensitively); an unknown /word is ordinary text', () => {
    const commands = commandList([prompt('review', '---\ndescription: Review it\n---\nReview.')]);
    assert.equal(findCommand('/explain why', commands)?.command.name, 'explain');
    assert.equal(findCommand('/explain why', commands)?.args, 'why');
    assert.equal(findCommand('/NEW', commands)?.command.kind, 'new');
    assert.equal(findCommand('/review', commands)?.command.kind, 'prompt');
    assert.equal(findCommand('/reviews', commands), undefined);
    assert.equal(findCommand('/unknown do this', commands), undefined);
    assert.equal(findCommand('what does /explain do?', commands), undefined);
  });

  it('offers each command in the completion list, a prompt file with its description and a note', () => {
    const items = completionItems(commandList([prompt('review', '---\ndescription: Review it\n---\nReview.'), prompt('bare', 'Body.')]));
    assert.deepEqual(items.map((i) => i.label), ['/explain', '/fix', '/tests', '/doc', '/new', '/clear', '/bare', '/review']);
    assert.deepEqual(items.find((i) => i.label === '/review'), { label: '/review', description: 'Review it', detail: 'prompt file', atStart: true });
    assert.match(items.find((i) => i.label === '/bare')!.description, /\.github\/prompts\/bare\.prompt\.md/);
    assert.equal(items[0].detail, undefined);
    assert.ok(items.every((i) => i.description.length > 0 && i.atStart));
  });

  it('builds a code command\'s message: the command as typed, the task, the extra instruction', () => {
    const explain = findCommand('/explain', BUILTIN_COMMANDS)!.command;
    assert.equal(buildCodeMessage(explain, ''), `/explain\n\n${explain.instruction}`);
    const fix = findCommand('/fix  the loop', BUILTIN_COMMANDS)!;
    const text = buildCodeMessage(fix.command, fix.args);
    assert.equal(text.split('\n')[0], '/fix the loop');
    assert.match(text, /Find the bugs/);
    assert.match(text, /Also: the loop$/);
    // Each task asks for something else.
    assert.equal(new Set(BUILTIN_COMMANDS.filter((c) => c.kind === 'code').map((c) => c.instruction)).size, 4);
  });

  it('takes the selection as the code when there is one, else the file, and the model reads it ahead of the task', () => {
    const sel = codeChip({
      path: 'src/a.ts', languageId: 'typescript', fileText: 'const a = 1;\nconst b = 2;\n',
      selection: { text: 'const b = 2;\n', start: { line: 1, character: 0 }, end: { line: 2, character: 0 } },
    })!;
    assert.deepEqual({ kind: sel.kind, startLine: sel.startLine, endLine: sel.endLine, text: sel.text }, { kind: 'selection', startLine: 2, endLine: 2, text: 'const b = 2;\n' });
    const file = codeChip({ path: 'src/a.ts', languageId: 'typescript', fileText: 'const a = 1;\n' })!;
    assert.deepEqual({ kind: file.kind, text: file.text }, { kind: 'file', text: 'const a = 1;\n' });
    // A blank selection falls back on the file; an empty file gives no code at all.
    assert.equal(codeChip({ path: 'a', languageId: 'x', fileText: 'x', selection: { text: '  ', start: { line: 0, character: 0 }, end: { line: 0, character: 2 } } })?.kind, 'file');
    assert.equal(codeChip({ path: 'a', languageId: 'x', fileText: ' \n' }), undefined);
    const long = codeChip({ path: 'big.ts', languageId: 'typescript', fileText: 'x\n'.repeat(MAX_FILE_CHARS) })!;
    assert.ok(long.truncated && long.text.length <= MAX_FILE_CHARS);

    const explain = BUILTIN_COMMANDS[0];
    const model = formatUserMessage(buildCodeMessage(explain, ''), [sel]);
    assert.match(model, /^Selected code from `src\/a\.ts` \(lines 2-2\):\n```typescript\nconst b = 2;\n```\n\n\/explain\n\nExplain the code above/);
  });

  it('builds a prompt file\'s message: its body with the variables filled in, inputs from the command line, the rest after', () => {
    const commands = commandList([prompt('component', '---\ndescription: New component\nmode: agent\n---\nCreate ${input:name} in ${fileDirname} next to ${fileBasename}. Keep ${unknown}.')]);
    const found = findCommand('/component name=Button make it blue', commands)!;
    const text = buildPromptMessage(found.command, found.args, { file: 'web/ui/Card.tsx', selection: '' });
    assert.equal(text, '/component name=Button make it blue\n\nCreate Button in web/ui next to Card.tsx. Keep ${unknown}.\n\nmake it blue');
    assert.ok(promptTakesContext(found.command));
    const review = commandList([prompt('review', 'Review this:\n${selection}')])[6];
    assert.equal(buildPromptMessage(review, '', { selection: 'let x;' }), '/review\n\nReview this:\nlet x;');
    assert.ok(!promptTakesContext(review), 'the selection is in the body already');
    // No editor: the variables stay as written.
    assert.equal(buildPromptMessage(review, '', {}), '/review\n\nReview this:\n${selection}');
  });
});
