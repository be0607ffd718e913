// Prompt files (extension/chat/promptFiles.ts): the name a file gives its command, the front matter read by hand
// (quotes, comments, lists, CRLF, a BOM, no front matter), and the variables filled in (the known ones, inputs from
// the command line, the unknown ones left as text).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  inputNames, parseFrontMatter, parsePromptFile, promptNameOf, splitInputs, substituteVariables, usesSelection,
} from '../../extension/chat/promptFiles';

describe('prompt files', () => {
  it('names the command after the file, without .prompt.md; other files and odd names are not commands', () => {
    assert.equal(promptNameOf('review-code.prompt.md'), 'review-code');
    assert.equal(promptNameOf('v2.api.prompt.md'), 'v2.api');
    assert.equal(promptNameOf('notes.md'), undefined);
    assert.equal(promptNameOf('.prompt.md'), undefined);
    assert.equal(promptNameOf('has space.prompt.md'), undefined);
  });

  it('reads the front matter: quoted or not, comments, a list kept as written, CRLF and a BOM', () => {
    const text = '\uFEFF---\r\ndescription: "Review the code: carefully"\r\nmode: agent # the mode\r\ntools: [\'codebase\', \'search\']\r\n# a comment\r\nmodel: GPT-4o\r\n---\r\nReview ${selection}.\r\n';
    const { attributes, body } = parseFrontMatter(text);
    assert.deepEqual(attributes, { description: 'Review the code: carefully', mode: 'agent', tools: "['codebase', 'search']", model: 'GPT-4o' });
    assert.equal(body, 'Review ${selection}.\r\n');
  });

  it('keeps escaped quotes and "#" inside quotes, and joins an indented continuation line', () => {
    const { attributes } = parseFrontMatter('---\ndescription: "Say \\"hi\\" # not a comment"\nother: first\n  second\n---\nbody');
    assert.equal(attributes.description, 'Say "hi" # not a comment');
    assert.equal(attributes.other, 'first second');
  });

  it('takes a file without front matter (or with one never closed) as all body', () => {
    assert.deepEqual(parseFrontMatter('Just do it.'), { attributes: {}, body: 'Just do it.' });
    assert.deepEqual(parseFrontMatter('---\ndescription: x\nno end'), { attributes: {}, body: '---\ndescription: x\nno end' });
    assert.deepEqual(parseFrontMatter('---\n---\nEmpty front matter.'), { attributes: {}, body: 'Empty front matter.' });
  });

  it('parses a whole file into a command: name, path, description, mode, the trimmed body', () => {
    const p = parsePromptFile('security.prompt.md', '.github/prompts/security.prompt.md', '---\ndescription: Check for security issues\nmode: ask\n---\n\nLook for injection bugs.\n');
    assert.deepEqual(p, {
      name: 'security', path: '.github/prompts/security.prompt.md', description: 'Check for security issues', mode: 'ask',
      attributes: { description: 'Check for security issues', mode: 'ask' }, body: 'Look for injection bugs.',
    });
    assert.equal(parsePromptFile('security.md', 'x', 'text'), undefined);
    assert.equal(parsePromptFile('plain.prompt.md', 'p', 'Body only.')?.description, undefined);
  });

  it('fills in the selection, the file and its parts, the workspace folder and inputs', () => {
    const body = 'In ${file} (${fileBasename}, ${fileBasenameNoExtension}, in ${fileDirname}) of ${workspaceFolderBasename}: ${selection} / ${selectedText}; name ${input:name}, kind ${input:kind:a placeholder}.';
    const out = substituteVariables(body, {
      selection: 'x + 1', file: 'src/util/math.ts', workspaceFolder: '/w/proj', workspaceFolderBasename: 'proj', inputs: { name: 'add', kind: 'pure' },
    });
    assert.equal(out, 'In src/util/math.ts (math.ts, math, in src/util) of proj: x + 1 / x + 1; name add, kind pure.');
    assert.equal(substituteVariables('${fileDirname}/${fileBasenameNoExtension}', { file: 'Makefile' }), './Makefile');
  });

  it('leaves unknown variables, and known ones without a value, as text', () => {
    const body = '${selection} ${file} ${input:name} ${env:HOME} ${unknownThing} ${input:other:placeholder} $selection';
    assert.equal(substituteVariables(body, {}), body);
    assert.equal(substituteVariables(body, { selection: '' , inputs: { name: 'n' } }), ' ${file} n ${env:HOME} ${unknownThing} ${input:other:placeholder} $selection');
    // A value that looks like a variable is not filled in again.
    assert.equal(substituteVariables('${selection} ${file}', { selection: '${file}', file: 'a.ts' }), '${file} a.ts');
  });

  it('lists the inputs a body asks for, and whether it puts the selection in itself', () => {
    assert.deepEqual(inputNames('${input:a} ${input:b:placeholder} ${input:a}'), ['a', 'b']);
    assert.ok(usesSelection('Review:\n${selection}'));
    assert.ok(usesSelection('${selectedText}'));
    assert.ok(!usesSelection('Review ${file}'));
  });

  it('splits the text after the command into the inputs asked for and the rest', () => {
    assert.deepEqual(splitInputs('formName=Login title="Sign in now" and keep it short', ['formName', 'title']),
      { inputs: { formName: 'Login', title: 'Sign in now' }, rest: 'and keep it short' });
    // VS Code's own form: a colon after the command.
    assert.deepEqual(splitInputs(': formName=Login', ['formName']), { inputs: { formName: 'Login' }, rest: '' });
    // Pairs the body does not ask for stay in the text.
    assert.deepEqual(splitInputs('a=1 b=2', ['b']), { inputs: { b: '2' }, rest: 'a=1' });
    assert.deepEqual(splitInputs('', ['x']), { inputs: {}, rest: '' });
  });
});
