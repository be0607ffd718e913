// One file of the download: fetched into `<dest>.part`, hashed while it is written, and renamed to `<dest>` only
// once its size and checksum match what the hub published. A file already under its real name is hashed again
// before it is reused (a staging folder can outlive the plan it was made for).
// - Resume: a `.part` left by a cancel, a crash or a dropped connection is re-hashed (the checksum covers the whole
//   file) and the rest is asked for with an HTTP Range request; a server that ignores Range starts it over.
// - Dropped or stalled connections are retried with exponential backoff; an attempt that made progress resets the
//   count, so a flaky network slows the download down but does not end it.
// - A checksum mismatch discards the part and fetches the file once more; a second mismatch is an error.
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { cancelled, DownloadError, isAbort } from './downloadError';
import type { Checksum } from './hubClient';
import { networkError, statusError, type HttpClient } from './httpClient';

export interface FileJob {
  url: string;
  dest: string;
  size: number;
  checksum: Checksum;
  /** For messages: the file's name in the repository. */
  name: string;
}

export interface FileDownloadOptions {
  signal?: AbortSignal;
  /** Bytes of this file on disk so far (it can go back to 0 when a part is discarded). */
  onProgress?: (bytesOnDisk: number) => void;
  /** Attempts without progress before a dropped connection is an error. Default 6. */
  maxAttempts?: number;
  /** Pause before retry `attempt` (1, 2, ...). Default 1 s, 2 s, 4 s, ... up to 30 s. */
  backoffMs?: (attempt: number) => number;
  log?: (message: string) => void;
}

export interface FileDownloadResult {
  /** Bytes received over the network for this file. */
  fetchedBytes: number;
  /** Bytes that were already on disk (a finished file or a part) and were not fetched again. */
  reusedBytes: number;
}

export const PART_SUFFIX = '.part';

function newHasher(checksum: Checksum, size: number): Hash {
  if (checksum.algorithm === 'sha256') return createHash('sha256');
  // A git blob id: sha1 over the header "blob <size>\0", then the content.
  return createHash('sha1').update(`blob ${size}\0`);
}

async function hashInto(file: string, hasher: Hash, signal?: AbortSignal): Promise<void> {
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20, signal })) hasher.update(chunk as Buffer);
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return -1;
  }
}

async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (e) {
    if (isAbort(e) || signal?.aborted) throw cancelled();
    throw e;
  }
}

const defaultBackoff = (attempt: number) => Math.min(30_000, 1000 * 2 ** (attempt - 1));

