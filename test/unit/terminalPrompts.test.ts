// The terminal's pure parts (extension/terminal/terminalPrompts.ts): terminal data made readable, the output bounded
// to its end with a note of what was cut, the Explain question and the Fix turn, and the one command read back from
// the model's answer (a fenced block or a single line; several commands, prose, or a line break is no command).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  boundOutput, cleanTerminalOutput, cutNote, explainQuestion, extractCommand, fixMessages, formatTerminalText, MAX_COMMAND_CHARS,
  plainForNotification,
} from '../../extension/terminal/terminalPrompts';

describe('terminal output cleaning', () => {
  it('removes colours, cursor moves, titles and shell integration marks', () => {
    const raw = '\x1b]633;C\x07\x1b[0m\x1b[01;31mls:\x1b[0m cannot access \x1b[1m\'/nope\'\x1b[22m: No such file or directory\r\n\x1b]0;user@host: ~\x07\x1b]633;D;2\x1b\\';
    assert.equal(cleanTerminalOutput(raw), "ls: cannot access '/nope': No such file or directory");
  });

  it('keeps what a progress bar wrote last, applies backspaces, drops other control characters', () => {
    assert.equal(cleanTerminalOutput('10%\r50%\r100% done\r\nnext'), '100% done\nnext');
    assert.equal(cleanTerminalOutput('abx\bc\x07\x00'), 'abc');
    // A shorter rewrite leaves the end of the longer line, as a terminal shows it.
    assert.equal(cleanTerminalOutput('downloading\rok'), 'okwnloading');
  });

  it('trims blank lines at both ends and spaces at line ends, keeps tabs and inner blank lines', () => {
    assert.equal(cleanTerminalOutput('\r\n\r\na\t1   \r\n\r\nb\r\n\r\n'), 'a\t1\n\nb');
  });
});

describe('bounding the output', () => {
  const lines = Array.from({ length: 500 }, (_, i) => `line ${i + 1}`).join('\n');

  it('keeps everything that fits, and says nothing', () => {
    const b = boundOutput('a\nb', 10, 100);
    assert.deepEqual(b, { text: 'a\nb', cutLines: 0, cutChars: 0, totalLines: 2 });
    assert.equal(cutNote(b), '');
  });

  it('keeps the last lines (the error is at the end) and says how many were left out', () => {
    const b = boundOutput(lines, 150, 100_000);
    assert.equal(b.text.split('\n').length, 150);
    assert.ok(b.text.endsWith('line 500'));
    assert.ok(b.text.startsWith('line 351\n'));
    assert.equal(b.cutLines, 350);
    assert.match(cutNote(b), /the first 350 of 500 lines were left out/);
  });

  it('stays within the characters too, cutting one long line at its start', () => {
    const b = boundOutput(lines, 150, 100);
    assert.ok(b.text.length <= 100, `${b.text.length}`);
    assert.ok(b.text.endsWith('line 500'));
    const long = boundOutput(`${'x'.repeat(500)}END`, 10, 50);
    assert.equal(long.text.length, 50);
    assert.ok(long.text.endsWith('END'));
    assert.equal(long.cutChars, 453);
    assert.match(cutNote(long), /453 characters/);
  });

  it('says when the recorder dropped output before it was bounded', () => {
    assert.match(cutNote(boundOutput('a'), 1234), /1,234 earlier characters/);
  });
});

describe('the Explain question and the Fix turn', () => {
  const failed = { source: 'lastCommand' as const, commandLine: 'ls /nonexistent-dir', text: "ls: cannot access '/nonexistent-dir': No such file or directory\r\n", exitCode: 2 };

  it('asks about the last command with its line, exit code and output in a fence', () => {
    const q = explainQuestion(failed);
    assert.match(q, /^Explain the output of my last terminal command, `ls \/nonexistent-dir` \(it failed, exit code 2\):/);
    assert.ok(q.includes("```text\n$ ls /nonexistent-dir\nls: cannot access '/nonexistent-dir': No such file or directory\n```"));
    assert.doesNotMatch(q, /left out/);
  });

  it('asks about a selection as a selection, and a cut output says what was cut', () => {
    const many = Array.from({ length: 400 }, (_, i) => `row ${i}`).join('\n');
    const q = explainQuestion({ source: 'selection', text: many });
    assert.match(q, /^Explain this text I selected in my terminal:/);
    assert.match(q, /the first 250 of 400 lines were left out/);
    assert.ok(q.includes('row 399'));
    assert.ok(!q.includes('row 0\n'));
  });

  it('a fence in the output cannot close the block', () => {
    const { block } = formatTerminalText({ source: 'selection', text: 'a\n```\nb' });
    assert.ok(block.startsWith('````text\n'));
  });

  it('the Fix turn asks for one command and gives the shell and the system', () => {
    const m = fixMessages({ ...failed, shell: 'bash', platform: 'linux', cwd: '/home/me' });
    assert.equal(m.length, 2);
    assert.equal(m[0].role, 'system');
    assert.match(m[0].content, /exactly one corrected command/);
    assert.match(m[1].content, /Shell: bash\. Operating system: linux\. Working directory: \/home\/me\./);
    assert.match(m[1].content, /\$ ls \/nonexistent-dir/);
    assert.match(m[1].content, /exit code 2/);
  });

  it('a running command is said to be running, a succeeded one to have succeeded', () => {
    assert.match(explainQuestion({ ...failed, exitCode: undefined, running: true }), /still running/);
    assert.match(explainQuestion({ ...failed, exitCode: 0 }), /it succeeded/);
  });
});

