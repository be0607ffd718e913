// The HTTP side of the download: GET with redirects followed by hand, through the proxy the user has, trusting the
// extra CA certificates they have (common/network.ts, shared with the remote engine). Failures become DownloadErrors
// that say what went wrong in words.
//
// undici gives streamed bodies and per-request header and body (stall) timeouts. Redirects are followed here rather than
// by undici's interceptor because the hub's first answer (a 302 to its file host) carries the file's metadata, and
// a Range request must keep its header across the hop.
import { request, type Dispatcher } from 'undici';
import type { NetworkSettings } from '../../../common/network';
import { DownloadError, isAbort } from './downloadError';

export { createDispatcher, describeProxy, readExtraCaCerts, type NetworkSettings } from '../../../common/network';

export interface HttpResponse {
  status: number;
  /** Headers of the final answer. */
  headers: Record<string, string | string[] | undefined>;
  /** Headers of the first answer (before any redirect): the hub puts the file's metadata there. */
  firstHeaders: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** Where the body came from, after redirects. */
  url: string;
}

const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED',
]);

function errorCode(e: unknown): string | undefined {
  const err = e as { code?: string; cause?: { code?: string } };
  return err?.cause?.code ?? err?.code;
}

/** What a failed request means for the user. */
export function networkError(e: unknown, url: string): DownloadError {
  if (e instanceof DownloadError) return e;
  const host = (() => { try { return new URL(url).host; } catch { return url; } })();
  const code = errorCode(e);
  const detail = (e as Error)?.message ?? String(e);
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new DownloadError('offline', `Could not find the host ${host} (${code}): this machine seems to be offline, or its DNS cannot resolve the hub.`, true);
    case 'ECONNREFUSED':
      return new DownloadError('offline', `${host} refused the connection (ECONNREFUSED): nothing answers there, or a firewall blocks it.`, true);
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return new DownloadError('offline', `Could not connect to ${host} (${code}): the network is unreachable or a firewall drops the connection.`, true);
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new DownloadError('offline', `The connection to ${host} stalled (no data for too long).`, true);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new DownloadError('offline', `The connection to ${host} dropped (${code}).`, true);
  }
  if (code && TLS_CODES.has(code)) {
    return new DownloadError('tls', `The certificate of ${host} is not trusted (${code}). Behind a proxy that inspects TLS, ` +
      'point NODE_EXTRA_CA_CERTS at its CA certificate (PEM) and restart VS Code.');
  }
  if (/Proxy response \((\d+)\)/.test(detail)) {
    const status = /Proxy response \((\d+)\)/.exec(detail)![1];
    return new DownloadError('proxy', `The proxy answered ${status} instead of connecting to ${host}` +
      `${status === '407' ? ' (it wants credentials: put them in the proxy URL, http://user:password@host:port)' : ''}. ` +
      'Check "http.proxy" or HTTPS_PROXY.');
  }
  return new DownloadError('offline', `The request to ${host} failed: ${detail}${code ? ` (${code})` : ''}.`, true);
}

export class HttpClient {
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly settings: Pick<NetworkSettings, 'stallSeconds'> = {},
    private readonly userAgent = 'phi-local-vscode/0.1',
  ) {}

  /** GET `url`, following up to 5 redirects; resolves with the final answer whatever its status. */
  async get(url: string, options: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<HttpResponse> {
    let current = url;
    let firstHeaders: HttpResponse['firstHeaders'] | undefined;
    const stallMs = (this.settings.stallSeconds ?? 30) * 1000;
    for (let hop = 0; hop <= 5; hop++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(current, {
          dispatcher: this.dispatcher,
          method: 'GET',
          headers: { 'user-agent': this.userAgent, ...options.headers },
          signal: options.signal,
          headersTimeout: stallMs,
          bodyTimeout: stallMs,
        });
      } catch (e) {
        if (isAbort(e) || options.signal?.aborted) throw e;
        throw networkError(e, current);
      }
      firstHeaders ??= res.headers;
      const location = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(res.statusCode) && typeof location === 'string') {
        await res.body.dump().catch(() => undefined);
        current = new URL(location, current).toString();
        continue;
      }
      return { status: res.statusCode, headers: res.headers, firstHeaders, body: res.body, url: current };
    }
    throw new DownloadError('bad-response', `Too many redirects starting from ${url}.`);
  }

  /** GET a JSON document (the hub's API); a non-JSON answer is a captive portal or a proxy's page. */
  async getJson(url: string, signal?: AbortSignal): Promise<{ json: unknown; headers: HttpResponse['headers'] }> {
    const res = await this.get(url, { headers: { accept: 'application/json' }, signal });
    const text = await res.body.text().catch((e: unknown) => { throw networkError(e, url); });
    if (res.status !== 200) throw statusError(res.status, url, text);
    try {
      return { json: JSON.parse(text), headers: res.headers };
    } catch {
      throw new DownloadError('bad-response', `${new URL(url).host} did not answer with the hub's JSON (it starts "${text.slice(0, 60).replace(/\s+/g, ' ')}"): ` +
        'a captive portal or a proxy login page may be in the way; open any web page in a browser first, or check phiLocal.download.endpoint.');
    }
  }
}

/** An HTTP status the download cannot go on from, in words. */
export function statusError(status: number, url: string, body = ''): DownloadError {
  const where = (() => { try { const u = new URL(url); return `${u.host}${decodeURIComponent(u.pathname)}`; } catch { return url; } })();
  if (status === 404) {
    return new DownloadError('not-found', `${where} does not exist (HTTP 404). The repository, revision or file is not on this endpoint: check the ` +
      '"phiLocal.download.endpoint" setting (a mirror must have microsoft/Phi-4-mini-instruct-onnx).');
  }
  if (status === 401 || status === 403) {
    return new DownloadError('http', `${where} refused access (HTTP ${status}). The hub or mirror wants a sign-in Phi Local does not do; download the folder by hand and use "Phi: Select Model Folder".`);
  }
  if (status === 407) return new DownloadError('proxy', `The proxy wants credentials (HTTP 407): put them in "http.proxy" as http://user:password@host:port.`);
  const retryable = status >= 500 || status === 429 || status === 408;
  const hint = body && !body.trimStart().startsWith('<') ? `: ${body.slice(0, 200)}` : '';
  return new DownloadError('http', `${where} answered HTTP ${status}${hint}.`, retryable);
}
