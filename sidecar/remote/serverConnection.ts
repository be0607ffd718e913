// One OpenAI-compatible server as the remote engine speaks to it: its base URL and key, requests retried while the
// connection fails before any answer (never after: a generation is not repeated), and every failure said as an
// EngineError that names the fix (401: the key; 404: the URL or model; refused or timed out: URL, server, proxy;
// a certificate it cannot check: NODE_EXTRA_CA_CERTS). Through the user's proxy and CAs, as the download
// (common/network.ts): undici's own fetch, so that the dispatcher is the one it was built for.
import { fetch, type Dispatcher, type RequestInit, type Response } from 'undici';
import { createDispatcher, networkSettingsFromEnv } from '../../common/network';
import { EngineError } from '../engineError';

const RETRIES_BEFORE_FIRST_BYTE = 2;

export class ServerConnection {
  /** The base URL without a trailing slash, e.g. http://gpu-box:8000/v1. */
  readonly base: string;

  private readonly dispatcher: Dispatcher;

  /** `env`: where the network settings come from (networkEnv in common/network.ts; the sidecar's environment). */
  constructor(url: string, private readonly apiKey?: string, env: Record<string, string | undefined> = process.env) {
    this.base = url.replace(/\/+$/, '');
    this.dispatcher = createDispatcher(networkSettingsFromEnv(env), env);
  }

  /** fetch through the user's proxy and CAs. */
  fetch(path: string, init: RequestInit): Promise<Response> {
    return fetch(`${this.base}${path}`, { ...init, headers: this.headers(), dispatcher: this.dispatcher });
  }

  get host(): string {
    return new URL(this.base).host;
  }

  headers(): Record<string, string> {
    return { 'content-type': 'application/json', ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}) };
  }

  /** POST a JSON body to `path` (under the base URL), retried before the first byte. */
  post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    return this.request(path, { method: 'POST', body: JSON.stringify(body), signal });
  }

  async request(path: string, init: RequestInit): Promise<Response> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= RETRIES_BEFORE_FIRST_BYTE; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      if (init.signal?.aborted) throw new EngineError('internal', 'cancelled');
      try {
        const res = await this.fetch(path, init);
        if (res.ok) return res;
        throw await this.httpError(path, res);
      } catch (e) {
        if (e instanceof EngineError) throw e;
        if (init.signal?.aborted) throw e;
        lastError = e;
      }
    }
    const cause = (lastError as { cause?: { code?: string; message?: string } })?.cause;
    const code = cause?.code ?? '';
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
      throw new EngineError('model-load', `${this.base}'s certificate could not be checked (${code}): add your CA's certificate with NODE_EXTRA_CA_CERTS (a PEM file) and restart VS Code.`);
    }
    throw new EngineError('model-load', `Could not reach ${this.base} (${code || cause?.message || (lastError as Error)?.message}): check the URL, that the server runs, and the proxy.`);
  }

  private async httpError(path: string, res: Response): Promise<EngineError> {
    const body = await res.text().catch(() => '');
    let message = body.slice(0, 300);
    try {
      message = JSON.parse(body)?.error?.message ?? JSON.parse(body)?.message ?? message;
    } catch { /* not JSON */ }
    const hint = res.status === 401 ? ' Set the server\'s API key (Phi: Set Remote API Key).'
      : res.status === 404 ? ' Check the URL (it ends in /v1) and pick a model the server lists.'
      : res.status === 429 ? ' The server is busy; try again shortly.' : '';
    // vLLM says a prompt past the context in a 400 ("maximum context length is … tokens").
    const code = res.status === 429 ? 'busy'
      : res.status === 400 ? (/context length|too long|context window/i.test(message) ? 'prompt-too-long' : 'bad-request') : 'internal';
    return new EngineError(code, `${this.base}${path} answered ${res.status}: ${message}.${hint}`);
  }
}
