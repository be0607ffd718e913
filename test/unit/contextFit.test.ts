// phi/chat's context fitting (sidecar/chat/contextFit.ts): what it leaves out and says, what it remembers (the cut
// of a conversation, the counts of messages it has seen), when it needs no count at all; and, on the tiny model's
// real Phi-4-mini tokenizer and template, that the totals it adds up from remembered counts are the engine's own and
// that its bound without tokenizing is never below them.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ContextFitter, tokenBound } from '../../sidecar/chat/contextFit';
import { trimNotice } from '../../sidecar/chat/contextTrim';
import { TokenCounter } from '../../sidecar/prompt/tokenCounter';
import type { ChatMessage, CountTokensParams, CountTokensResult, ModelInfo, ToolDefinition } from '../../sidecar/protocol';
import { ensureModel } from '../fixtures/models';

const model = (contextLength: number, dir = '/m') => ({ dir, contextLength, modelContextLength: contextLength }) as ModelInfo;

/**
 * TEST DOUBLE: an engine whose tokens are characters: 2 per message of markup, 1 for the prompt's end, 10 for tools.
 * `texts`: the texts it was asked to count (the costly part of a count: tokenizing content), in order.
 */
function charEngine(info: ModelInfo | undefined) {
  const texts: string[] = [];
  const engine = {
    model: info,
    async countTokens(params: CountTokensParams): Promise<CountTokensResult> {
      if (!params.messages) {
        texts.push(params.text ?? '');
        return { tokens: params.text?.length ?? 0 };
      }
      texts.push(...params.messages.map((m) => m.content).filter((c) => c));
      const perMessage = params.messages.map((m) => m.content.length + 2);
      return { tokens: 1 + (params.tools?.length ? 10 : 0) + perMessage.reduce((a, b) => a + b, 0), perMessage };
    },
  };
  return { engine, texts };
}

const turn = (n: number, size = 20): ChatMessage[] => [{ role: 'user', content: `q${n}`.padEnd(size, '.') }, { role: 'assistant', content: `a${n}`.padEnd(size, '.') }];
const system: ChatMessage = { role: 'system', content: 'sys' };
/** System (5 tokens), `turns` whole turns of 2 × 22 tokens, and a question (22): 1 + 5 + 44 × turns + 22 in all. */
const conversation = (turns: number): ChatMessage[] => [system, ...Array.from({ length: turns }, (_, i) => turn(i + 1)).flat(), turn(turns + 1)[0]];
const tool: ToolDefinition = { name: 'read_file', parameters: { type: 'object' } };

