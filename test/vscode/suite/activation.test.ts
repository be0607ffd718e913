// Activation and registration: the extension activates by itself once the window has started (activationEvents:
// onStartupFinished), so that its status bar item and, on VS Code 1.104 and later, its model in VS Code's Chat are
// there before anyone uses it; that activation is cheap: the sidecar process, which holds the model, is not started.
// It registers every command it contributes. Runs first (files run in name order), before any test has used the
// extension.
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import * as vscode from 'vscode';
import { extension, phiApi, waitFor } from '../helpers';

interface ContributedCommand {
  command: string;
  title: string;
  category?: string;
}

describe('activation', () => {
  it('activates once the window has started, without being used, and starts no sidecar', async function () {
    this.timeout(90_000);
    const ext = extension();
    assert.ok((ext.packageJSON.activationEvents as string[]).includes('onStartupFinished'), 'package.json activates on onStartupFinished');
    // Nothing here uses the extension (no command, no view): VS Code activates it on its own a few seconds after the
    // window has restored. The 60 s only bound how long a failure takes to show.
    await waitFor('VS Code to activate Phi Local after startup (onStartupFinished)', () => ext.isActive, undefined, 60_000);
    const api = ext.exports;
    assert.ok(api?.sidecar && api.models && api.statusBar, 'activate() returns the API (sidecar, models, statusBar)');
    assert.equal(api.demo, false, 'not a demo unless PHI_LOCAL_DEMO is set');
    assert.match(api.statusBar.view.text, /Phi: /, 'its status bar item is there');
    assert.equal(api.sidecar.state, 'stopped', 'activating starts no sidecar: it starts when something first needs the model');
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
