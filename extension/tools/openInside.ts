// Reading a workspace file the model named, safe against the file changing under the read. resolveWorkspacePath
// checks the path, but a symbolic link on it can be swapped between that check and the read (a model that retries can
// win that race). So the file is opened once, what was opened is checked, and the bytes come from that descriptor:
// - its real path, taken from the open descriptor itself on Linux (/proc/self/fd), must be inside the workspace, and
//   the file there now must be the very file opened (same device and inode). Where /proc is missing (macOS, Windows)
//   the path is resolved again instead: a swapped final link is still caught by the inode check; only a real folder
//   on the path swapped for a link and back between two calls a few microseconds apart would slip through.
// - a regular file with more than one hard link is refused: another name of the same file may lie outside the
//   workspace, and nothing short of scanning the whole disk can say where the other names are. The user can open it
//   in the editor instead (fileText.ts reads open documents from the editor).
// - pipes, sockets and devices are refused (opened non-blocking, so a pipe cannot hang the tool).
// No vscode import: the unit tests run it on real files, links and races.
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { isInside, PathError, type ResolvedPath } from './workspacePaths';

/** Where the file open as `fd` really is (links followed); undefined when that cannot be told from the descriptor. */
async function descriptorPath(fd: number): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  // A deleted file reads as "… (deleted)" and fails here; the caller's inode check then refuses it.
  return fs.realpath(`/proc/self/fd/${fd}`).catch(() => undefined);
}

/**
 * The bytes of the file `resolved` names, read from one open descriptor that was checked to be inside the
 * workspace; at most `maxBytes`. Throws a PathError, with a message for the model, for anything else.
 */
export async function readFileInside(resolved: ResolvedPath, maxBytes: number): Promise<Buffer> {
  const name = resolved.display;
  let handle: fs.FileHandle;
  try {
    // O_NONBLOCK: opening a named pipe would otherwise wait for a writer. Windows has no such flag (and no pipes here).
    handle = await fs.open(resolved.absolute, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new PathError(`${name} does not exist. Use find_files or list_directory to find the right path.`);
    if (code === 'EISDIR') throw new PathError(`${name} is a folder, not a file. Use list_directory to see what is in it.`);
    if (code === 'ELOOP') throw new PathError('The path goes through a loop of symbolic links; it cannot be used.');
    throw e;
  }
  try {
    const opened = await handle.stat({ bigint: true });
    const rootReal = await fs.realpath(resolved.root.fsPath);
    const where = (await descriptorPath(handle.fd)) ?? (await fs.realpath(resolved.absolute).catch(() => undefined));
    const there = where === undefined ? undefined : await fs.stat(where, { bigint: true }).catch(() => undefined);
    if (where === undefined || !isInside(rootReal, where) || there?.dev !== opened.dev || there.ino !== opened.ino) {
      throw new PathError(`${name} changed while it was being opened (a symbolic link on its path now leads elsewhere, or the file was replaced), so nothing was read.`);
    }
    if (opened.isDirectory()) throw new PathError(`${name} is a folder, not a file. Use list_directory to see what is in it.`);
    if (!opened.isFile()) throw new PathError(`${name} is not a regular file (a pipe, socket or device); it cannot be read.`);
    if (opened.nlink > 1n) {
      throw new PathError(`${name} has ${opened.nlink} hard links: the same file may also be somewhere outside the workspace, so it is not read from disk. If the user opens it in the editor, its text can be read.`);
    }
    const tooLarge = (size: number | bigint) =>
      new PathError(`${name} is too large to read (${Math.round(Number(size) / 1024)} KB; the limit is ${Math.round(maxBytes / 1024)} KB). Use search_text to find the part you need.`);
    if (opened.size > BigInt(maxBytes)) throw tooLarge(opened.size);
    // Read until the end, not just fstat's size: a file that grew meanwhile is caught one byte past the limit.
    let buffer = Buffer.alloc(Number(opened.size) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) buffer = Buffer.concat([buffer], Math.min(buffer.length * 2, maxBytes + 1));
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw tooLarge(length);
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}
