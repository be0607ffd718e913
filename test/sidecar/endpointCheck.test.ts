// Phi: Doctor's check of a remote engine's server (extension/doctor/endpointCheck.ts), against a real server:
// `phi-local serve` on the tiny model, through the same proxy/CA dispatcher as the model download. Each failure
// names its fix: a refused port, a missing key, a model the server does not list.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkEndpoint } from '../../extension/doctor/endpointCheck';
import { createDispatcher } from '../../extension/model/download/httpClient';
import { Engine } from '../../sidecar/engine/engine';
import { serveOpenAi, type RunningServer } from '../../sidecar/serve/openaiServer';
import { ensureModel } from '../fixtures/models';

describe('Doctor: the remote engine\'s server, checked step by step (phi-local serve, tiny model)', () => {
  let engine: Engine;
  let open: RunningServer;
  let locked: RunningServer;
  const dispatcher = createDispatcher({ strictSSL: true }, {});

  before(async () => {
    engine = new Engine();
    await engine.load({ dir: ensureModel('tiny'), executionProvider: 'cpu', threads: 2 });
    open = await serveOpenAi(engine, { port: 0, modelId: 'phi-tiny' });
    locked = await serveOpenAi(engine, { port: 0, modelId: 'phi-tiny', apiKey: 'k' });
  });
  after(async () => {
    await open?.close();
    await locked?.close();
    await engine?.dispose();
  });

  it('a working server passes every step, with the 1-token answer\'s time', async () => {
    const r = await checkEndpoint(open.url, undefined, undefined, dispatcher);
    assert.deepEqual(r.steps.map((s) => [s.name, s.ok]), [['reachable', true], ['key', true], ['model', true], ['prompts', true], ['answer', true]]);
    assert.ok(r.latencyMs !== undefined && r.latencyMs > 0);
    assert.match(r.steps[3].detail, /server's chat template/);
    assert.match(r.steps[3].fix ?? '', /Download Tokenizer Files/);
    assert.match(r.steps[2].detail, /"phi-tiny" \(the first listed/);
    assert.equal(r.tls, false);
  });

  it('with Phi-4\'s tokenizer files: prompts made here, and the 1-token answer from /v1/completions; without them, "completions" says what to do', async () => {
    const r = await checkEndpoint(open.url, undefined, undefined, dispatcher, { api: 'auto', tokenizerDir: ensureModel('tiny') });
    assert.ok(r.steps.every((s) => s.ok), JSON.stringify(r.steps));
    assert.match(r.steps[3].detail, /Phi-4's own template .*\/v1\/completions/);
    const missing = await checkEndpoint(open.url, undefined, undefined, dispatcher, { api: 'completions' });
    assert.deepEqual(missing.steps.at(-1)?.name, 'prompts');
    assert.equal(missing.steps.at(-1)?.ok, false);
    assert.match(missing.steps.at(-1)?.fix ?? '', /Download Tokenizer Files/);
  });

  it('a missing key: the key step fails and says to set it', async () => {
    const r = await checkEndpoint(locked.url, undefined, undefined, dispatcher);
    assert.deepEqual(r.steps.map((s) => [s.name, s.ok]), [['reachable', true], ['key', false]]);
    assert.match(r.steps[1].fix ?? '', /Phi: Set Remote API Key/);
    const keyed = await checkEndpoint(locked.url, 'phi-tiny', 'k', dispatcher);
    assert.ok(keyed.steps.every((s) => s.ok), JSON.stringify(keyed.steps));
  });

  it('a model the server does not list: the fix names the ones it does', async () => {
    const r = await checkEndpoint(open.url, 'gpt-9', undefined, dispatcher);
    assert.equal(r.steps.at(-1)?.name, 'model');
    assert.equal(r.steps.at(-1)?.ok, false);
    assert.match(r.steps.at(-1)?.fix ?? '', /phiLocal\.remote\.model to one of: phi-tiny/);
  });

  it('nothing listening: not reachable, and the fix is the URL or the proxy', async () => {
    const r = await checkEndpoint('http://127.0.0.1:9/v1', undefined, undefined, dispatcher);
    assert.deepEqual(r.steps.map((s) => [s.name, s.ok]), [['reachable', false]]);
    assert.match(r.steps[0].detail, /refused the connection/);
    assert.match(r.steps[0].fix ?? '', /phiLocal\.remote\.url .*proxy/);
  });
});
