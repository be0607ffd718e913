// A lock file (../lockFile.ts) that processes on one machine (VS Code windows: one extension host each) take in turn, for writes that
// must not interleave. Taken by creating the file with 'wx' (only one creator wins); others wait and try again.
// A lock whose process is gone (same host), or older than STALE_MS (a holder on another host that died), is taken
// over: holds are short (an append, or rewriting one conversation), so a live holder never gets that old. A lock that
// is gone when looked at was released: the waiter tries to take it again, and never removes it, since another window
// may have taken it meanwhile. (Two waiters taking over the same dead holder's lock at the same instant could both get
// it: not worth a cleverer scheme.)
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import { readLock } from '../lockFile';

export const STALE_MS = 30_000;
const RETRY_MS = 15;

/** Who has the lock `file` now: nobody (the file is gone), a live holder, or a dead or too old one. */
async function lockState(file: string): Promise<'free' | 'held' | 'stale'> {
  return (await readLock(file, STALE_MS)).state;
}

/** Whether someone holds the lock `file` now (false when it is missing or stale). */
export async function lockHeld(file: string): Promise<boolean> {
  return (await lockState(file)) === 'held';
}

/** Runs `fn` holding the lock `file`, waiting for it as long as another live process holds it. */
export async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const me = JSON.stringify({ pid: process.pid, host: os.hostname() });
  for (;;) {
    try {
      await fs.writeFile(file, me, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const state = await lockState(file);
    if (state === 'held') await new Promise((r) => setTimeout(r, RETRY_MS));
    else if (state === 'stale') await fs.rm(file, { force: true }); // its holder is gone
    // 'free': released since our try; removing the file now could remove the lock another window just took.
  }
  try {
    return await fn();
  } finally {
    await fs.rm(file, { force: true });
  }
}
