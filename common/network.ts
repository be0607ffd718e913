// How Phi Local reaches the network, the same in both processes: the model download (extension/model/download/) and
// the remote engine (sidecar/remote/). Through the proxy the user has (VS Code's http.proxy, else HTTPS_PROXY /
// HTTP_PROXY, with NO_PROXY and http.noProxy), trusting NODE_EXTRA_CA_CERTS besides Node's roots, and checking
// certificates unless http.proxyStrictSSL is off.
//
// undici (the Node.js project's own HTTP client, the one inside Node's fetch) was picked because its EnvHttpProxyAgent
// sends https through an HTTP CONNECT proxy and honours NO_PROXY — the fix other local-model extensions adopted for
// "the download ignores my proxy" (reference/anchors.md §10) — and it is the dispatcher Node's own fetch takes.
import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { EnvHttpProxyAgent, type Dispatcher } from 'undici';

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

/**
 * The settings as environment variables, for the sidecar the extension starts (it has no VS Code settings of its own):
 * PHI_LOCAL_HTTP_PROXY, PHI_LOCAL_NO_PROXY (comma-separated), PHI_LOCAL_STRICT_SSL=0. NODE_EXTRA_CA_CERTS is inherited.
 */
export function networkEnv(settings: NetworkSettings): Record<string, string> {
  return {
    ...(settings.proxy?.trim() ? { PHI_LOCAL_HTTP_PROXY: settings.proxy.trim() } : {}),
    ...(settings.noProxy?.length ? { PHI_LOCAL_NO_PROXY: settings.noProxy.join(',') } : {}),
    ...(settings.strictSSL === false ? { PHI_LOCAL_STRICT_SSL: '0' } : {}),
  };
}

/** The settings `networkEnv` wrote, read back in the sidecar, with the extra CA certificates. */
export function networkSettingsFromEnv(env: Record<string, string | undefined> = process.env): NetworkSettings {
  return {
    proxy: env.PHI_LOCAL_HTTP_PROXY || undefined,
    noProxy: env.PHI_LOCAL_NO_PROXY ? env.PHI_LOCAL_NO_PROXY.split(',').filter(Boolean) : undefined,
    strictSSL: env.PHI_LOCAL_STRICT_SSL !== '0',
    extraCaCerts: readExtraCaCerts(env).pem,
  };
}
