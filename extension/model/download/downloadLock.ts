// One download per model folder at a time. Two VS Code windows can both run "Phi: Download Model" for the same model,
// and two writers appending to one `.part` corrupt it. The first takes a lock file beside the staging folder (beside,
// not in it: the staging folder is renamed to the model folder at the end, and the lock is held across that rename),
// created with 'wx' so that only one can; the others are told that another window is downloading.
// A lock is stale, and taken over, when its process is gone (same host), or when it has not been refreshed for
// STALE_MS (its holder touches it while it runs, so a window that crashed on another host or container frees it too).
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { readLock } from '../../lockFile';
import { DownloadError } from './downloadError';

const REFRESH_MS = 30_000;
export const STALE_MS = 2 * 60_000;

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

export interface DownloadLock {
  readonly file: string;
  release(): Promise<void>;
}

export function lockFileFor(staging: string): string {
  return `${staging}.lock`;
}

/** Who holds the lock, or undefined when it is stale (or already gone). */
async function holder(file: string): Promise<Partial<LockInfo> | undefined> {
  const lock = await readLock<LockInfo>(file, STALE_MS);
  return lock.state === 'held' ? lock.holder : undefined;
}

/** Takes the lock for downloading into `staging`, or throws a DownloadError('busy') that says who holds it. */
export async function lockDownload(staging: string): Promise<DownloadLock> {
  const file = lockFileFor(staging);
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const info: LockInfo = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      await fsp.writeFile(file, JSON.stringify(info) + '\n', { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const other = await holder(file);
    if (other || attempt >= 2) {
      const who = other?.pid ? ` (process ${other.pid}${other.host && other.host !== os.hostname() ? ` on ${other.host}` : ''}${other.startedAt ? `, since ${other.startedAt}` : ''})` : '';
      throw new DownloadError('busy', `Another VS Code window is already downloading this model into ${staging}${who}. ` +
        'Wait for it to finish (then pick the model in "Phi: Manage Models"), or close that window and run "Phi: Download Model" again.');
    }
    await fsp.rm(file, { force: true }); // stale: its holder is gone
  }
  const refresh = setInterval(() => {
    const now = new Date();
    void fsp.utimes(file, now, now).catch(() => undefined);
  }, REFRESH_MS);
  refresh.unref();
  let released = false;
  return {
    file,
    async release() {
      if (released) return;
      released = true;
      clearInterval(refresh);
      await fsp.rm(file, { force: true });
    },
  };
}
