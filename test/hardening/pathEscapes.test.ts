// Reading tools never read outside the workspace, even when the file system changes under them: readFileInside
// (extension/tools/openInside.ts, what read_file, apply_edit and search_text's fallback read through) on real
// files, hard links, pipes and symbolic links in a temporary directory, with a second process swapping a link while
// this one reads; and the Windows device and stream names (extension/tools/windowsNames.ts) that
// resolveWorkspacePath refuses on every platform. One test double, named where it is used (a faked platform).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readFileInside } from '../../extension/tools/openInside';
import { windowsNameProblem } from '../../extension/tools/windowsNames';
import { PathError, resolveWorkspacePath, type WorkspaceRoot } from '../../extension/tools/workspacePaths';
import { reportFigure } from './figures';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'phi-paths-hard-')));
const ws = path.join(tmp, 'ws');
const outside = path.join(tmp, 'secret');
const roots: WorkspaceRoot[] = [{ name: 'ws', fsPath: ws }];
const INSIDE_TEXT = 'inside text\n';
const OUTSIDE_TEXT = 'OUTSIDE SECRET\n';

before(() => {
  fs.mkdirSync(path.join(ws, 'src'), { recursive: true });
  fs.mkdirSync(outside, { recursive: true });
  fs.writeFileSync(path.join(ws, 'src', 'app.ts'), INSIDE_TEXT);
  fs.writeFileSync(path.join(outside, 'passwords.txt'), OUTSIDE_TEXT);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function read(input: string, maxBytes = 1024 * 1024): Promise<string> {
  return (await readFileInside(await resolveWorkspacePath(input, roots), maxBytes)).toString('utf8');
}

async function refused(input: string, pattern: RegExp, maxBytes?: number): Promise<void> {
  await assert.rejects(read(input, maxBytes), (e: unknown) => {
    assert.ok(e instanceof PathError, `a PathError for ${input}, not ${String(e)}`);
    assert.match((e as Error).message, pattern);
    return true;
  });
}

describe('reading through one checked descriptor (readFileInside, real files)', () => {
  it('reads a plain file, and says what is wrong with folders, missing and too large files', async () => {
    assert.equal(await read('src/app.ts'), INSIDE_TEXT);
    await refused('src', /is a folder/);
    await refused('src/missing.ts', /does not exist/);
    await refused('src/app.ts', /too large.*limit/, 4);
  });

  it('refuses a hard link inside the workspace to a file outside it, saying why', async () => {
    fs.linkSync(path.join(outside, 'passwords.txt'), path.join(ws, 'hard.txt'));
    // resolveWorkspacePath cannot tell: a hard link has no target, it is the same file under a second name.
    assert.equal((await resolveWorkspacePath('hard.txt', roots)).exists, true);
    await refused('hard.txt', /2 hard links.*outside the workspace.*opens it in the editor/);
  });

  it('refuses a named pipe at once instead of waiting for a writer', { skip: process.platform === 'win32' }, async (t) => {
    const fifo = path.join(ws, 'pipe');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return t.skip('no mkfifo here');
    await refused('pipe', /not a regular file/);
  });
});

describe('a symbolic link swapped by another process while reading (readFileInside, real links, a child process)', () => {
  // The child swaps the link (atomically, by rename) between a file inside and one outside as fast as it can, until
  // the stop file appears; it prints "started" after its first swap, and at the end how many swaps it made.
  const FLIPPER = `
    const fs = require('node:fs');
    const [link, a, b, stop] = process.argv.slice(1);
    let flips = 0;
    while (!(flips % 256 === 1 && fs.existsSync(stop))) {
      fs.symlinkSync(flips % 2 ? a : b, link + '.next');
      fs.renameSync(link + '.next', link);
      if (++flips === 1) process.stdout.write('started\\n');
    }
    process.stdout.write(String(flips));`;
  const TRIES = 3000;

  const runs = [
    { kind: 'file', proc: true }, { kind: 'folder', proc: true },
    // TEST DOUBLE: process.platform faked as 'darwin', so the check resolves the path again instead of asking /proc.
    { kind: 'file', proc: false }, { kind: 'folder', proc: false },
  ] as const;
  for (const { kind, proc } of runs) {
    const how = proc ? '' : ' (no /proc, as on macOS and Windows: TEST DOUBLE process.platform = darwin)';
    it(`${kind} link${how}: ${TRIES} reads while it flips, none of them outside`, { timeout: 120_000 }, async (t) => {
      const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
      if (!proc) Object.defineProperty(process, 'platform', { value: 'darwin' });
      t.after(() => Object.defineProperty(process, 'platform', platform));
      const dir = path.join(tmp, `race-${kind}-${proc}`);
      fs.mkdirSync(path.join(dir, 'in'), { recursive: true });
      fs.mkdirSync(path.join(dir, 'out'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'in', 'f.txt'), INSIDE_TEXT);
      fs.writeFileSync(path.join(dir, 'out', 'f.txt'), OUTSIDE_TEXT);
      const inWs = path.join(ws, `inside-${kind}-${proc}`);
      if (kind === 'file') fs.copyFileSync(path.join(dir, 'in', 'f.txt'), inWs);
      else fs.cpSync(path.join(dir, 'in'), inWs, { recursive: true });
      const [link, input, outTarget] = kind === 'file'
        ? [path.join(ws, `flip-${proc}.txt`), `flip-${proc}.txt`, path.join(dir, 'out', 'f.txt')]
        : [path.join(ws, `flipdir-${proc}`), `flipdir-${proc}/f.txt`, path.join(dir, 'out')];
      const stop = path.join(dir, 'stop');
      fs.symlinkSync(inWs, link);
      const child = spawn(process.execPath, ['-e', FLIPPER, link, inWs, outTarget, stop], { stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      const exited = new Promise((resolve) => child.on('exit', resolve));
      const started = new Promise<void>((resolve) => child.stdout.setEncoding('utf8').on('data', (d: string) => {
        output += d;
        if (output.includes('started')) resolve();
      }));
      await Promise.race([started, exited]);

      const counts = { inside: 0, outside: 0, refusedAtCheck: 0, refusedAtRead: 0, unguardedOutside: 0 };
      try {
        for (let i = 0; i < TRIES; i++) {
          let resolved;
          try {
            resolved = await resolveWorkspacePath(input, roots);
          } catch (e) {
            if (!(e instanceof PathError)) throw e;
            counts.refusedAtCheck++;
            continue;
          }
          // What the tools did before: read by path after the check. Counted, not asserted (it is a race).
          const unguarded = await fs.promises.readFile(resolved.absolute, 'utf8').catch(() => '');
          if (unguarded === OUTSIDE_TEXT) counts.unguardedOutside++;
          try {
            const text = (await readFileInside(resolved, 1024)).toString('utf8');
            if (text === OUTSIDE_TEXT) counts.outside++;
            else if (text === INSIDE_TEXT) counts.inside++;
          } catch (e) {
            if (!(e instanceof PathError)) throw e;
            counts.refusedAtRead++;
          }
        }
      } finally {
        fs.writeFileSync(stop, '');
        await exited;
      }
      const flips = output.split('\n')[1];
      t.diagnostic(`${kind} link${proc ? '' : ' without /proc'}: ${TRIES} tries, ${flips} flips: ${JSON.stringify(counts)}`);
      reportFigure(`path race: ${kind} link flipped${proc ? '' : ' (no /proc)'}`, {
        tried: TRIES, refused: counts.refusedAtCheck + counts.refusedAtRead, lost: counts.outside,
        note: `${counts.inside} inside reads; reading by path after the check would have read outside ${counts.unguardedOutside}×`,
      });
      assert.ok(Number(flips) > 0, 'the link was flipped');
      assert.ok(counts.inside > 0, 'reads of the inside file still work while the link flips');
      assert.equal(counts.outside, 0, 'never a read of the outside file');
    });
  }
});

describe('Windows device names and alternate data streams (windowsNames.ts, refused on every platform)', () => {
  it('names a device or a stream, case-insensitively, with any extension', () => {
    for (const name of ['CON', 'con', 'Nul', 'AUX.txt', 'aux.tar.gz', 'PRN', 'COM1', 'com9.log', 'LPT1', 'lpt¹', 'CONIN$', 'conout$.txt', 'nul.', 'CON .txt', 'NUL  ']) {
      assert.match(windowsNameProblem(name) ?? '', /device name on Windows/, name);
    }
    for (const name of ['a.txt::$DATA', 'a.txt:secret', 'a.txt:secret:$DATA', 'C:', ':']) {
      assert.match(windowsNameProblem(name) ?? '', /contains ":"/, name);
    }
    for (const name of ['console.ts', 'connect', 'auxiliary.md', 'com10.txt', 'lpt', 'nullable.ts', '.con', 'CONTRIBUTING.md', 'app.ts']) {
      assert.equal(windowsNameProblem(name), undefined, name);
    }
  });

  it('resolveWorkspacePath refuses them anywhere in a path, existing or not, relative or absolute', async () => {
    for (const input of ['CON', 'src/aux.txt', 'NUL/x.ts', 'src\\com1', 'src/app.ts::$DATA', 'src/app.ts:hidden', path.join(ws, 'lpt2.log'), 'C:secret.txt']) {
      await assert.rejects(resolveWorkspacePath(input, roots), (e: unknown) => e instanceof PathError && /device name on Windows|contains ":"/.test((e as Error).message), input);
    }
    assert.equal((await resolveWorkspacePath('src/console.ts', roots)).exists, false);
  });
});
