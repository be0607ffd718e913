// A sidecar killed with SIGKILL, seen through the real extension (extension/sidecarClient.ts): the request in flight
// fails with a clear error instead of hanging, the sidecar comes back with the model loaded, and the fourth death
// within three minutes is not restarted (the limit), until "Phi: Restart Sidecar" is used.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import type { PhiLocalApi } from '../../../extension/api';
import { isAlive, phiApi, readyOnCpu, setSetting, waitFor } from '../helpers';

describe('a sidecar that dies (tiny model)', function () {
  this.timeout(180_000);
  let api: PhiLocalApi;
  const crashes: boolean[] = [];

  before(async () => {
    await setSetting('executionProvider', 'cpu');
    await setSetting('threads', 2);
    api = await phiApi();
    // A clean slate: Restart Sidecar forgets earlier crashes (another suite may have killed one).
    await vscode.commands.executeCommand('phiLocal.restartSidecar');
    await readyOnCpu(api);
    api.sidecar.onDidCrash((e) => crashes.push(e.willRestart));
  });
  after(async () => {
    if (api.sidecar.state === 'failed') await vscode.commands.executeCommand('phiLocal.restartSidecar');
    await readyOnCpu(api).catch(() => undefined);
    for (const key of ['executionProvider', 'threads']) await setSetting(key, undefined);
  });

  /** Kills the running sidecar and waits for the extension to see it. */
  async function kill(): Promise<number> {
    const pid = api.sidecar.lastStatus!.pid;
    const seen = crashes.length;
    process.kill(pid, 'SIGKILL');
    await waitFor(`the extension to see sidecar ${pid} die`, () => crashes.length > seen, api);
    assert.equal(isAlive(pid), false);
    return pid;
  }

  it('the answer in flight fails with an error that says so, and the sidecar is back with the model', async () => {
    let streamed = 0;
    let started!: () => void;
    const streaming = new Promise<void>((resolve) => { started = resolve; });
    const inFlight = api.sidecar.chat({ turnId: randomUUID(), messages: [{ role: 'user', content: 'Hi' }], maxNewTokens: 100_000 }, () => {
      if (++streamed === 1) started();
    });
    await streaming;
    const pid = await kill();
    // The rejection comes from the extension's client seeing the connection close, not from anything this test does.
    await assert.rejects(inFlight, (e: unknown) => e instanceof Error && e.message.length > 0);
    assert.deepEqual(crashes, [true], 'the first death is restarted');
    await waitFor('a new sidecar', () => api.sidecar.lastStatus && api.sidecar.lastStatus.pid !== pid, api);
    await readyOnCpu(api);
    const next = await api.sidecar.chat({ turnId: randomUUID(), messages: [{ role: 'user', content: 'Hi' }], maxNewTokens: 2 }, () => undefined);
    assert.ok(next.usage.completionTokens >= 1);
  });

  it('three deaths in three minutes are restarted; the fourth is not, until Restart Sidecar', async () => {
    // The first test's death is the first of the window.
    for (let i = 2; i <= 3; i++) {
      const pid = await kill();
      await waitFor(`restart ${i}`, () => api.sidecar.lastStatus && api.sidecar.lastStatus.pid !== pid, api);
      await readyOnCpu(api);
    }
    assert.deepEqual(crashes, [true, true, true]);
    await kill();
    assert.deepEqual(crashes, [true, true, true, false], 'the fourth death within the window is not restarted');
    await waitFor('the sidecar marked failed', () => api.sidecar.state === 'failed', api);
    await assert.rejects(
      api.sidecar.chat({ turnId: randomUUID(), messages: [{ role: 'user', content: 'Hi' }], maxNewTokens: 2 }, () => undefined),
      /Restart Sidecar/,
    );
    await vscode.commands.executeCommand('phiLocal.restartSidecar');
    await readyOnCpu(api);
    const after = await api.sidecar.chat({ turnId: randomUUID(), messages: [{ role: 'user', content: 'Hi' }], maxNewTokens: 2 }, () => undefined);
    assert.ok(after.usage.completionTokens >= 1);
  });
});
