// One file of the download: fetched into `<dest>.part`, hashed while it is written, and renamed to `<dest>` only
// once its size and checksum match what the hub published. A file already under its real name is hashed again
// before it is reused (a staging folder can outlive the plan it was made for).
// - Resume: a `.part` left by a cancel, a crash or a dropped connection is re-hashed (the checksum covers the whole
//   file) and the rest is asked for with an HTTP Range request; a server that ignores Range starts it over.
// - Dropped, stalled or cut-short answers are retried with exponential backoff. An attempt counts as progress only
//   when it gets past the furthest byte any attempt reached (bytes fetched again after a start-over are not progress),
//   and progress resets the count of tries, so a flaky network slows the download down but does not end it.
// - Starting over from byte 0 (the server ignores Range, or cannot give the rest) is allowed MAX_RESTARTS times per
//   file. A proxy that cuts every answer short and ignores Range would otherwise fetch the same first bytes forever.
// - A checksum mismatch discards the part and fetches the file once more; a second mismatch is an error.
// So one file costs at most (MAX_RESTARTS + 2) × its size in bytes written: a first pass, MAX_RESTARTS starts over,
// one fetch again after a checksum mismatch; within a pass each byte is written once (a resume asks for the rest).
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
  /** Attempts in a row without progress (past the furthest byte reached) before giving up. Default 6. */
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

/**
 * Times one file may start over from byte 0 because the server could not give the rest (it ignored the Range
 * request, answered 416, or sent another range). The hub's file host resumes, so this only happens behind a server
 * or proxy that does not; there each cut costs the whole file again. Three fresh starts ride out an occasional cut;
 * more means the file is being fetched over and over (the 2.5 GB weights 4 times is already 10 GB).
 */
export const MAX_RESTARTS = 3;

/** What to do when something on the way keeps cutting a file short (modelDownload adds how to copy it in by hand). */
const CUT_SHORT_HELP = 'A proxy or firewall that limits the size of downloads is the usual cause: download on another network, ' +
  'or point "phiLocal.download.endpoint" at a mirror that supports resuming (HTTP Range requests).';

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
  let restarts = 0;
  /** The furthest byte this file has reached on disk: only an attempt that gets past it is progress. */
  let furthest = -1;

  /** Discards the part to fetch the file from byte 0, or gives up once it has done so MAX_RESTARTS times. */
  const startOver = async (why: string, body?: { dump(): Promise<void> }): Promise<void> => {
    if (restarts >= MAX_RESTARTS) {
      await body?.dump().catch(() => undefined);
      throw new DownloadError('truncated', `${job.name}: the download cannot get past byte ${furthest} of ${job.size}: ` +
        `answers end early, and ${why}, so every try starts the file over. Gave up after ${MAX_RESTARTS} fresh starts ` +
        `(${fetchedBytes} bytes fetched for this file). ${CUT_SHORT_HELP}`);
    }
    restarts++;
    log?.(`${job.name}: ${why}; starting the file over (${restarts} of at most ${MAX_RESTARTS} times).`);
    await fsp.rm(part, { force: true });
  };

  /** After an attempt that ended before the end of the file (`dropped`: by an error, else the body just stopped). */
  const endedShort = async (have: number, dropped?: DownloadError): Promise<void> => {
    failedAttempts = have > furthest ? 1 : failedAttempts + 1;
    furthest = Math.max(furthest, have);
    if (failedAttempts >= maxAttempts) {
      const where = `${maxAttempts} tries in a row got no further than byte ${furthest} of ${job.size}`;
      if (dropped) throw new DownloadError(dropped.code, `${dropped.message} Gave up on ${job.name}: ${where}. Run "Phi: Download Model" again to resume.`);
      throw new DownloadError('truncated', `${job.name}: the server, or a proxy on the way, keeps ending the file early: ${where}. ${CUT_SHORT_HELP}`);
    }
    const wait = backoff(failedAttempts);
    log?.(`${job.name}: ${dropped ? dropped.message : `the answer ended at byte ${have} of ${job.size}.`} ` +
      `Retrying in ${Math.round(wait / 100) / 10} s (try ${failedAttempts + 1} of ${maxAttempts} without progress), from byte ${Math.max(sizeOf(part), 0)}.`);
    await sleep(wait, signal);
  };

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
    if (furthest < 0) furthest = have;
    onProgress?.(have);

    if (have < job.size) {
      let out: fsp.FileHandle | undefined;
      try {
        const res = await http.get(job.url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, signal });
        let start = 0;
        if (res.status === 206) {
          start = Number(/bytes\s+(\d+)-/.exec(String(res.headers['content-range'] ?? ''))?.[1] ?? -1);
          if (start !== have) {
            await startOver(`the server sent another part of the file (from byte ${start}) than the rest asked for (from byte ${have})`, res.body);
            await res.body.dump().catch(() => undefined);
            throw new DownloadError('bad-response', `${job.name}: the server sent the wrong range (from byte ${start}, asked ${have}).`, true);
          }
        } else if (res.status === 416 && have > 0) {
          // It has no bytes after ours: what we have may be complete but wrong. Start over.
          await startOver(`the server has nothing after byte ${have} (HTTP 416)`, res.body);
          await res.body.dump().catch(() => undefined);
          continue;
        } else if (res.status !== 200) {
          const text = await res.body.text().catch(() => '');
          throw statusError(res.status, res.url, text);
        }
        if (start === 0 && have > 0) {
          await startOver(`the server answered the request for the rest (from byte ${have}) with the file from byte 0: it, or a proxy, ignores Range requests`, res.body);
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
        await endedShort(Math.max(sizeOf(part), 0), error);
        continue;
      } finally {
        await out?.close().catch(() => undefined);
      }
      if (have < job.size) {
        // The body ended early without an error: a truncated answer. Resume from what arrived.
        await endedShort(have);
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
