// What the extension-host suites share: the extension's API, waiting on its state, and the settings they change.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { PhiLocalApi } from '../../extension/api';
import type { LoadModelParams } from '../../sidecar/protocol';

export const EXTENSION_ID = 'phi-local.phi-local';

export function extension(): vscode.Extension<PhiLocalApi> {
  const ext = vscode.extensions.getExtension<PhiLocalApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not loaded: the runner must pass the repository as extensionDevelopmentPath.`);
  return ext;
}

/** The extension's API, activating it the way a user would (Phi: Open Chat) if nothing has yet. */
export async function phiApi(): Promise<PhiLocalApi> {
  const ext = extension();
  if (!ext.isActive) await vscode.commands.executeCommand('phiLocal.openChat');
  assert.ok(ext.isActive, 'the extension is active after Phi: Open Chat');
  return ext.exports;
}

/** The generated tiny model the runner points the extension at (PHI_LOCAL_MODEL). */
export function testModel(): string {
  const dir = process.env.PHI_LOCAL_MODEL;
  assert.ok(dir, 'PHI_LOCAL_MODEL is not set: the runner passes the tiny test model (ensureModel("tiny")) in the environment.');
  return dir;
}

export function phiConfig(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('phiLocal');
}

/** Sets a phiLocal.* user setting (undefined removes it), as the Settings editor would. */
export async function setSetting(key: string, value: unknown): Promise<void> {
  await phiConfig().update(key, value, vscode.ConfigurationTarget.Global);
}

/** One line on where the extension stands, for failure messages. */
export function describeState(api: PhiLocalApi): string {
  const s = api.sidecar.lastStatus;
  const phase = api.models.phase;
  return `status bar "${api.statusBar.view.text}", sidecar ${api.sidecar.state}` +
    (s ? ` (pid ${s.pid}, model ${s.state}${s.model ? ` on ${s.model.executionProvider}` : ''}${s.error ? `: ${s.error.message}` : ''})` : '') +
    `, model phase ${phase.kind}${phase.kind === 'failed' ? `: ${phase.error.message}` : ''}`;
}

/** Polls `probe` until it returns something truthy; fails after `timeoutMs` saying what it waited for. */
export async function waitFor<T>(what: string, probe: () => T | undefined | null | false, api?: PhiLocalApi, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs / 1000} s waiting for ${what}${api ? `; now: ${describeState(api)}` : ''}.`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Until ready on cpu: the sidecar's status, the model manager and the status bar item all say so. */
export function readyOnCpu(api: PhiLocalApi, timeoutMs?: number): Promise<unknown> {
  return waitFor('the model to be ready on cpu', () =>
    api.sidecar.state === 'running' && api.sidecar.lastStatus?.state === 'ready' && api.sidecar.lastStatus.model?.executionProvider === 'cpu' &&
    api.models.phase.kind === 'ready' && api.statusBar.view.text === '$(check) Phi: cpu', api, timeoutMs);
}

export interface Recorder extends vscode.Disposable {
  /** Every phi/loadModel the extension sent since the recorder started. */
  readonly loads: Omit<LoadModelParams, 'workDoneToken'>[];
  /** Every text the status bar item showed since the recorder started (consecutive repeats dropped). */
  readonly statusTexts: string[];
}

/** Records the extension's model loads (by wrapping its sidecar client's loadModel) and status bar texts. */
export function record(api: PhiLocalApi): Recorder {
  const loads: Omit<LoadModelParams, 'workDoneToken'>[] = [];
  const statusTexts: string[] = [api.statusBar.view.text];
  const sidecar = api.sidecar;
  const original = sidecar.loadModel;
  sidecar.loadModel = function (params, onProgress) {
    loads.push({ ...params });
    return original.call(this, params, onProgress);
  };
  const onChange = () => {
    // Listeners run in subscription order: the status bar item (subscribed at activation) has updated already.
    const text = api.statusBar.view.text;
    if (statusTexts[statusTexts.length - 1] !== text) statusTexts.push(text);
  };
  const subscriptions = [api.sidecar.onDidChange(onChange), api.models.onDidChange(onChange)];
  return {
    loads,
    statusTexts,
    dispose() {
      for (const s of subscriptions) s.dispose();
      sidecar.loadModel = original;
    },
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