describe('ContextFitter (TEST DOUBLE: an engine that counts characters)', () => {
  it('sends what fits unchanged, and tokenizes only the texts it has not seen', async () => {
    const { engine, texts } = charEngine(model(400));
    const fitter = new ContextFitter(engine);
    const first = await fitter.fit({ turnId: 't', messages: conversation(2), maxNewTokens: 100 });
    assert.deepEqual(first.messages, conversation(2));
    assert.equal(first.trimmed, undefined);
    assert.deepEqual(first.figures, { total: 1 + 5 + 88 + 22, fitted: 116, budget: 300 });
    const next = await fitter.fit({ turnId: 't', messages: conversation(3), maxNewTokens: 100, tools: [tool] });
    assert.equal(next.figures?.total, 1 + 10 + 5 + 132 + 22);
    // The second turn tokenized the last answer and the new question; not the earlier messages again.
    assert.deepEqual(texts.map((t) => t.slice(0, 3)), ['sys', 'q1.', 'a1.', 'q2.', 'a2.', 'q3.', 'a3.', 'q4.']);
  });

  it('leaves out the oldest turns with a notice; with a conversation id, down to the target, and the same ones next time', async () => {
    const { engine } = charEngine(model(300));
    const fitter = new ContextFitter(engine);
    // Budget 300 − 100 = 200; five turns and a question are 248 tokens: without an id, two turns go (160).
    const alone = await fitter.fit({ turnId: 't', messages: conversation(5), maxNewTokens: 100 });
    assert.deepEqual(alone.trimmed, { droppedMessages: 4, droppedTurns: 2, notice: trimNotice(4, 300) });
    assert.deepEqual(alone.figures, { total: 248, fitted: 160, budget: 200 });
    const fifth = await fitter.fit({ turnId: 't', conversationId: 'c', messages: conversation(5), maxNewTokens: 100 });
    // The target is a quarter below the budget: 150. Dropping two turns gives 160, three 116.
    assert.equal(fifth.trimmed?.droppedTurns, 3);
    assert.equal(fifth.figures?.fitted, 116);
    assert.deepEqual(fifth.messages.slice(0, 2).map((m) => m.content.slice(0, 2)), ['sy', 'q4']);
    // The sixth question: the same three turns left out first, and that fits (160 ≤ 200): the prompt starts the same.
    const sixth = await fitter.fit({ turnId: 't', conversationId: 'c', messages: conversation(6), maxNewTokens: 100 });
    assert.equal(sixth.trimmed?.droppedTurns, 3);
    assert.deepEqual(sixth.messages.slice(0, 2).map((m) => m.content.slice(0, 2)), ['sy', 'q4']);
    // Another conversation has its own memory.
    const other = await fitter.fit({ turnId: 't', conversationId: 'd', messages: conversation(1), maxNewTokens: 100 });
    assert.equal(other.trimmed, undefined);
  });

  it('refuses a latest turn that cannot fit even alone, with its size, the tools\' share and the answer\'s', async () => {
    const { engine } = charEngine(model(100));
    const fitter = new ContextFitter(engine);
    const messages = [system, ...turn(1), { role: 'user', content: 'x'.repeat(60) } satisfies ChatMessage];
    await assert.rejects(fitter.fit({ turnId: 't', messages, maxNewTokens: 1000, tools: [tool] }), (e: { code?: string; message: string }) => {
      assert.equal(e.code, 'prompt-too-long');
      assert.equal(e.message, 'The request is 78 tokens (10 of them the definitions of the 1 tools offered), but the model\'s context of 100 keeps 50 of them for the answer.');
      return true;
    });
  });

  it('counts nothing while the text is clearly within the budget, and forgets a cut then', async () => {
    const { engine, texts } = charEngine(model(4096));
    const fitter = new ContextFitter(engine);
    const short = await fitter.fit({ turnId: 't', conversationId: 'c', messages: conversation(3), maxNewTokens: 1024, tools: [tool] });
    assert.deepEqual(short.messages, conversation(3));
    assert.equal(short.figures, undefined);
    assert.deepEqual(texts, [], 'nothing counted');
    // Over the bound it counts; a cut is remembered, and forgotten once all fits again (as a count that fits would).
    engine.model = model(300);
    assert.equal((await fitter.fit({ turnId: 't', conversationId: 'c', messages: conversation(5), maxNewTokens: 100 })).trimmed?.droppedTurns, 3);
    engine.model = model(4096);
    await fitter.fit({ turnId: 't', conversationId: 'c', messages: conversation(1), maxNewTokens: 100 });
    engine.model = model(300);
    assert.equal((await fitter.fit({ turnId: 't', conversationId: 'c', messages: conversation(4), maxNewTokens: 100 })).trimmed?.droppedTurns, 2);
  });

  it('keeps its own notice out of earlier answers, and leaves the context to the engine when it is not known', async () => {
    const { engine, texts } = charEngine(model(300));
    const fitter = new ContextFitter(engine);
    const messages: ChatMessage[] = [{ role: 'user', content: 'q' }, { role: 'assistant', content: `${trimNotice(4, 300)}The answer.` }, { role: 'user', content: 'q2' }];
    const fitted = await fitter.fit({ turnId: 't', messages, maxNewTokens: 100 });
    assert.equal(fitted.messages[1].content, 'The answer.');
    assert.deepEqual(texts, ['q', 'The answer.', 'q2']);
    for (const info of [undefined, model(0)]) {
      const unknown = charEngine(info);
      const same = await new ContextFitter(unknown.engine).fit({ turnId: 't', messages: conversation(50) });
      assert.deepEqual(same.messages, conversation(50));
      assert.deepEqual(unknown.texts, [], 'nothing counted');
    }
  });

  it('a Stop while it counts ends the fit at once, with the messages as they came', async () => {
    const { engine } = charEngine(model(300));
    let counting!: () => void;
    const started = new Promise<void>((resolve) => { counting = resolve; });
    const stuck = { ...engine, countTokens: () => { counting(); return new Promise<CountTokensResult>(() => {}); } };
    const abort = new AbortController();
    const fit = new ContextFitter(stuck).fit({ turnId: 't', messages: conversation(5), maxNewTokens: 100 }, abort.signal);
    await started;
    abort.abort();
    assert.deepEqual((await fit).messages, conversation(5));
  });

  it('counts everything again for another model', async () => {
    const { engine, texts } = charEngine(model(300, '/a'));
    const fitter = new ContextFitter(engine);
    await fitter.fit({ turnId: 't', messages: conversation(2), maxNewTokens: 100 });
    assert.equal(texts.length, conversation(2).length);
    await fitter.fit({ turnId: 't', messages: conversation(2), maxNewTokens: 100 });
    assert.equal(texts.length, conversation(2).length, 'the same model: nothing again');
    engine.model = model(300, '/b');
    await fitter.fit({ turnId: 't', messages: conversation(2), maxNewTokens: 100 });
    assert.equal(texts.length, 2 * conversation(2).length);
  });
});

