// Errors of the model download. Each has a stable code (tests and the command's buttons use it) and a message that
// says what happened and what the user can do. No vscode here: the downloader is unit-tested under node's runner.

export type DownloadErrorCode =
  | 'offline'      // the hub could not be reached at all (no network, DNS, refused, timed out)
  | 'not-found'    // HTTP 404: no such repository, revision or file at this endpoint
  | 'http'         // another HTTP status the download cannot go on from
  | 'proxy'        // the proxy refused us (407) or could not be used
  | 'tls'          // the certificate was not trusted (a TLS-inspecting proxy without its CA)
  | 'bad-response' // the answer was not what the hub sends (a captive portal or a login page, say)
  | 'checksum'     // a file did not match its published size or checksum, twice
  | 'truncated'    // answers for a file keep ending early and it cannot be resumed (a proxy capping downloads, say)
  | 'disk-space'   // not enough free space, found before the first byte
  | 'target'       // the destination folder exists and is not a finished download
  | 'busy'         // another window is downloading into the same folder (it holds the lock)
  | 'cancelled';

export class DownloadError extends Error {
  constructor(
    readonly code: DownloadErrorCode,
    message: string,
    /** Worth retrying after a pause (a dropped connection, a 5xx), as opposed to a refusal. */
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

export function isAbort(e: unknown): boolean {
  const name = (e as Error)?.name;
  return name === 'AbortError' || (e as { code?: string })?.code === 'ABORT_ERR';
}

export function cancelled(): DownloadError {
  return new DownloadError('cancelled', 'The download was cancelled. Run "Phi: Download Model" again to resume it where it stopped.');
}
