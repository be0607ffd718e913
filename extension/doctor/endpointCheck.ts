// Phi: Doctor's check of the remote engine's server, step by step, each failure with its fix: reachable (and over
// TLS, its certificate), the key accepted, the model listed, how prompts are made (Phi-4's template here, or the
// server's), a 1-token answer on the endpoint the engine will use, and how long that took. Requests go
// through the same proxy, CA and strict-SSL handling as the model download (model/download/httpClient.ts). Nothing
// of the user's is sent: the answer is to the word "Hi".
import { request, type Dispatcher } from 'undici';
import { networkError } from '../model/download/httpClient';

export interface EndpointStep {
  name: 'reachable' | 'key' | 'model' | 'prompts' | 'answer';
  ok: boolean;
  detail: string;
  /** What to do when it failed. */
  fix?: string;
}

export interface EndpointCheck {
  url: string;
  tls: boolean;
  steps: EndpointStep[];
  /** The 1-token answer's round trip, when it came. */
  latencyMs?: number;
}

/** How the remote engine will make its prompts (phiLocal.remote.api, and Phi-4's tokenizer files if found). */
export interface PromptSetup {
  api: 'auto' | 'chat' | 'completions';
  tokenizerDir?: string;
}

/** GET <base>/models: its status and body (a network failure throws). */
export async function getModels(base: string, apiKey: string | undefined, dispatcher: Dispatcher): Promise<{ status: number; body: string }> {
  const headers = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  const res = await request(`${base.replace(/\/+$/, '')}/models`, { method: 'GET', headers, dispatcher, headersTimeout: 15_000, bodyTimeout: 15_000 });
  return { status: res.statusCode, body: await res.body.text() };
}

export async function checkEndpoint(
  url: string, model: string | undefined, apiKey: string | undefined, dispatcher: Dispatcher, prompts: PromptSetup = { api: 'auto' },
): Promise<EndpointCheck> {
  const base = url.replace(/\/+$/, '');
  const result: EndpointCheck = { url: base, tls: base.startsWith('https:'), steps: [] };
  const headers = { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
  const step = (s: EndpointStep) => { result.steps.push(s); return s.ok; };

  let listing: { status: number; body: string };
  try {
    listing = await getModels(base, apiKey, dispatcher);
  } catch (e) {
    const error = networkError(e, `${base}/models`);
    step({
      name: 'reachable', ok: false, detail: error.message,
      fix: error.code === 'tls' ? 'Point NODE_EXTRA_CA_CERTS at the server\'s CA certificate (PEM) and restart VS Code.'
        : 'Check phiLocal.remote.url (it ends in /v1), that the server runs, and http.proxy / NO_PROXY.',
    });
    return result;
  }
  step({ name: 'reachable', ok: true, detail: `${base}/models answered ${listing.status}${result.tls ? ' over TLS (certificate trusted)' : ' (plain HTTP: fine on a trusted network)'}.` });
  if (listing.status === 401 || listing.status === 403) {
    step({ name: 'key', ok: false, detail: `The server answered ${listing.status}: it wants a key${apiKey ? ' other than the one set' : ''}.`, fix: 'Run "Phi: Set Remote API Key".' });
    return result;
  }
  step({ name: 'key', ok: true, detail: apiKey ? 'The key was accepted.' : 'No key is set, and the server wants none.' });
  if (listing.status === 404) {
    step({ name: 'model', ok: false, detail: `${base}/models does not exist (404).`, fix: 'phiLocal.remote.url must be the OpenAI base URL, ending in /v1.' });
    return result;
  }
  let ids: string[] = [];
  try {
    ids = (JSON.parse(listing.body) as { data?: { id: string }[] }).data?.map((m) => m.id) ?? [];
  } catch { /* not JSON: reported below */ }
  const chosen = model ?? ids[0];
  if (!chosen || !ids.includes(chosen)) {
    step({
      name: 'model', ok: false, detail: model ? `The server does not list "${model}"; it lists ${ids.join(', ') || 'no model'}.` : 'The server lists no model.',
      fix: ids.length ? `Set phiLocal.remote.model to one of: ${ids.join(', ')}.` : 'Start the server with a model.',
    });
    return result;
  }
  step({ name: 'model', ok: true, detail: `"${chosen}"${model ? '' : ' (the first listed; phiLocal.remote.model is empty)'}. The server lists ${ids.length}.` });

  // The same choice as the engine's (sidecar/remote/remoteEngine.ts).
  const completions = prompts.api !== 'chat' && !!prompts.tokenizerDir;
  if (prompts.api === 'completions' && !prompts.tokenizerDir) {
    step({ name: 'prompts', ok: false, detail: 'phiLocal.remote.api is "completions", but Phi-4\'s tokenizer files are not on this machine.', fix: 'Run "Phi: Download Tokenizer Files for the Remote Engine", or set phiLocal.remote.api to "auto".' });
    return result;
  }
  step(completions
    ? { name: 'prompts', ok: true, detail: `Phi-4's own template and tokenizer (${prompts.tokenizerDir}), sent to /v1/completions; tool calls constrained by the server's structured output.` }
    : { name: 'prompts', ok: true, detail: `The server's chat template (/v1/chat/completions)${prompts.api === 'chat' ? ', as phiLocal.remote.api says' : ''}.`,
      ...(prompts.api === 'auto' ? { fix: 'For a Phi-4 model, "Phi: Download Tokenizer Files for the Remote Engine" makes the prompts exact (vLLM\'s Phi-4 tool parser does not stream).' } : {}) });

  const path = completions ? '/completions' : '/chat/completions';
  const started = performance.now();
  try {
    const res = await request(`${base}${path}`, {
      method: 'POST', headers, dispatcher, headersTimeout: 60_000, bodyTimeout: 60_000,
      body: JSON.stringify(completions
        ? { model: chosen, prompt: '<|user|>Hi<|end|><|assistant|>', max_tokens: 1, temperature: 0 }
        : { model: chosen, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1, temperature: 0 }),
    });
    const body = await res.body.text();
    result.latencyMs = performance.now() - started;
    if (res.statusCode !== 200) {
      let message = body.slice(0, 200);
      try { message = JSON.parse(body)?.error?.message ?? message; } catch { /* not JSON */ }
      step({ name: 'answer', ok: false, detail: `A 1-token answer failed: ${res.statusCode} ${message}`, fix: `The server's log says why; check it serves ${completions ? 'completions (or set phiLocal.remote.api to "chat")' : 'chat completions'}.` });
      return result;
    }
    step({ name: 'answer', ok: true, detail: `A 1-token answer came in ${Math.round(result.latencyMs)} ms.` });
  } catch (e) {
    step({ name: 'answer', ok: false, detail: networkError(e, `${base}${path}`).message, fix: 'The server accepted the connection but did not answer: check its log and load.' });
  }
  return result;
}
