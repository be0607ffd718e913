// Lock files that processes on one machine (VS Code windows: one extension host each) take in turn: created with 'wx'
// (only one creator wins), holding {pid, host, …} as JSON. Who has one now: nobody (the file is gone), a live holder,
// or a stale one — its process is gone (same host), or it is older than the caller's limit (a holder on another host
// that died). Used by the conversation journal's lock (chat/fileLock.ts) and the download's (model/download/downloadLock.ts).
import * as fs from 'node:fs/promises';
import * as os from 'node:os';

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // there, but someone else's
  }
}

export type LockState<T> = { state: 'free' } | { state: 'stale' } | { state: 'held'; holder: Partial<T> & { pid?: unknown; host?: unknown } };

/** The lock `file` as it is now; `staleMs`: age past which a lock counts as its holder's leftover. */
export async function readLock<T extends object>(file: string, staleMs: number): Promise<LockState<T>> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, { mtimeMs }] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'free' };
    throw e;
  }
  if (Date.now() - mtimeMs > staleMs) return { state: 'stale' };
  let holder: Partial<T> & { pid?: unknown; host?: unknown } = {};
  try {
    holder = JSON.parse(text) as typeof holder;
  } catch {
    return { state: 'held', holder }; // just created, not yet filled: a live holder
  }
  const dead = holder.host === os.hostname() && typeof holder.pid === 'number' && !processAlive(holder.pid);
  return dead ? { state: 'stale' } : { state: 'held', holder };
}