describe('reading the one command from the answer', () => {
  it('takes the command of one fenced block, and the prose as the note', () => {
    const r = extractCommand('```bash\nls -d /tmp\n```\nThe directory did not exist; /tmp does.');
    assert.deepEqual(r, { command: 'ls -d /tmp', note: 'The directory did not exist; /tmp does.' });
  });

  it('drops prompts, comments and blank lines in the block; joins continuation lines', () => {
    assert.equal(extractCommand('```sh\n# list it\n\n$ ls -la /tmp\n```').command, 'ls -la /tmp');
    assert.equal(extractCommand('```sh\ndocker run \\\n  --rm \\\n  alpine echo hi\n```').command, 'docker run --rm alpine echo hi');
    assert.equal(extractCommand('```console\n$ git push -u origin main\nEverything up-to-date\n```').command, 'git push -u origin main');
    assert.equal(extractCommand('```powershell\nPS C:\\src> Get-ChildItem -Force\n```').command, 'Get-ChildItem -Force');
  });

  it('takes a single line answer, backticks and prompt removed', () => {
    assert.deepEqual(extractCommand('`npm install --save-dev typescript`'), { command: 'npm install --save-dev typescript', note: '' });
    assert.equal(extractCommand('$ git status\n').command, 'git status');
    assert.equal(extractCommand('  mkdir -p build  ').command, 'mkdir -p build');
  });

  it('a block left open (the answer was cut) still counts', () => {
    assert.equal(extractCommand('Try this:\n```sh\nls /tmp').command, 'ls /tmp');
  });

  it('the same command in two blocks is one command', () => {
    assert.equal(extractCommand('```sh\nls /tmp\n```\nor, the same:\n```\nls /tmp\n```').command, 'ls /tmp');
  });

  it('refuses several commands, in one block or in several', () => {
    const one = extractCommand('```sh\ncd /tmp\nls\n```');
    assert.equal(one.command, undefined);
    assert.match('reason' in one ? one.reason : '', /more than one command/);
    const two = extractCommand('```sh\nls /tmp\n```\n```sh\nls /var\n```');
    assert.equal(two.command, undefined);
    assert.match('reason' in two ? two.reason : '', /more than one command/);
  });

  it('refuses prose, output only, and empty answers, saying why', () => {
    const prose = extractCommand('That command is fine.\nThe directory is missing; create it first.');
    assert.equal(prose.command, undefined);
    assert.match('reason' in prose ? prose.reason : '', /not a single command/);
    assert.equal(prose.note, 'That command is fine. The directory is missing; create it first.');
    const output = extractCommand('```text\nNo such file\n```');
    assert.match('reason' in output ? output.reason : '', /output, not a command/);
    assert.match((extractCommand('  \n ') as { reason: string }).reason, /empty/);
    assert.match((extractCommand('```sh\n# nothing to run\n```') as { reason: string }).reason, /empty/);
  });

  it('refuses control characters and over-long commands: nothing hidden runs', () => {
    assert.equal(extractCommand('```sh\nls \x1b[8mrm -rf ~\x1b[0m\n```').command, undefined);
    assert.match((extractCommand('```sh\nls \u202erm -rf ~\n```') as { reason: string }).reason, /invisible/);
    assert.match((extractCommand('`ls\u200b /tmp`') as { reason: string }).reason, /invisible/);
    assert.equal(extractCommand(`\`${'a'.repeat(MAX_COMMAND_CHARS + 1)}\``).command, undefined);
    assert.equal(extractCommand(`\`${'a'.repeat(MAX_COMMAND_CHARS)}\``).command?.length, MAX_COMMAND_CHARS);
  });

  it('CRLF answers read the same', () => {
    assert.equal(extractCommand('```sh\r\nls /tmp\r\n```\r\n').command, 'ls /tmp');
  });
});

describe('showing the command in a notification', () => {
  it('keeps a Markdown link from becoming a link: the text reads the same, the link syntax is broken', () => {
    const shown = plainForNotification('Phi proposes: echo [Run safely](command:workbench.action.terminal.sendSequence) — see [docs](https://x.y)');
    assert.doesNotMatch(shown, /\]\(/);
    assert.equal(shown.replace(/\u200b/g, ''), 'Phi proposes: echo [Run safely](command:workbench.action.terminal.sendSequence) — see [docs](https://x.y)');
    assert.equal(plainForNotification('ls [ab]* (x)'), 'ls [ab]* (x)');
  });
});