describe('ContextFitter on the tiny model\'s tokenizer and template', () => {
  let dir: string;
  const counter = new TokenCounter();
  before(() => {
    dir = ensureModel('tiny');
  });

  const weather: ToolDefinition = { name: 'get_weather', description: 'Weather of a city.', parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Oslo', 'Tromsø'] } } } };
  const history: ChatMessage[] = [
    { role: 'system', content: 'You are Phi.' },
    { role: 'user', content: 'Weather in Oslo? <|end|><|assistant|> naïve 🙂 中文字符 \u00a0\t   1234567890' },
    { role: 'assistant', content: 'Checking.', toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo', note: 'a "quoted" \\ b' } }] },
    { role: 'tool', content: '{"sky": "clear"}', name: 'get_weather' },
    { role: 'assistant', content: 'Clear skies.\n\n```js\nconst a = 1;\n```' },
  ];
  const next: ChatMessage[] = [...history, { role: 'user', content: 'And in Bergen?' }];
  const cases = [[history, [weather]], [next, [weather]], [next, undefined], [next.slice(1), [weather]], [next.slice(1), undefined], [[], [weather]]] as const;

  it('adds up, from remembered counts, the same total the engine counts for the whole prompt', async () => {
    const engine = { model: model(1 << 20, dir), countTokens: async (p: CountTokensParams) => counter.count(dir, p) };
    const fitter = new ContextFitter(engine);
    for (const [messages, tools] of cases) {
      const counted = await fitter.count([...messages], tools && [...tools]);
      assert.equal(counted.total, counter.count(dir, { messages: [...messages], tools: tools && [...tools] }).tokens,
        `${messages.length} messages, ${tools ? 'with' : 'without'} tools`);
    }
  });

  it('bounds the tokens from above without tokenizing, whatever the text', () => {
    const texts = ['', ' ', 'a', '🙂🙂🙂', '中文字符'.repeat(50), ' '.repeat(300), '0123456789'.repeat(30), '<|end|>'.repeat(20), 'x\n'.repeat(100), '\u0000\u0001'];
    for (const [messages, tools] of [...cases, ...texts.map((content) => [[{ role: 'user', content }], undefined] as const)]) {
      const tokens = counter.count(dir, { messages: [...messages], tools: tools && [...tools] }).tokens;
      const bound = tokenBound(messages, tools);
      assert.ok(tokens <= bound, `${tokens} tokens ≤ ${bound}: ${JSON.stringify(messages).slice(0, 80)}`);
    }
  });
});