export async function downloadFile(http: HttpClient, job: FileJob, options: FileDownloadOptions = {}): Promise<FileDownloadResult> {
  const { signal, onProgress, log } = options;
  const maxAttempts = options.maxAttempts ?? 6;
  const backoff = options.backoffMs ?? defaultBackoff;
  const part = job.dest + PART_SUFFIX;
  // A file under its real name was verified when written, but it may be from another commit's plan (same name and
  // size, other content) or changed since: it is hashed again before it is reused, never trusted by its size.
  if (sizeOf(job.dest) === job.size) {
    const hasher = newHasher(job.checksum, job.size);
    try {
      await hashInto(job.dest, hasher, signal);
    } catch (e) {
      if (isAbort(e) || signal?.aborted) throw cancelled();
      throw e;
    }
    if (hasher.digest('hex') === job.checksum.hex) {
      onProgress?.(job.size);
      return { fetchedBytes: 0, reusedBytes: job.size };
    }
    log?.(`${job.name}: the file already in the staging folder does not match the published ${job.checksum.algorithm} (it may be from another version); fetching it again.`);
    await fsp.rm(job.dest, { force: true });
  }
  let fetchedBytes = 0;
  let reusedBytes = -1;
  let failedAttempts = 0;
  let checksumFailures = 0;
  for (;;) {
    if (signal?.aborted) throw cancelled();
    let have = sizeOf(part);
    if (have > job.size) {
      log?.(`${job.name}: the partial file is larger than the file (${have} > ${job.size} bytes); starting it over.`);
      await fsp.rm(part, { force: true });
      have = -1;
    }
    have = Math.max(have, 0);
    let hasher = newHasher(job.checksum, job.size);
    if (have > 0) {
      try {
        await hashInto(part, hasher, signal);
      } catch (e) {
        if (isAbort(e) || signal?.aborted) throw cancelled();
        throw e;
      }
    }
    if (reusedBytes < 0) reusedBytes = have;
    onProgress?.(have);

    if (have < job.size) {
      let gained = 0;
      let out: fsp.FileHandle | undefined;
      try {
        const res = await http.get(job.url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, signal });
        let start = 0;
        if (res.status === 206) {
          start = Number(/bytes\s+(\d+)-/.exec(String(res.headers['content-range'] ?? ''))?.[1] ?? -1);
          if (start !== have) {
            await res.body.dump().catch(() => undefined);
            await fsp.rm(part, { force: true });
            throw new DownloadError('bad-response', `${job.name}: the server sent the wrong range (from byte ${start}, asked ${have}).`, true);
          }
        } else if (res.status === 416 && have > 0) {
          // It has no bytes after ours: what we have may be complete but wrong. Start over.
          await res.body.dump().catch(() => undefined);
          await fsp.rm(part, { force: true });
          continue;
        } else if (res.status !== 200) {
          const text = await res.body.text().catch(() => '');
          throw statusError(res.status, res.url, text);
        }
        if (start === 0 && have > 0) {
          log?.(`${job.name}: the server does not resume (it sent the whole file); starting it over.`);
          hasher = newHasher(job.checksum, job.size);
          have = 0;
          reusedBytes = 0;
          onProgress?.(0);
        }
        out = await fsp.open(part, have > 0 ? 'a' : 'w');
        for await (const chunk of res.body) {
          const buf = chunk as Buffer;
          if (have + buf.length > job.size) throw new DownloadError('checksum', `${job.name}: the server sent more than the published ${job.size} bytes.`);
          hasher.update(buf);
          await out.write(buf);
          have += buf.length;
          gained += buf.length;
          fetchedBytes += buf.length;
          onProgress?.(have);
        }
        await out.sync();
      } catch (e) {
        await out?.close().catch(() => undefined);
        out = undefined;
        if (isAbort(e) || signal?.aborted || (e instanceof DownloadError && e.code === 'cancelled')) throw cancelled();
        const error = networkError(e, job.url);
        if (error.code === 'checksum') {
          await fsp.rm(part, { force: true });
          if (++checksumFailures >= 2) throw error;
          continue;
        }
        if (!error.retryable) throw error;
        failedAttempts = gained > 0 ? 1 : failedAttempts + 1;
        if (failedAttempts >= maxAttempts) {
          throw new DownloadError(error.code, `${error.message} Gave up on ${job.name} after ${maxAttempts} tries; run "Phi: Download Model" again to resume.`, true);
        }
        const wait = backoff(failedAttempts);
        log?.(`${job.name}: ${error.message} Retrying in ${Math.round(wait / 100) / 10} s (try ${failedAttempts + 1} of ${maxAttempts}), from byte ${sizeOf(part) < 0 ? 0 : sizeOf(part)}.`);
        await sleep(wait, signal);
        continue;
      } finally {
        await out?.close().catch(() => undefined);
      }
      if (have < job.size) {
        // The body ended early without an error: a truncated answer. Resume from what arrived.
        failedAttempts = gained > 0 ? 1 : failedAttempts + 1;
        if (failedAttempts >= maxAttempts) throw new DownloadError('offline', `${job.name}: the server keeps ending the file early (at byte ${have} of ${job.size}).`, true);
        log?.(`${job.name}: the answer ended at byte ${have} of ${job.size}; resuming.`);
        await sleep(backoff(failedAttempts), signal);
        continue;
      }
    }

    const digest = hasher.digest('hex');
    if (digest === job.checksum.hex) {
      await fsp.rename(part, job.dest);
      return { fetchedBytes, reusedBytes };
    }
    await fsp.rm(part, { force: true });
    if (++checksumFailures >= 2) {
      throw new DownloadError('checksum', `${job.name} does not match its published ${job.checksum.algorithm} twice in a row ` +
        `(expected ${job.checksum.hex}, got ${digest}). The mirror or a proxy may be altering it; check "phiLocal.download.endpoint".`);
    }
    log?.(`${job.name}: the ${job.checksum.algorithm} does not match the published one (expected ${job.checksum.hex}, got ${digest}); fetching it again.`);
  }
}
