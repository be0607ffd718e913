// A conversation longer than the model's context, in the chat panel of a real VS Code (code-server 4.100.3) on the
// generated tiny model with a 512-token context: the oldest turns are left out with a notice at the start of the
// answer (never a silent cut), the next question keeps the same turns out (the same prompt start, so the sidecar's
// cache is reused), and a question that cannot fit even alone gets an error that says what to do — the
// conversation stays.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../fixtures/models';
import { Workbench } from './workbench';

// About 84 tokens: with 24-token answers the fifth question is over the 488 tokens a prompt may have, and the cut
// goes down to 366 (a quarter below), so the sixth fits on the same prompt start.
const QUESTION = 'Explain how a hash map resolves collisions, why its load factor matters, when it resizes, ' +
  'and what that costs compared with a balanced search tree, for keys that are short strings. Then explain it again ' +
  'for a hash set of integers, with open addressing instead of chaining, and say which one you would pick. Number';

describe('a long conversation in the chat panel (tiny model, 512-token context)', () => {
  let wb: Workbench;

  before(async () => {
    wb = new Workbench('chat-long', {
      env: { PHI_LOCAL_MODEL: ensureModel('tiny') },
      settings: {
        'phiLocal.executionProvider': 'cpu', 'phiLocal.threads': 2, 'phiLocal.temperature': 0,
        'phiLocal.contextLength': 512, 'phiLocal.maxNewTokens': 24, 'phiLocal.tools.enabled': false,
      },
    });
    await wb.start();
    await wb.command('Phi: Open Chat');
    await wb.chat().locator('textarea#prompt').waitFor({ timeout: 30_000 });
  });
  after(async () => {
    await wb?.stop();
  });

  /** The prompt's size (tokens) and how many of them came from the sidecar's cache, from an answer's footer. */
  interface PromptFigures { tokens: number; reused: number }

  /**
   * Asks, waits for the answer to end, and returns its state, text and the prompt figures of its footer. A finished
   * ('done') answer without them fails here: every finished turn has stats, and the footer that shows them is drawn
   * in the same update that sets data-state (media/chat.ts, updateAssistant), so there is nothing to wait for.
   */
  async function ask(text: string): Promise<{ state: string | null; text: string; prompt: PromptFigures | undefined }> {
    const chat = wb.chat();
    const count = await chat.locator('.message.assistant').count();
    await chat.locator('textarea#prompt').fill(text);
    await chat.locator('textarea#prompt').press('Enter');
    const answer = chat.locator('.message.assistant').nth(count);
    await answer.and(chat.locator('[data-state="done"], [data-state="error"]')).waitFor({ timeout: 120_000 });
    const state = await answer.getAttribute('data-state');
    const stats = answer.locator('.stats');
    const title = (await stats.count()) === 1 ? await stats.getAttribute('title') : null;
    const figures = title === null ? null : /^Prompt (\d+) tokens \((\d+) reused from the cache\)/.exec(title);
    if (state === 'done') assert.ok(figures, `the finished answer's footer gives its prompt figures (its title: ${JSON.stringify(title)})`);
    return {
      state, text: await answer.innerText(),
      prompt: figures ? { tokens: Number(figures[1]), reused: Number(figures[2]) } : undefined,
    };
  }

  it('leaves out the oldest turns with a notice, and keeps them out for the next question', async () => {
    for (const n of [1, 2, 3, 4]) {
      const answer = await ask(`${QUESTION} ${n}.`);
      assert.equal(answer.state, 'done', `answer ${n}: ${answer.text}`);
      assert.doesNotMatch(answer.text, /left out/, `answer ${n} needed no cut`);
    }
    const fifth = await ask(`${QUESTION} 5.`);
    assert.equal(fifth.state, 'done', fifth.text);
    assert.match(fifth.text, /oldest messages of this conversation were left out to fit the model's context of 512 tokens/);
    await wb.screenshot('trimmed');
    // The turns left out stay out, so the sixth question fits on the same prompt start without a new cut.
    const sixth = await ask(`${QUESTION} 6.`);
    assert.equal(sixth.state, 'done', sixth.text);
    assert.match(sixth.text, /left out to fit/);
    const [five, six] = [fifth.prompt, sixth.prompt];
    assert.ok(five && six, 'both answers give their prompt figures'); // ask() fails first when one does not
    // The cut makes each prompt fit: 512-token context − 24 kept for the answer (phiLocal.maxNewTokens) = 488.
    assert.ok(five.tokens > 0 && five.tokens <= 488, `the fifth prompt fits in 488 tokens: ${five.tokens}`);
    assert.ok(six.tokens > five.tokens && six.tokens <= 488, `the sixth prompt is longer than the fifth and fits: ${six.tokens}`);
    // The sixth prompt starts with the whole fifth prompt (same turns left out), so all of it comes from the cache.
    assert.ok(six.reused >= five.tokens,
      `the sixth prompt reused the fifth's cache (${six.reused} reused, the fifth prompt was ${five.tokens} tokens)`);
    console.log(`prompts: fifth ${five.tokens} tokens (${five.reused} reused), sixth ${six.tokens} (${six.reused} reused)`);
    // Every question is still in the panel: leaving turns out of the prompt loses nothing of the conversation.
    assert.equal(await wb.chat().locator('.message.user').count(), 6);
  });

  it('a question that cannot fit even alone says what to do, and the conversation stays', async () => {
    const answer = await ask(`${QUESTION.repeat(7)} 7.`);
    assert.equal(answer.state, 'error');
    assert.match(answer.text, /tokens, but the model's context of 512 keeps 24 of them for the answer/);
    assert.match(answer.text, /Start a new chat, or remove the attached context/);
    await wb.screenshot('too-long');
    const next = await ask(`${QUESTION} 8.`);
    assert.equal(next.state, 'done', next.text);
    assert.equal(await wb.chat().locator('.message.user').count(), 8);
  });
});
