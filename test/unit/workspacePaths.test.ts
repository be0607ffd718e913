// Tools never reach outside the workspace: resolveWorkspacePath (extension/tools/workspacePaths.ts) on real folders
// and real symbolic links in a temporary directory.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { displayFor, PathError, resolveWorkspacePath, type WorkspaceRoot } from '../../extension/tools/workspacePaths';

describe('workspace paths', () => {
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'phi-paths-')));
  const ws = path.join(tmp, 'ws');
  const other = path.join(tmp, 'other');
  const outside = path.join(tmp, 'secret');
  const roots: WorkspaceRoot[] = [{ name: 'ws', fsPath: ws }];
  const multi: WorkspaceRoot[] = [{ name: 'ws', fsPath: ws }, { name: 'other', fsPath: other }];

  before(() => {
    fs.mkdirSync(path.join(ws, 'src', 'lib'), { recursive: true });
    fs.mkdirSync(path.join(other, 'docs'), { recursive: true });
    fs.mkdirSync(outside, { recursive: true });
    fs.writeFileSync(path.join(ws, 'src', 'app.ts'), 'export {};\n');
    fs.writeFileSync(path.join(other, 'docs', 'guide.md'), '# guide\n');
    fs.writeFileSync(path.join(outside, 'passwords.txt'), 'hunter2\n');
    fs.symlinkSync(outside, path.join(ws, 'escape'));                                   // a folder link leading out
    fs.symlinkSync(path.join(outside, 'passwords.txt'), path.join(ws, 'src', 'pw.txt')); // a file link leading out
    fs.symlinkSync(path.join(ws, 'src', 'app.ts'), path.join(ws, 'app-link.ts'));       // a link inside: fine
    fs.symlinkSync(path.join(ws, 'src'), path.join(ws, 'src-link'));                     // a folder link inside
    fs.symlinkSync(path.join(outside, 'missing.txt'), path.join(ws, 'dangling.txt'));    // dangling, leads out
    fs.symlinkSync(path.join(outside, 'missing-dir'), path.join(ws, 'dangling-dir'));    // dangling folder, leads out
    fs.symlinkSync('dangling.txt', path.join(ws, 'chain-1'));                            // chain: 2 → 1 → dangling → out
    fs.symlinkSync('chain-1', path.join(ws, 'chain-2'));
    fs.symlinkSync('src/not-yet.ts', path.join(ws, 'dangling-inside.ts'));               // dangling, stays inside
    fs.symlinkSync('loop-b', path.join(ws, 'loop-a'));                                   // a cycle
    fs.symlinkSync('loop-a', path.join(ws, 'loop-b'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const refused = async (input: string, pattern: RegExp, r = roots) => {
    await assert.rejects(resolveWorkspacePath(input, r), (e: unknown) => {
      assert.ok(e instanceof PathError, `a PathError for ${input}`);
      assert.match((e as Error).message, pattern);
      return true;
    });
  };

  it('resolves relative paths inside the folder, in the forms models write them', async () => {
    for (const input of ['src/app.ts', './src/app.ts', 'src//app.ts', 'src\\app.ts', 'src/lib/../app.ts', ' src/app.ts ']) {
      const r = await resolveWorkspacePath(input, roots);
      assert.equal(r.absolute, path.join(ws, 'src', 'app.ts'), input);
      assert.equal(r.relative, 'src/app.ts');
      assert.equal(r.display, 'src/app.ts');
      assert.equal(r.exists, true);
    }
    const rootItself = await resolveWorkspacePath('.', roots);
    assert.equal(rootItself.absolute, ws);
    assert.equal(rootItself.relative, '');
    assert.equal((await resolveWorkspacePath('', roots)).absolute, ws);
  });

  it('resolves a file that does not exist yet (for create_file), with exists false', async () => {
    const r = await resolveWorkspacePath('src/new/dir/file.ts', roots);
    assert.equal(r.absolute, path.join(ws, 'src', 'new', 'dir', 'file.ts'));
    assert.equal(r.exists, false);
  });

  it('refuses ../ that climbs out of the folder', async () => {
    await refused('../secret/passwords.txt', /leads outside the workspace/);
    await refused('src/../../secret/passwords.txt', /leads outside the workspace/);
    await refused('..', /leads outside the workspace/);
    await refused('..\\secret\\passwords.txt', /leads outside the workspace/);
  });

  it('refuses absolute paths outside the workspace, and accepts those inside', async () => {
    await refused(path.join(outside, 'passwords.txt'), /outside the workspace.*relative to the workspace folder/);
    await refused('/etc/passwd', /outside the workspace/);
    await refused(`${ws}-sibling/file.txt`, /outside the workspace/); // a prefix of the path is not the folder
    await refused('~/.ssh/id_rsa', /home folder/);
    const inside = await resolveWorkspacePath(path.join(ws, 'src', 'app.ts'), roots);
    assert.equal(inside.relative, 'src/app.ts');
  });

  it('refuses symbolic links whose real path leads outside, also for files below them that do not exist', async () => {
    await refused('escape/passwords.txt', /symbolic link that leads outside/);
    await refused('escape', /symbolic link that leads outside/);
    await refused('src/pw.txt', /symbolic link that leads outside/);
    await refused('escape/new-file.txt', /symbolic link that leads outside/); // create_file through a link
    await refused(path.join(ws, 'escape', 'passwords.txt'), /symbolic link that leads outside/);
  });

  it('refuses dangling symbolic links (and chains of links) that lead to a missing place outside', async () => {
    await refused('dangling.txt', /symbolic link that leads outside/);
    await refused('dangling-dir/new-file.txt', /symbolic link that leads outside/);
    await refused('chain-2', /symbolic link that leads outside/);
    await refused('src/../chain-1', /symbolic link that leads outside/);
    await refused('loop-a', /loop of symbolic links/);
    await refused('loop-b/file.txt', /loop of symbolic links/);
    const inside = await resolveWorkspacePath('dangling-inside.ts', roots);
    assert.equal(inside.exists, false);
    assert.equal(inside.real, path.join(ws, 'src', 'not-yet.ts'));
  });

  it('accepts symbolic links that stay inside the workspace', async () => {
    const file = await resolveWorkspacePath('app-link.ts', roots);
    assert.equal(file.exists, true);
    assert.equal(file.relative, 'app-link.ts');
    const folder = await resolveWorkspacePath('src-link/app.ts', roots);
    assert.equal(folder.exists, true);
  });

  it('says what is wrong with a NUL character, and with no folder open', async () => {
    await refused('src/app.ts\0.png', /NUL/);
    await assert.rejects(resolveWorkspacePath('src/app.ts', []), /No folder is open/);
  });

  it('multi-root: the first folder by default, another by its name first', async () => {
    const first = await resolveWorkspacePath('src/app.ts', multi);
    assert.equal(first.root.name, 'ws');
    assert.equal(first.display, 'ws/src/app.ts');
    const named = await resolveWorkspacePath('other/docs/guide.md', multi);
    assert.equal(named.root.name, 'other');
    assert.equal(named.absolute, path.join(other, 'docs', 'guide.md'));
    assert.equal(named.display, 'other/docs/guide.md');
    // The display form resolves to the same place (the model names files back as it was told them).
    assert.equal((await resolveWorkspacePath(named.display, multi)).absolute, named.absolute);
    assert.equal((await resolveWorkspacePath('ws/src/app.ts', multi)).absolute, first.absolute);
    // One folder's `..` does not lead into the other.
    await refused('other/../ws/src/app.ts', /leads outside/, multi);
    assert.equal(displayFor(path.join(other, 'docs', 'guide.md'), multi), 'other/docs/guide.md');
    assert.equal(displayFor(path.join(outside, 'passwords.txt'), multi), undefined);
  });
});
