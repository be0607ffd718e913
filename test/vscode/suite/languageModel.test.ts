// Phi-4-mini as a model of VS Code's language-model API, through the real extension and sidecar on the generated
// tiny model (random weights: gibberish, greedy so repeatable). Where the VS Code running the suite has the
// provider API (1.104 and later; CI: code-server 4.139.1), the model is found, answers, stops, counts and calls
// tools through `vscode.lm` exactly as another extension or VS Code's Chat would. Where it has not (CI: 1.100.3),
// the extension activates without it and the model still answers in our own chat.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import type { PhiLocalApi } from '../../../extension/api';
import { RenderPromptRequest, type ChatMessage } from '../../../sidecar/protocol';
import { phiApi, readyOnCpu, setSetting, testModel } from '../helpers';

const VENDOR = 'phi-local';
const hasProviderApi = typeof (vscode.lm as { registerLanguageModelChatProvider?: unknown }).registerLanguageModelChatProvider === 'function';

/** Everything a response streams, by kind, in order. */
async function collect(response: vscode.LanguageModelChatResponse) {
  const texts: string[] = [];
  const calls: vscode.LanguageModelToolCallPart[] = [];
  for await (const part of response.stream) {
    if (part instanceof vscode.LanguageModelTextPart) texts.push(part.value);
    else if (part instanceof vscode.LanguageModelToolCallPart) calls.push(part);
  }
  return { texts, text: texts.join(''), calls };
}

async function cpuModel(): Promise<PhiLocalApi> {
  await setSetting('executionProvider', 'cpu');
  await setSetting('threads', 2);
  const api = await phiApi();
  await api.models.ensureLoaded();
  await readyOnCpu(api);
  return api;
}

