// The HTTP side of the download: GET with redirects followed by hand, through the proxy the user has, trusting the
// extra CA certificates they have. Failures become DownloadErrors that say what went wrong in words.
//
// undici (the Node.js project's own HTTP client, the one inside Node's fetch) was picked because one well-kept
// library gives all of it: streamed bodies, per-request header and body (stall) timeouts, and EnvHttpProxyAgent, which
// sends https through an HTTP CONNECT (or SOCKS5) proxy and honours NO_PROXY, the fix other local-model extensions
// adopted for "the download ignores my proxy" (reference/anchors.md §10). Redirects are followed here rather than
// by undici's interceptor because the hub's first answer (a 302 to its file host) carries the file's metadata, and
// a Range request must keep its header across the hop.
import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import { DownloadError, isAbort } from './downloadError';

export interface NetworkSettings {
  /** VS Code's `http.proxy`; empty: the environment's HTTPS_PROXY / HTTP_PROXY. */
  proxy?: string;
  /** VS Code's `http.noProxy`, added to NO_PROXY. */
  noProxy?: readonly string[];
  /** VS Code's `http.proxyStrictSSL` (default true): false accepts any certificate. */
  strictSSL?: boolean;
  /** PEM text of extra CA certificates to trust besides Node's (see readExtraCaCerts). */
  extraCaCerts?: string;
  /** Seconds without a byte before a request is given up (and retried): the stall timeout. Default 30. */
  stallSeconds?: number;
  /** Seconds to wait for a connection. Default 15. */
  connectSeconds?: number;
}

/**
 * The certificates NODE_EXTRA_CA_CERTS names. Node reads that variable only at start-up, and an explicit `ca`
 * replaces its defaults, so the file is read here and added to Node's roots.
 */
export function readExtraCaCerts(env: Record<string, string | undefined> = process.env): { pem?: string; warning?: string } {
  const file = env.NODE_EXTRA_CA_CERTS?.trim();
  if (!file) return {};
  try {
    return { pem: fs.readFileSync(file, 'utf8') };
  } catch (e) {
    return { warning: `NODE_EXTRA_CA_CERTS names ${file}, which could not be read (${(e as Error).message}); using the default certificates.` };
  }
}

/** The proxy a setting or the environment names, without its password (for logs and reports). */
export function describeProxy(settings: NetworkSettings, env: Record<string, string | undefined> = process.env): string {
  const raw = settings.proxy?.trim() || env.https_proxy || env.HTTPS_PROXY || env.http_proxy || env.HTTP_PROXY;
  if (!raw) return 'none';
  const from = settings.proxy?.trim() ? 'http.proxy' : 'environment';
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host} (${from})`;
  } catch {
    return `an unparsable proxy URL (${from})`;
  }
}

/** The undici dispatcher for these settings: a proxy agent that goes direct for NO_PROXY hosts. */
export function createDispatcher(settings: NetworkSettings, env: Record<string, string | undefined> = process.env): Dispatcher {
  const tlsOptions: tls.ConnectionOptions = {
    rejectUnauthorized: settings.strictSSL !== false,
    ...(settings.extraCaCerts ? { ca: [...tls.rootCertificates, settings.extraCaCerts] } : {}),
  };
  const noProxy = [env.no_proxy ?? env.NO_PROXY ?? '', ...(settings.noProxy ?? [])].filter(Boolean).join(',');
  // The setting wins over the environment; an empty string means "no proxy" to undici (undefined would make it read
  // process.env itself, and `env` is what the caller says the environment is).
  const proxy = settings.proxy?.trim() || undefined;
  const httpProxy = proxy ?? env.http_proxy ?? env.HTTP_PROXY ?? '';
  return new EnvHttpProxyAgent({
    httpProxy,
    httpsProxy: proxy ?? env.https_proxy ?? env.HTTPS_PROXY ?? httpProxy,
    noProxy,
    connect: { ...tlsOptions, timeout: (settings.connectSeconds ?? 15) * 1000 },
    requestTls: tlsOptions,
    proxyTls: tlsOptions,
  });
}

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
