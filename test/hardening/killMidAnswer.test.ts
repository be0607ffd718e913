// kill -9 of the real sidecar in the middle of an answer, again and again: the client's request fails at once with a
// connection error (it does not hang: the extension then restarts the sidecar and keeps the conversation — its restart
// path is tested in test/vscode/sidecarCrash.test.ts), and a sidecar started after it answers exactly as one that was
// never killed: nothing the dead one left behind (its graph-rewrite cache file beside the model, a lock) is broken.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatRequest } from '../../sidecar/protocol';
import { EXACT_MODEL, ensureModel } from '../fixtures/models';
import { reportFigure } from './figures';
import { startSidecar } from './sidecarProcess';

const KILLS = 5;
const turn = { messages: [{ role: 'user' as const, content: 'Tell me a long story about the sea.' }], maxNewTokens: 24 };

test(`${KILLS} kills mid-answer: the request fails at once, and the next sidecar answers as an unharmed one`, { timeout: 300_000 }, async () => {
  const model = ensureModel('tiny', EXACT_MODEL);
  const clean = await startSidecar(model);
  const expected = await clean.rpc.sendRequest(ChatRequest, { turnId: 'clean', ...turn });
  clean.stop();
  let failedAtOnce = 0;
  let lost = 0;
  for (let k = 0; k < KILLS; k++) {
    const victim = await startSidecar(model);
    let killed!: () => void;
    const firstDelta = new Promise<void>((resolve) => { killed = resolve; });
    victim.onDelta = () => killed();
    const pending = victim.rpc.sendRequest(ChatRequest, { turnId: `k${k}`, messages: turn.messages, maxNewTokens: 50_000 });
    await firstDelta;
    victim.child.kill('SIGKILL');
    assert.equal(await victim.exited, 'SIGKILL');
    // The request must settle (an error), not wait forever for a process that is gone.
    const outcome = await Promise.race([pending.then(() => 'answered', () => 'failed'), victim.exited.then(() => new Promise((r) => setTimeout(() => r('hung'), 5_000)))]);
    if (outcome === 'failed') failedAtOnce++;
    else {
      lost++;
      console.log(`kill ${k}: the request ${outcome}`);
    }
    victim.stop();
    const next = await startSidecar(model);
    try {
      const again = await next.rpc.sendRequest(ChatRequest, { turnId: `after-${k}`, ...turn });
      if (again.text !== expected.text) {
        lost++;
        console.log(`kill ${k}: the next sidecar answered ${JSON.stringify(again.text)}, not ${JSON.stringify(expected.text)}`);
      }
    } finally {
      next.stop();
    }
  }
  reportFigure('kill -9 mid-answer (sidecar)', { tried: KILLS, refused: failedAtOnce, lost, note: 'request failed with a connection error; the next sidecar answered as an unharmed one' });
  assert.equal(lost, 0);
  assert.equal(failedAtOnce, KILLS);
});