if (!hasProviderApi) {
  describe(`no language-model provider on VS Code ${vscode.version}`, function () {
    this.timeout(120_000);
    after(async () => {
      for (const key of ['executionProvider', 'threads']) await setSetting(key, undefined);
    });

    it('activates without the provider, and the model answers in our own chat', async () => {
      const api = await cpuModel();
      assert.equal(api.chatModelProvider, undefined, 'no provider where VS Code has no registerLanguageModelChatProvider');
      const result = await api.sidecar.chat({ turnId: randomUUID(), messages: [{ role: 'user', content: 'Hello' }], maxNewTokens: 4 }, () => undefined);
      assert.ok(result.tokenIds.length > 0, 'the sidecar answered');
    });
  });
} else {
  describe(`Phi-4-mini in vscode.lm on VS Code ${vscode.version} (tiny model)`, function () {
    this.timeout(120_000);
    let api: PhiLocalApi;
    let model: vscode.LanguageModelChat;

    before(async () => {
      await setSetting('maxNewTokens', 24);
      await setSetting('temperature', 0);
      api = await cpuModel();
    });

    after(async () => {
      for (const key of ['executionProvider', 'threads', 'maxNewTokens', 'temperature']) await setSetting(key, undefined);
    });

    /** The model VS Code lists for our vendor now (it re-reads our information after each change). */
    async function phiModel(): Promise<vscode.LanguageModelChat> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const models = await vscode.lm.selectChatModels({ vendor: VENDOR });
        const info = api.chatModelProvider?.information();
        const found = models.find((m) => m.id === info?.id && m.maxInputTokens === info?.maxInputTokens);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(`selectChatModels({vendor: '${VENDOR}'}) gave ${JSON.stringify(models.map((m) => [m.id, m.maxInputTokens]))}; the provider says ${JSON.stringify(info)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    it('selectChatModels({vendor: "phi-local"}) finds "Phi-4-mini (local)" with the loaded model\'s limits', async () => {
      assert.ok(api.chatModelProvider, 'the provider is registered');
      model = await phiModel();
      const phase = api.models.phase;
      assert.equal(phase.kind, 'ready');
      assert.equal(model.name, 'Phi-4-mini (local)');
      assert.equal(model.vendor, VENDOR);
      assert.equal(model.family, 'phi-4-mini');
      assert.equal(model.maxInputTokens + 24, phase.info.contextLength, 'input + output = the context the model was loaded with');
    });

    it('sendRequest streams the text the model generates', async () => {
      // Watch the provider's phi/chat: what the sidecar generated, and the request it got.
      const turns: { params: Parameters<PhiLocalApi['sidecar']['chat']>[0]; result: Awaited<ReturnType<PhiLocalApi['sidecar']['chat']>> }[] = [];
      const original = api.sidecar.chat;
      api.sidecar.chat = async function (params, onDelta, token) {
        const result = await original.call(this, params, onDelta, token);
        turns.push({ params, result });
        return result;
      };
      try {
        const response = await model.sendRequest([vscode.LanguageModelChatMessage.User('Tell me about Paris.')], {}, new vscode.CancellationTokenSource().token);
        const { texts, text } = await collect(response);
        assert.equal(turns.length, 1, 'one phi/chat');
        assert.deepEqual(turns[0].params.messages, [{ role: 'user', content: 'Tell me about Paris.' }]);
        assert.ok(turns[0].result.tokenIds.length > 0, 'the model generated tokens');
        assert.ok(texts.length >= 2, `streamed in ${texts.length} parts`);
        assert.equal(text, turns[0].result.text, 'the stream is the generated text, whole and unaltered');
      } finally {
        api.sidecar.chat = original;
      }
    });

    it('cancelling stops the turn early: it ends cancelled, far short of its token budget, and the sidecar goes on', async () => {
      await setSetting('maxNewTokens', 3000);
      const long = await phiModel();
      // The provider's phi/chat for this request: the token budget it asked for and how the sidecar ended it.
      type Turn = { params: Parameters<PhiLocalApi['sidecar']['chat']>[0]; result: Awaited<ReturnType<PhiLocalApi['sidecar']['chat']>> };
      let turn: Promise<Turn> | undefined;
      const original = api.sidecar.chat;
      api.sidecar.chat = function (params, onDelta, token) {
        const call = original.call(this, params, onDelta, token);
        turn = call.then((result) => ({ params, result }));
        return call;
      };
      let parts = 0;
      let partsAtCancel = 0;
      try {
        const cts = new vscode.CancellationTokenSource();
        const response = await long.sendRequest([vscode.LanguageModelChatMessage.User('Write a very long story.')], {}, cts.token);
        const stream = (async () => {
          for await (const part of response.stream) {
            void part;
            if (++parts === 3) {
              partsAtCancel = parts;
              cts.cancel();
            }
          }
        })();
        await stream.catch(() => undefined); // a cancelled stream may end or reject: either is fine
        assert.equal(partsAtCancel, 3, `the answer streamed before the cancel (${parts} parts)`);
        assert.ok(turn, 'the request reached the sidecar');
        const { params, result } = await turn;
        // Counted in tokens, not milliseconds: had the cancel not reached the sidecar, the turn would have run to its
        // budget and ended 'length' with all of it. Each of the 3 parts seen before the cancel is at least one token.
        assert.equal(params.maxNewTokens, 3000, 'the answer\'s budget is phiLocal.maxNewTokens');
        assert.equal(result.finishReason, 'cancelled', `the turn ended because it was cancelled (${result.tokenIds.length} tokens)`);
        assert.ok(result.tokenIds.length >= partsAtCancel && result.tokenIds.length < params.maxNewTokens,
          `the cancelled turn generated ${result.tokenIds.length} of the ${params.maxNewTokens} tokens it could have`);
        console.log(`cancelled after ${partsAtCancel} parts: ${result.tokenIds.length} tokens generated, ${parts} parts reached the consumer`);
      } finally {
        api.sidecar.chat = original;
      }
      // The sidecar goes on: the next request gets the one token it asks for, and then nothing is generating.
      const next = await api.sidecar.chat({ turnId: randomUUID(), messages: [{ role: 'user', content: 'Hi' }], maxNewTokens: 1 }, () => undefined);
      assert.equal(next.tokenIds.length, 1);
      assert.equal(next.finishReason, 'length');
      assert.equal(api.sidecar.lastStatus?.generating, undefined, 'nothing is generating');
      await setSetting('maxNewTokens', 24);
    });

    it('countTokens equals the tokenizer\'s count in the prompt the engine renders', async () => {
      const client = await api.sidecar.start();
      // By method name: this bundle's RequestType objects are not the extension bundle's (vscode-jsonrpc checks identity).
      const rendered = async (messages: ChatMessage[]) =>
        (await client.sendRequest<{ ids: number[] }>(RenderPromptRequest.method, { messages })).ids.length;
      const text = 'function add(a, b) { return a + b; } // naïve 🙂 <|end|>';
      const expected = (await rendered([{ role: 'user', content: text }])) - (await rendered([{ role: 'user', content: '' }]));
      model = await phiModel();
      assert.equal(await model.countTokens(text), expected);
      // A message: its text and its role markers (<|user|> … <|end|>).
      assert.equal(await model.countTokens(vscode.LanguageModelChatMessage.User(text)), expected + 2);
    });

    it('a request with a tool and toolMode Required returns a tool-call part (tiny model, constrained decoding)', async () => {
      const tools: vscode.LanguageModelChatTool[] = [{
        name: 'get_weather',
        description: 'The weather in a city.',
        inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      }];
      await setSetting('maxNewTokens', 200);
      model = await phiModel();
      const response = await model.sendRequest([vscode.LanguageModelChatMessage.User('What is the weather in Paris?')],
        { tools, toolMode: vscode.LanguageModelChatToolMode.Required }, new vscode.CancellationTokenSource().token);
      const { calls } = await collect(response);
      assert.equal(calls.length >= 1, true, 'a tool call came back');
      assert.equal(calls[0].name, 'get_weather');
      assert.equal(typeof (calls[0].input as { city?: unknown }).city, 'string', `input ${JSON.stringify(calls[0].input)}`);
      assert.ok(calls[0].callId, 'the call has an id');

      // Its result in the next request is rendered as a tool response and answered.
      const followUp = await model.sendRequest([
        vscode.LanguageModelChatMessage.User('What is the weather in Paris?'),
        vscode.LanguageModelChatMessage.Assistant([calls[0]]),
        vscode.LanguageModelChatMessage.User([new vscode.LanguageModelToolResultPart(calls[0].callId, [new vscode.LanguageModelTextPart('21 °C, sunny')])]),
      ], { tools }, new vscode.CancellationTokenSource().token);
      const answer = await collect(followUp);
      assert.ok(answer.text.length > 0 || answer.calls.length > 0, 'the model answered the tool result');
      await setSetting('maxNewTokens', 24);
    });

    it('a model folder that does not load: the request fails with what is wrong and what to do', async () => {
      // The tiny model's folder without its tokenizer (the weights linked, not copied).
      const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-lm-broken-'));
      for (const f of fs.readdirSync(testModel())) {
        if (f === 'tokenizer.json' || f.startsWith('model.phi-local-')) continue;
        if (f.endsWith('.data')) fs.symlinkSync(path.join(testModel(), f), path.join(broken, f));
        else fs.copyFileSync(path.join(testModel(), f), path.join(broken, f));
      }
      try {
        await setSetting('modelPath', broken);
        const listed = await phiModel(); // the configured folder is listed (its genai_config.json gives the context)
        assert.equal(listed.name, 'Phi-4-mini (local)');
        await assert.rejects(
          async () => collect(await listed.sendRequest([vscode.LanguageModelChatMessage.User('Hi')], {}, new vscode.CancellationTokenSource().token)),
          (e: Error) => /tokenizer\.json/.test(e.message) && /Phi: Manage Models/.test(e.message),
        );
      } finally {
        await setSetting('modelPath', undefined);
        fs.rmSync(broken, { recursive: true, force: true });
      }
      await api.models.ensureLoaded();
      await readyOnCpu(api);
    });
  });
}
