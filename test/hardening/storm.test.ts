// A storm on the real sidecar: 120 requests at once — chat turns, inline completions, token counts — a third of them
// cancelled at a random moment (before they start, while they wait, mid-answer). Every one must be answered: with an
// answer, cancelled with its cause, or refused as busy with a reason (the waiting line is bounded); none may hang or
// come back with another request's text. Afterwards the KV cache must hold nothing wrong: the same greedy turn on
// this sidecar and on a fresh one gives the same tokens (EXACT_MODEL: the same logits whatever was cached before).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CancellationTokenSource, ResponseError } from 'vscode-languageserver-protocol/node';
import { ChatRequest, CountTokensRequest, InlineCompletionRequest, type ChatMessage } from '../../sidecar/protocol';
import { EXACT_MODEL, ensureModel } from '../fixtures/models';
import { Prng } from '../fixtures/prng';
import { reportFigure } from './figures';
import { startSidecar, type RunningSidecar } from './sidecarProcess';

const REQUESTS = 120;
/** A hang detector, not a speed bound: the whole storm is at most a few thousand tiny-model tokens. */
const SETTLE_MS = 180_000;

let sidecar: RunningSidecar;
before(async () => { sidecar = await startSidecar(ensureModel('tiny', EXACT_MODEL)); });
after(() => sidecar?.stop());

test(`${REQUESTS} requests at once, a third cancelled at random: each answered, cancelled with a cause or refused; the cache stays right`, { timeout: SETTLE_MS + 60_000 }, async () => {
  const prng = new Prng(10, 'storm');
  const int = (n: number) => prng.nextUint32() % n;
  const streamed = new Map<string, string>();
  sidecar.onDelta = (id, text) => streamed.set(id, (streamed.get(id) ?? '') + text);
  const outcome = { answered: 0, cancelled: 0, refused: 0, lost: 0, mixed: 0 };
  const pending: Promise<void>[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const source = new CancellationTokenSource();
    if (int(3) === 0) setTimeout(() => source.cancel(), int(300));
    const kind = int(3);
    const turnId = `storm-${i}`;
    const question: ChatMessage[] = [{ role: 'user', content: `Question ${i}: ${'tell me about rivers '.repeat(1 + int(6))}` }];
    const request: Promise<unknown> = kind === 0
      ? sidecar.rpc.sendRequest(ChatRequest, { turnId, messages: question, maxNewTokens: 4 + int(24) }, source.token).then((r) => {
        if (r.finishReason === 'cancelled' ? r.cancelCause === undefined : false) throw new Error('cancelled without a cause');
        // What streamed for this turn is what it answered: no other request's text.
        if ((streamed.get(turnId) ?? '') !== r.text) outcome.mixed++;
        return r.finishReason;
      })
      : kind === 1
        ? sidecar.rpc.sendRequest(InlineCompletionRequest, { languageId: 'python', prefix: `def f${i}(x):\n    return `, suffix: '\n', maxTokens: 8 }, source.token).then((r) => r.finishReason)
        : sidecar.rpc.sendRequest(CountTokensRequest, { messages: question }, source.token).then(() => 'counted');
    pending.push(request.then(
      (finish) => { if (finish === 'cancelled') outcome.cancelled++; else outcome.answered++; },
      (e: unknown) => {
        // Refused: busy (the bounded line), or the client's own cancel of a request the sidecar had not begun.
        if (e instanceof ResponseError && (/busy/i.test(e.message) || e.code === -32800)) outcome.refused++;
        else { outcome.lost++; console.log(`lost: ${(e as Error).message}`); }
      },
    ));
  }
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    Promise.all(pending).then(() => true),
    new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), SETTLE_MS); }),
  ]);
  clearTimeout(timer);
  const unanswered = REQUESTS - outcome.answered - outcome.cancelled - outcome.refused - outcome.lost;
  reportFigure('storm of requests with random cancels', {
    tried: REQUESTS, refused: outcome.refused + outcome.cancelled, lost: outcome.lost + unanswered + outcome.mixed,
    note: `${outcome.answered} answered, ${outcome.cancelled} cancelled with a cause, ${outcome.refused} refused (busy or cancelled before start)`,
  });
  assert.ok(settled, `every request settled (${unanswered} did not within ${SETTLE_MS / 1000} s)`);
  assert.equal(outcome.lost, 0);
  assert.equal(outcome.mixed, 0, 'no turn streamed another turn\'s text');

  // The KV cache after the storm: the same greedy turn here and on a fresh sidecar.
  const check = { turnId: 'after-storm', messages: [{ role: 'user' as const, content: 'Question 7: tell me about rivers tell me about rivers ' }], maxNewTokens: 24 };
  const here = await sidecar.rpc.sendRequest(ChatRequest, check);
  const fresh = await startSidecar(ensureModel('tiny', EXACT_MODEL));
  try {
    const there = await fresh.rpc.sendRequest(ChatRequest, check);
    assert.equal(here.text, there.text, 'the cache after the storm gives the same answer as a fresh one');
    assert.equal(here.usage.completionTokens, there.usage.completionTokens);
  } finally {
    fresh.stop();
  }
});
