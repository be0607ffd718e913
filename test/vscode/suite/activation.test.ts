// Activation and registration: the extension costs nothing until used, wakes on Phi: Open Chat, and registers
// every command it contributes. Runs first (files run in name order), while nothing has activated it yet.
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import * as vscode from 'vscode';
import { extension, phiApi } from '../helpers';

interface ContributedCommand {
  command: string;
  title: string;
  category?: string;
}

describe('activation', () => {
  it('is not active until used, and activates on Phi: Open Chat', async () => {
    const ext = extension();
    assert.equal(ext.isActive, false, 'nothing should have activated Phi Local before the test did');
    await vscode.commands.executeCommand('phiLocal.openChat');
    assert.equal(ext.isActive, true, 'Phi: Open Chat activates the extension');
    const api = ext.exports;
    assert.ok(api?.sidecar && api.models && api.statusBar, 'activate() returns the API (sidecar, models, statusBar)');
    assert.equal(api.demo, false, 'not a demo unless PHI_LOCAL_DEMO is set');
    assert.match(api.statusBar.view.text, /Phi: /);
  });

  it('registers every command it contributes, all under the category "Phi"', async () => {
    await phiApi(); // commands are registered on activation (this test may run alone)
    const contributed = (extension().packageJSON.contributes.commands as ContributedCommand[]);
    const ids = contributed.map((c) => c.command);
    for (const id of ['phiLocal.openChat', 'phiLocal.newChat', 'phiLocal.selectModelFolder', 'phiLocal.restartSidecar', 'phiLocal.showLogs']) {
      assert.ok(ids.includes(id), `package.json contributes ${id}`);
    }
    assert.deepEqual(contributed.filter((c) => c.category !== 'Phi').map((c) => c.command), [], 'commands outside the Phi category');
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(ids.filter((id) => !registered.has(id)), [], 'contributed but not registered');
  });
});
